from __future__ import annotations

import base64
import csv
import io
import re
import time

import numpy as np
import pytest

from lab.errors import LabError
from lab.metrics import corpus_scores
from widgets._common import is_visible
from widgets.robustness_sweep import RobustnessSweep, parse_snrs

SENTENCES = (
    "The birch canoe slid on the smooth planks.",
    "Glue the sheet to the dark blue background.",
)


def _csv(view: RobustnessSweep) -> list[dict[str, str]]:
    payload = re.search(r"base64,([A-Za-z0-9+/=]+)", view.download.value).group(1)
    return list(csv.DictReader(io.StringIO(base64.b64decode(payload).decode())))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("clean, 20, 10, 0", [None, 20.0, 10.0, 0.0]),
        ("20dB; 5 dB, -5", [20.0, 5.0, -5.0]),
        ("10, 10, clean, none", [10.0, None]),
    ],
)
def test_parse_snrs(text, expected):
    assert parse_snrs(text) == expected


@pytest.mark.parametrize("text", ["loud", "", "inf dB x", "nan"])
def test_parse_snrs_refuses_with_one_sentence(text):
    with pytest.raises(LabError):
        parse_snrs(text)


def test_sweep_fills_plot_as_rows_arrive_and_offers_csv(tiny):
    view = RobustnessSweep(
        ["pocketsphinx", str(tiny.wav2vec2)],
        synthesizer="piper",
        sentences=SENTENCES,
        snrs="clean, 10, 0",
        workers=1,
    )
    view.recognizers.value = ("pocketsphinx", str(tiny.wav2vec2))
    drawn_points: list[int] = []
    view.progress.observe(
        lambda change: drawn_points.append(
            sum(int(np.isfinite(np.asarray(t.y, dtype=float)).sum()) for t in view.figure.data)
        ),
        names="value",
    )
    view.run_button.click()
    assert view.status.kind == "ok", view.status.message
    assert view.progress.value == view.progress.max == 12
    assert view.progress_label.value.startswith("12 of 12 jobs")
    # the plot filled in while the sweep ran, not at the end only
    assert drawn_points[1] >= 1 and drawn_points[1] < 6
    assert drawn_points == sorted(drawn_points) and drawn_points[-1] == 6

    assert [t.name for t in view.figure.data] == ["pocketsphinx", "wav2vec2"]
    assert list(view.figure.layout.xaxis.ticktext) == ["0 dB", "10 dB", "clean"]
    rows = _csv(view)
    assert len(rows) == 12
    # each point is the corpus WER of that recogniser's rows at that SNR, as exported
    for trace, name in zip(view.figure.data, ["pocketsphinx", str(tiny.wav2vec2)], strict=True):
        for y, snr in zip(trace.y, ["0.0", "10.0", ""], strict=True):
            group = [r for r in rows if r["recognizer"] == name and r["snr_db"] == snr]
            assert len(group) == 2
            expected = corpus_scores([r["text"] for r in group], [r["hypothesis"] for r in group])
            assert y == pytest.approx(expected["wer"])
    assert "untrained" in view.badge.value  # the tiny wav2vec2 took part
    # the random tiny model gets nearly everything wrong; PocketSphinx hears clean Piper speech
    clean_sphinx, clean_tiny = view.figure.data[0].y[-1], view.figure.data[1].y[-1]
    assert clean_sphinx < clean_tiny

    before = list(view.figure.data[0].y)
    view.metric.value = "CER"
    assert view.figure.layout.yaxis.title.text == "corpus CER"
    assert list(view.figure.data[0].y) != before
    assert not view.run_button.disabled


def test_bad_input_is_one_sentence_and_nothing_runs():
    view = RobustnessSweep(["pocketsphinx"], synthesizer="piper", workers=1)
    view.snrs.value = "10, loud"
    view.run_button.click()
    assert view.status.kind == "error"
    assert view.status.message.startswith("'loud' is not an SNR")
    assert not is_visible(view.progress)
    assert view.download.value == ""

    view.snrs.value = "10"
    view.sentences.value = "\n  \n"
    view.run_button.click()
    assert view.status.message == "Type at least one sentence, one per line."

    view.sentences.value = "Hello there."
    view.recognizers.value = ()
    view.run_button.click()
    assert view.status.message == "Choose at least one recogniser."
    assert not view.run_button.disabled and not view.snrs.disabled


def test_unknown_recognizer_error_keeps_partial_rows(tmp_path):
    view = RobustnessSweep(
        ["pocketsphinx", str(tmp_path / "missing-model")],
        synthesizer="piper",
        sentences=("Hello there.",),
        snrs="clean",
        workers=1,
    )
    view.recognizers.value = ("pocketsphinx", str(tmp_path / "missing-model"))
    view.run_button.click()
    assert view.status.kind == "error"
    assert "missing-model" in view.status.message
    # the row that finished before the failure is still offered
    assert len(view.rows) == 1 and len(_csv(view)) == 1


def test_background_sweep_can_be_stopped_and_keeps_its_rows():
    sentences = (
        "The birch canoe slid on the smooth planks.",
        "Glue the sheet to the dark blue background.",
        "It is easy to tell the depth of a well.",
        "These days a chicken leg is a rare dish.",
    )
    view = RobustnessSweep(
        ["pocketsphinx"],
        synthesizer="piper",
        sentences=sentences,
        snrs="clean, 10, 0",
        workers=1,
        background=True,
    )
    assert not is_visible(view.stop_button)
    view.stop_button.click()  # nothing running: nothing happens
    assert view.status.kind == "info" and not view._stop.is_set()

    view.run_button.click()
    thread = view.thread
    assert thread is not None and thread.is_alive()  # the click returned while the sweep runs
    view.run_button.click()  # a second click during the run starts nothing
    assert view.thread is thread

    deadline = time.monotonic() + 120
    while not view.rows and thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert view.rows and is_visible(view.stop_button)
    view.stop_button.click()
    thread.join(timeout=120)
    assert not thread.is_alive()

    total = len(sentences) * 3
    assert 1 <= len(view.rows) < total
    assert view.status.kind == "info"
    assert view.status.message.startswith(f"Stopped: {len(view.rows)} of {total} jobs")
    assert view.progress.value == len(view.rows)
    assert len(_csv(view)) == len(view.rows)  # what arrived is offered
    assert not is_visible(view.stop_button) and not view.run_button.disabled

    # the next run is not stopped by the earlier click
    view.sentences.value = sentences[0]
    view.snrs.value = "clean"
    view.run_button.click()
    view.thread.join(timeout=120)
    assert view.status.kind == "ok" and len(view.rows) == 1


def test_a_finished_sweep_lists_each_recognizers_snr_at_50_percent_wer():
    from lab.robustness import snr50

    view = RobustnessSweep(["pocketsphinx"], synthesizer="piper", sentences=SENTENCES,
                           snrs="40, 10", workers=1)  # fmt: skip
    assert "babble" in view.noise.options
    view.noise.value = "babble"
    view.run_button.click()
    assert view.status.kind == "ok", view.status.message
    (expected,) = snr50(view.rows, resamples=500)
    assert "in babble noise" in view.snr50.value and "pocketsphinx" in view.snr50.value
    if expected.snr_db is None:
        assert expected.note in view.snr50.value
    else:
        assert f"{expected.snr_db:.1f} dB" in view.snr50.value
    view.snrs.value = "clean"
    view.run_button.click()
    assert view.snr50.value == ""  # one SNR: no curve to cross
