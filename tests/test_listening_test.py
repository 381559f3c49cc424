from __future__ import annotations

import base64
import csv
import io
import re

import numpy as np
import pytest

from lab.audio import Audio
from lab.listening import Clip, ListeningStore
from widgets.listening_test import ListeningTest

REFERENCES = {
    "a1": "the birch canoe slid on the smooth planks",
    "a2": "glue the sheet to the dark blue background",
    "b1": "it is easy to tell the depth of a well",
}


def _clips() -> list[Clip]:
    out = []
    for i, (clip_id, text) in enumerate(REFERENCES.items()):
        t = np.arange(3200) / 16000
        audio = Audio((0.2 * np.sin(2 * np.pi * (300 + 100 * i) * t)).astype(np.float32), 16000)
        out.append(Clip(clip_id, audio, text, clip_id[0].upper()))
    return out


def _csv_from_link(html: str) -> list[dict[str, str]]:
    payload = re.search(r"base64,([A-Za-z0-9+/=]+)", html).group(1)
    return list(csv.DictReader(io.StringIO(base64.b64decode(payload).decode())))


def _rate_current(view: ListeningTest, score: int, typed: str | None = None) -> str:
    clip_id = view.current_clip_id
    view.naturalness.value = score
    view.heard.value = typed if typed is not None else REFERENCES[clip_id]
    view.save_button.click()
    return clip_id


def test_full_session_stores_every_answer_and_offers_csv(tmp_path):
    view = ListeningTest(tmp_path / "r.sqlite", _clips(), seed=5)
    assert view.rating_panel.layout.display == "none"
    view.rater.value = "ann"
    view.start_button.click()
    assert view.rating_panel.layout.display is None
    assert view.progress_label.value == "Clip 1 of 3"
    # the clip plays the stored audio and the reference is nowhere on screen
    first = view.current_clip_id
    assert Audio.load(view.player.value).duration_s == pytest.approx(0.2, abs=1e-3)
    assert REFERENCES[first] not in view.status.value + view.progress_label.value

    first_words = REFERENCES[first].split()
    typed = " ".join(first_words[:-2])  # two words missed
    order = [_rate_current(view, 4, typed), _rate_current(view, 2), _rate_current(view, 5)]
    assert sorted(order) == sorted(REFERENCES)
    assert view.progress.value == 3 and view.progress_label.value.startswith("All 3 clips rated")
    assert view.rating_panel.layout.display == "none"

    rows = _csv_from_link(view.results.value)
    assert [r["clip_id"] for r in rows] == order
    assert [r["naturalness"] for r in rows] == ["4", "2", "5"]
    assert rows[0]["heard_text"] == typed
    assert float(rows[0]["wer"]) == pytest.approx(2 / len(first_words), abs=1e-4)
    by_clip = {r["clip_id"]: r for r in rows}
    for clip_id in order[1:]:
        assert float(by_clip[clip_id]["wer"]) == 0.0
    assert "MOS (t-based 95 %)" in view.results.value
    assert "trapping clip" in view.results.value and "Left out" not in view.results.value


def test_missing_answers_are_refused_without_saving(tmp_path):
    store = ListeningStore(tmp_path / "r.sqlite")
    view = ListeningTest(store, _clips(), seed=1)
    view.start("bob")
    view.heard.value = "something"
    view.save_button.click()
    assert "naturalness score" in view.status.value
    view.naturalness.value = 3
    view.heard.value = "   "
    view.save_button.click()
    assert "Type what you heard" in view.status.value
    assert store.ratings() == []
    assert view.progress_label.value == "Clip 1 of 3"


def test_no_rater_name_is_one_sentence(tmp_path):
    view = ListeningTest(tmp_path / "r.sqlite", _clips())
    view.start_button.click()
    assert "rater name" in view.status.value
    assert view.session is None


def test_reopened_widget_resumes_where_the_rater_stopped(tmp_path):
    path = tmp_path / "r.sqlite"
    view = ListeningTest(path, _clips(), seed=9)
    view.start("cat")
    rated = _rate_current(view, 3)
    session_id = view.session.session_id
    view.store.close()
    del view

    again = ListeningTest(path)  # a fresh kernel: clips already in the file
    labels = [label for label, value in again.resume.options if value == session_id]
    assert labels == [f"#{session_id} cat (1/3)"]
    again.resume.value = session_id
    again.resume_button.click()
    assert again.progress_label.value == "Clip 2 of 3"
    assert again.current_clip_id != rated
    assert len(again.store.ratings(session_id)) == 1


def test_naturalness_only_test_and_hidden_results(tmp_path):
    view = ListeningTest(
        tmp_path / "r.sqlite", _clips(), seed=2, ask_transcript=False, show_results=False
    )
    assert view.heard not in _descendants(view)
    view.start("dan")
    for _ in range(3):
        view.naturalness.value = 4
        view.save_button.click()
    assert all(r.heard_text is None and r.wer is None for r in view.store.ratings())
    assert view.results.value == ""


def _descendants(widget):
    out = [widget]
    for child in getattr(widget, "children", ()):
        out.extend(_descendants(child))
    return out


def test_results_name_the_raters_the_trapping_clip_left_out(tmp_path):
    store = ListeningStore(tmp_path / "r.sqlite")
    trap_audio = Audio(np.zeros(1600, np.float32), 16_000)
    store.add_clips(
        [*_clips(), Clip("trap", trap_audio, "please rate this two", "trap", "trap", 2)]
    )
    for rater, answer in (("ann", 2), ("bob", 5)):
        session = store.start_session(rater, seed=1)
        for clip_id in session.clip_ids:
            store.rate(session.session_id, clip_id, answer if clip_id == "trap" else 4)
    view = ListeningTest(store)
    assert "Left out: bob." in view.results.value
    assert "trap" not in view.results.value.split("</table>")[0]  # not a system in the table
