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


# --- statistics, scales, screening, MUSHRA, A/B, migration ------------------------------------------
import math  # noqa: E402
import random  # noqa: E402
import statistics  # noqa: E402

from lab.listening import (  # noqa: E402
    MUSHRA_REFERENCE,
    SCREENING_RULES,
    MushraRating,
    Preference,
    ab_order,
    bradley_terry,
    bradley_terry_fit,
    mushra_screening,
    mushra_stimuli,
    mushra_summary,
    rater_z_scores,
    t_interval,
)

# Student's t, two-sided 95 %, from the printed table (e.g. NIST/SEMATECH e-Handbook, 1.3.6.7.2)
T_TABLE_975 = {1: 12.706, 4: 2.776, 9: 2.262, 29: 2.045}


@pytest.mark.parametrize("df", sorted(T_TABLE_975))
def test_t_interval_matches_the_printed_t_table(df):
    values = [float(v) for v in np.random.default_rng(df).integers(1, 6, df + 1)]
    values[0] = 1.0 if values[1] != 1.0 else 5.0  # some spread
    expected = T_TABLE_975[df] * statistics.stdev(values) / math.sqrt(df + 1)
    got = t_interval(values)
    assert got.mean == pytest.approx(statistics.mean(values))
    assert got.half_width == pytest.approx(expected, rel=2e-4)
    assert got.low < got.mean < got.high


def test_t_interval_with_too_few_values_has_no_width():
    assert t_interval([]).mean is None
    assert t_interval([4.0]).half_width is None


def test_summary_mos_interval_is_t_based(store):
    session = store.start_session("ann", seed=1)
    scores = {}
    for k, clip_id in enumerate(session.clip_ids):
        scores[clip_id] = 1 + k % 5
        store.rate(session.session_id, clip_id, scores[clip_id])
    a = [scores[c] for c in session.clip_ids if store.clip(c).system == "A"]
    (summary,) = [s for s in store.summary() if s.system == "A"]
    assert summary.mos_ci95 == pytest.approx(
        T_TABLE_975.get(len(a) - 1, 4.303) * statistics.stdev(a) / math.sqrt(len(a)), rel=2e-4
    )


def test_per_rater_z_scores_remove_a_harsh_raters_offset(store):
    harsh, lenient = store.start_session("harsh", seed=1), store.start_session("lenient", seed=2)
    for session, good, bad in ((harsh, 3, 1), (lenient, 5, 3)):
        for clip_id in session.clip_ids:
            store.rate(
                session.session_id, clip_id, good if store.clip(clip_id).system == "A" else bad
            )
    ratings = store.ratings()
    z = rater_z_scores(ratings)
    by = {(r.rater, r.clip_id): v for r, v in zip(ratings, z, strict=True)}
    for clip_id in harsh.clip_ids:
        assert by[("harsh", clip_id)] == pytest.approx(by[("lenient", clip_id)])
    summary = {s.system: s for s in store.summary()}
    assert summary["A"].mos == pytest.approx(4.0) and summary["B"].mos == pytest.approx(2.0)
    assert summary["A"].z_mean > 0 > summary["B"].z_mean
    assert summary["A"].z_ci95 == pytest.approx(0.0, abs=1e-9)  # both raters agree once scaled


def test_intelligibility_and_fluency_are_stored_summarised_and_exported(store):
    session = store.start_session("ann", seed=1)
    for clip_id in session.clip_ids:
        store.rate(session.session_id, clip_id, None, intelligibility=5, fluency=3)
    summary = store.summary()[0]
    assert summary.intelligibility == 5 and summary.fluency == 3 and summary.mos is None
    rows = list(csv.DictReader(io.StringIO(store.to_csv())))
    assert rows[0]["intelligibility"] == "5" and rows[0]["fluency"] == "3"
    with pytest.raises(ListeningError, match="Fluency"):
        store.rate(session.session_id, session.clip_ids[0], 3, fluency=6)


def test_raters_failing_gold_or_trapping_clips_are_left_out(tmp_path):
    with ListeningStore(tmp_path / "s.sqlite") as store:
        store.add_clips(_clips(4))
        store.add_clips([
            Clip("gold", _tone(900), "a clean recording", "gold", role="gold", expected=5),
            Clip("trap", _tone(950), "please select two", "trap", role="trap", expected=2),
        ])  # fmt: skip
        answers = {
            "careful": {"gold": 4, "trap": 2},  # gold within one point, trap as asked
            "sloppy": {"gold": 2, "trap": 2},
            "asleep": {"gold": 5, "trap": 4},
        }
        for rater, given in answers.items():
            session = store.start_session(rater, seed=0)
            for clip_id in session.clip_ids:
                score = given.get(clip_id, 5 if rater == "careful" else 1)
                store.rate(session.session_id, clip_id, score)
        failed = store.screen_raters()
        assert set(failed) == {"sloppy", "asleep"}
        assert "gold clip gold: gave 2" in failed["sloppy"][0]
        assert "trapping clip trap: gave 4" in failed["asleep"][0]
        screened = {s.system: s for s in store.summary()}
        assert set(screened) == {"A", "B"}  # gold and trap clips are not systems
        assert screened["A"].mos == 5 and screened["A"].ratings == 2
        assert {s.system: s.mos for s in store.summary(screen=False)}["A"] == pytest.approx(7 / 3)
    assert "trapping" in SCREENING_RULES and "15 %" in SCREENING_RULES


def test_a_gold_clip_needs_its_known_answer(store):
    with pytest.raises(ListeningError, match="expected score"):
        store.add_clips([Clip("g", _tone(300), "words", "x", role="gold")])


OLD_SCHEMA = """
CREATE TABLE clips (clip_id TEXT PRIMARY KEY, system TEXT NOT NULL, reference TEXT NOT NULL,
    wav BLOB NOT NULL, added_at REAL NOT NULL);
CREATE TABLE sessions (session_id INTEGER PRIMARY KEY AUTOINCREMENT, rater TEXT NOT NULL,
    seed INTEGER NOT NULL, started_at REAL NOT NULL);
CREATE TABLE session_clips (session_id INTEGER NOT NULL REFERENCES sessions(session_id),
    position INTEGER NOT NULL, clip_id TEXT NOT NULL REFERENCES clips(clip_id),
    PRIMARY KEY (session_id, position));
CREATE TABLE ratings (rating_id INTEGER PRIMARY KEY AUTOINCREMENT,
    session_id INTEGER NOT NULL REFERENCES sessions(session_id),
    clip_id TEXT NOT NULL REFERENCES clips(clip_id),
    naturalness INTEGER CHECK (naturalness IS NULL OR naturalness BETWEEN 1 AND 5),
    heard_text TEXT, wer REAL, cer REAL, rated_at REAL NOT NULL);
CREATE INDEX ratings_by_session ON ratings (session_id, clip_id);
"""


def test_a_database_of_the_first_schema_is_migrated_with_every_row_kept(tmp_path):
    path = tmp_path / "old.sqlite"
    conn = sqlite3.connect(path)
    conn.executescript(OLD_SCHEMA)
    wav = _tone(300).to_wav_bytes()
    conn.execute("INSERT INTO clips VALUES ('c1', 'A', 'the cat sat', ?, 1.0)", (wav,))
    conn.execute("INSERT INTO clips VALUES ('c2', 'B', 'the dog ran', ?, 2.0)", (wav,))
    conn.execute("INSERT INTO sessions VALUES (1, 'ann', 7, 3.0)")
    conn.executemany("INSERT INTO session_clips VALUES (1, ?, ?)", [(0, "c2"), (1, "c1")])
    conn.execute("INSERT INTO ratings VALUES (1, 1, 'c2', 4, 'the dog ran', 0.0, 0.0, 4.0)")
    conn.commit()
    conn.close()

    with ListeningStore(path) as store:
        (old,) = store.ratings()
        assert (old.rater, old.clip_id, old.naturalness, old.heard_text) == (
            "ann", "c2", 4, "the dog ran",
        )  # fmt: skip
        assert old.fluency is None and store.clip("c1").role == "test"
        assert store.next_clip_id(1) == "c1"
        store.rate(1, "c1", 3, fluency=4)
        store.rate_mushra("ann", "t1", {MUSHRA_REFERENCE: 100})
        store.prefer("ann", "s1", "A", "B", "tie")
    with ListeningStore(path) as store:  # opening again migrates nothing twice
        assert [r.naturalness for r in store.ratings()] == [4, 3]
        assert len(store.mushra_ratings()) == 1 and len(store.preferences()) == 1
    check = sqlite3.connect(path)
    assert check.execute("PRAGMA user_version").fetchone()[0] == 2
    assert check.execute("SELECT COUNT(*) FROM clips").fetchone()[0] == 2
    check.close()


def test_mushra_anchors_are_low_passed_and_the_hidden_reference_is_the_reference():
    rate = 32_000
    noise = Audio(np.random.default_rng(0).standard_normal(rate) * 0.1, rate)
    stimuli = mushra_stimuli(noise, {"system": noise})
    assert stimuli[MUSHRA_REFERENCE] is noise

    def share_above_db(audio: Audio, hz: float) -> float:
        power = np.abs(np.fft.rfft(audio.samples.astype(np.float64))) ** 2
        freqs = np.fft.rfftfreq(audio.samples.size, 1 / rate)
        return float(10 * np.log10(power[freqs > hz].sum() / power.sum()))

    assert share_above_db(stimuli["anchor 3.5 kHz"], 4_500) < -50
    assert share_above_db(stimuli["anchor 7 kHz"], 9_000) < -50
    assert share_above_db(stimuli["anchor 7 kHz"], 3_500) > -6  # keeps the band below 7 kHz
    with pytest.raises(ListeningError, match="kept for"):
        mushra_stimuli(noise, {MUSHRA_REFERENCE: noise})


def test_mushra_post_screening_drops_raters_who_miss_the_hidden_reference_too_often(tmp_path):
    ratings = []
    for rater, misses in (("keen", 1), ("deaf", 2)):  # of 10 trials: 10 % and 20 %
        for trial in range(10):
            ref = 70.0 if trial < misses else 100.0
            ratings += [
                MushraRating(rater, f"t{trial}", MUSHRA_REFERENCE, ref),
                MushraRating(rater, f"t{trial}", "system", 60.0 if rater == "keen" else 20.0),
            ]
    assert mushra_screening(ratings) == {"deaf": pytest.approx(0.2)}
    summary = mushra_summary(ratings)
    assert summary["system"].mean == 60.0 and summary["system"].n == 10
    assert mushra_summary(ratings, screen=False)["system"].mean == 40.0
    with ListeningStore(tmp_path / "m.sqlite") as store:
        store.rate_mushra("keen", "t0", {"system": 55, MUSHRA_REFERENCE: 98})
        store.rate_mushra("keen", "t0", {"system": 65})  # moved a slider again: latest counts
        assert {(r.condition, r.score) for r in store.mushra_ratings()} == {
            ("system", 65.0), (MUSHRA_REFERENCE, 98.0),
        }  # fmt: skip
        with pytest.raises(ListeningError, match="0 to 100"):
            store.rate_mushra("keen", "t1", {"system": 101})


def test_ab_order_plays_either_system_first():
    rng = random.Random(0)
    firsts = [ab_order("A", "B", rng)[0] for _ in range(400)]
    assert 160 < firsts.count("A") < 240


def _simulated_preferences(strengths: dict[str, float], n: int, seed: int) -> list[Preference]:
    rng = np.random.default_rng(seed)
    systems = sorted(strengths)
    out = []
    for k in range(n):
        i, j = rng.choice(len(systems), 2, replace=False)
        a, b = systems[i], systems[j]
        p_a = strengths[a] / (strengths[a] + strengths[b])
        u = rng.random()
        choice = "tie" if abs(u - p_a) < 0.05 else ("first" if u < p_a else "second")
        out.append(Preference(f"r{k % 7}", f"s{k}", a, b, choice))
    return out


def test_bradley_terry_equals_a_direct_maximum_likelihood_fit():
    optimize = pytest.importorskip("scipy.optimize")
    prefs = _simulated_preferences({"A": 4.0, "B": 2.0, "C": 1.0, "D": 0.5}, 300, seed=1)
    score = {"first": 1.0, "second": 0.0, "tie": 0.5}
    comparisons = [(p.first, p.second, score[p.choice]) for p in prefs]
    systems = ["A", "B", "C", "D"]

    def negative_log_likelihood(beta: np.ndarray) -> float:
        b = dict(zip(systems, beta, strict=True))
        return -sum(
            x * (b[i] - np.logaddexp(b[i], b[j])) + (1 - x) * (b[j] - np.logaddexp(b[i], b[j]))
            for i, j, x in comparisons
        )

    direct = optimize.minimize(negative_log_likelihood, np.zeros(4), method="BFGS").x
    direct -= direct.mean()
    ours = bradley_terry_fit(comparisons)
    for system, value in zip(systems, direct, strict=True):
        assert ours[system] == pytest.approx(value, abs=1e-4)


def test_bradley_terry_ranks_systems_and_its_intervals_cover_the_truth():
    truth = {"A": 4.0, "B": 2.0, "C": 1.0, "D": 0.5}
    ranking = bradley_terry(_simulated_preferences(truth, 400, seed=2), resamples=200)
    assert [r.system for r in ranking] == ["A", "B", "C", "D"]
    centre = np.mean(np.log(list(truth.values())))
    for r in ranking:
        assert r.ci_low < math.log(truth[r.system]) - centre < r.ci_high
        assert r.wins + r.ties + r.losses > 0
    assert ranking[0].ci_low > ranking[-1].ci_high  # best and worst clearly apart


def test_preferences_are_stored_and_checked(store):
    store.prefer("ann", "s1", "A", "B", "first")
    store.prefer("bob", "s1", "B", "A", "tie")
    assert [p.choice for p in store.preferences()] == ["first", "tie"]
    with pytest.raises(ListeningError, match="'first', 'second' or 'tie'"):
        store.prefer("ann", "s2", "A", "B", "A")
    ranking = bradley_terry(store.preferences(), resamples=20)
    assert ranking[0].system == "A" and ranking[0].wins == 1 and ranking[0].ties == 1
