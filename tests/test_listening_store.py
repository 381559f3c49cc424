from __future__ import annotations

import csv
import io
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

from lab.audio import Audio
from lab.errors import LabError
from lab.listening import Clip, ListeningError, ListeningStore


def _tone(freq: float, seconds: float = 0.2, rate: int = 16000) -> Audio:
    t = np.arange(int(seconds * rate)) / rate
    return Audio((0.3 * np.sin(2 * np.pi * freq * t)).astype(np.float32), rate)


SENTENCES = [
    "the birch canoe slid on the smooth planks",
    "glue the sheet to the dark blue background",
    "it is easy to tell the depth of a well",
    "these days a chicken leg is a rare dish",
    "rice is often served in round bowls",
    "the juice of lemons makes fine punch",
]


def _clips(n: int = 6) -> list[Clip]:
    return [
        Clip(f"clip{i}", _tone(200 + 50 * i), SENTENCES[i % len(SENTENCES)], "A" if i % 2 else "B")
        for i in range(n)
    ]


@pytest.fixture
def store(tmp_path):
    s = ListeningStore(tmp_path / "ratings.sqlite")
    s.add_clips(_clips())
    yield s
    s.close()


def test_clips_round_trip_and_first_version_wins(store):
    assert store.clip_ids() == tuple(f"clip{i}" for i in range(6))
    clip = store.clip("clip2")
    assert clip.reference == SENTENCES[2]
    assert clip.audio.sample_rate == 16000
    assert abs(clip.audio.duration_s - 0.2) < 1e-3
    # re-adding the same id with other audio keeps what raters already heard
    assert store.add_clips([Clip("clip2", _tone(999, 1.0), "other words", "C")]) == 0
    assert store.clip("clip2").audio.duration_s == pytest.approx(0.2, abs=1e-3)


def test_session_order_is_seeded_shuffle_of_all_clips(store):
    a = store.start_session("ann", seed=7)
    b = store.start_session("bob", seed=7)
    c = store.start_session("cat", seed=8)
    assert sorted(a.clip_ids) == sorted(store.clip_ids())
    assert a.clip_ids == b.clip_ids
    assert a.clip_ids != c.clip_ids
    assert a.clip_ids != store.clip_ids()  # actually shuffled (seed 7 moves clips)
    assert store.session(a.session_id) == a


def test_rating_scores_typed_text_and_advances(store):
    session = store.start_session("ann", seed=1)
    first = store.next_clip_id(session.session_id)
    assert first == session.clip_ids[0]
    reference = store.clip(first).reference
    words = reference.split()
    typed = " ".join(words[:-1])  # one deletion
    rating = store.rate(session.session_id, first, 4, typed)
    assert rating.wer == pytest.approx(1 / len(words))
    assert rating.cer is not None and rating.cer > 0
    assert store.next_clip_id(session.session_id) == session.clip_ids[1]
    assert store.progress(session.session_id) == (1, 6)
    perfect = store.rate(
        session.session_id,
        session.clip_ids[1],
        5,
        store.clip(session.clip_ids[1]).reference.upper() + "!",
    )
    assert perfect.wer == 0.0


@pytest.mark.parametrize("bad", [0, 6, 3.5, "4", True])
def test_naturalness_outside_scale_is_refused(store, bad):
    session = store.start_session("ann", seed=1)
    with pytest.raises(ListeningError, match="1 to 5"):
        store.rate(session.session_id, session.clip_ids[0], bad)
    assert store.ratings() == []


def test_empty_rating_unknown_clip_and_no_rater_are_lab_errors(store):
    session = store.start_session("ann", seed=1)
    with pytest.raises(LabError, match="naturalness score or type"):
        store.rate(session.session_id, session.clip_ids[0], None, "   ")
    with pytest.raises(LabError, match="not part of session"):
        store.rate(session.session_id, "nope", 3)
    with pytest.raises(LabError, match="rater name"):
        store.start_session("  ")
    with pytest.raises(LabError, match="No listening session"):
        store.session(999)


def test_rerating_keeps_history_and_latest_counts(store):
    session = store.start_session("ann", seed=1)
    clip = session.clip_ids[0]
    store.rate(session.session_id, clip, 2)
    store.rate(session.session_id, clip, 5)
    assert [r.naturalness for r in store.ratings()] == [5]
    assert [r.naturalness for r in store.ratings(latest_only=False)] == [2, 5]
    assert store.progress(session.session_id) == (1, 6)


def test_summary_and_csv_export(store):
    s1 = store.start_session("ann", seed=1)
    s2 = store.start_session("=cmd()", seed=2)
    for session, score_a, score_b in ((s1, 4, 2), (s2, 5, 1)):
        for clip_id in session.clip_ids:
            system = store.clip(clip_id).system
            store.rate(session.session_id, clip_id, score_a if system == "A" else score_b)
    summary = {s.system: s for s in store.summary()}
    assert summary["A"].mos == pytest.approx(4.5)
    assert summary["B"].mos == pytest.approx(1.5)
    assert summary["A"].ratings == 6
    assert summary["A"].mos_ci95 is not None and summary["A"].mos_ci95 > 0
    assert summary["A"].wer is None

    rows = list(csv.DictReader(io.StringIO(store.to_csv())))
    assert len(rows) == 12
    assert {r["rater"] for r in rows} == {"ann", "'=cmd()"}  # no formula injection
    assert sorted(
        int(r["position"]) for r in rows if r["session_id"] == str(s1.session_id)
    ) == list(range(6))
    only_s1 = list(csv.DictReader(io.StringIO(store.to_csv(s1.session_id))))
    assert len(only_s1) == 6


def test_reopened_store_resumes_session(tmp_path):
    path = tmp_path / "r.sqlite"
    with ListeningStore(path) as store:
        store.add_clips(_clips())
        session = store.start_session("ann", seed=3)
        store.rate(session.session_id, session.clip_ids[0], 3)
        store.rate(session.session_id, session.clip_ids[1], 4)
    with ListeningStore(path) as again:
        assert again.next_clip_id(session.session_id) == session.clip_ids[2]
        assert len(again.ratings()) == 2


_RATER_SCRIPT = textwrap.dedent(
    """
    import sys, time
    from lab.listening import ListeningStore
    path, rater, pause = sys.argv[1], sys.argv[2], float(sys.argv[3])
    store = ListeningStore(path)
    session = store.start_session(rater, seed=int(sys.argv[4]))
    print("session", session.session_id, flush=True)
    for i, clip_id in enumerate(session.clip_ids):
        store.rate(session.session_id, clip_id, 1 + i % 5, "the birch canoe")
        print("rated", i + 1, flush=True)
        time.sleep(pause)
    print("done", flush=True)
    """
)


def _spawn_rater(path, rater: str, pause: float, seed: int) -> subprocess.Popen:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([os.getcwd(), env.get("PYTHONPATH", "")])
    return subprocess.Popen(
        [sys.executable, "-c", _RATER_SCRIPT, str(path), rater, str(pause), str(seed)],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )


def test_ratings_committed_before_sigkill_survive(tmp_path):
    path = tmp_path / "crash.sqlite"
    with ListeningStore(path) as store:
        store.add_clips(
            _clips(6) + [Clip(f"x{i}", _tone(700 + i), SENTENCES[0], "C") for i in range(20)]
        )
    proc = _spawn_rater(path, "victim", 0.05, 11)
    session_id = None
    confirmed = 0
    deadline = time.monotonic() + 60
    assert proc.stdout is not None
    while time.monotonic() < deadline:
        line = proc.stdout.readline().split()
        if line[:1] == ["session"]:
            session_id = int(line[1])
        elif line[:1] == ["rated"]:
            confirmed = int(line[1])
            if confirmed >= 4:
                break
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    assert proc.returncode == -signal.SIGKILL
    assert confirmed >= 4

    raw = sqlite3.connect(path)
    assert raw.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    raw.close()
    with ListeningStore(path) as store:
        kept = store.ratings(session_id)
        # every rating reported as saved is there; at most the one in flight is missing or extra
        assert confirmed <= len(kept) <= confirmed + 1
        assert len(kept) < 26
        session = store.session(session_id)
        assert [r.clip_id for r in kept] == list(session.clip_ids[: len(kept)])
        assert store.next_clip_id(session_id) == session.clip_ids[len(kept)]


def test_two_processes_rating_at_once_both_keep_their_rows(tmp_path):
    path = tmp_path / "two.sqlite"
    with ListeningStore(path) as store:
        store.add_clips(
            [Clip(f"c{i}", _tone(300 + i, 0.05), SENTENCES[i % 6], "S") for i in range(25)]
        )
    procs = [_spawn_rater(path, name, 0.0, seed) for name, seed in (("ann", 1), ("bob", 2))]
    outputs = [p.communicate(timeout=120)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs
    with ListeningStore(path) as store:
        rows = store.ratings()
        assert len(rows) == 50
        assert sorted({r.rater for r in rows}) == ["ann", "bob"]
        for session in store.sessions():
            assert store.progress(session.session_id) == (25, 25)
