from __future__ import annotations

import re

import numpy as np
import pytest

import lab
from widgets._common import is_visible
from widgets.recognizer_comparison import OWN_AUDIO, RecognizerComparison

TEXT = "The birch canoe slid on the smooth planks."


def _plain(html_text: str) -> str:
    return re.sub(r"<[^>]+>", "", html_text)


@pytest.fixture
def view(tiny):
    return RecognizerComparison(
        ["pocketsphinx", str(tiny.wav2vec2)], synthesizer="piper", text=TEXT, microphone=False
    )


def test_synthesised_sentence_through_two_recognisers(view, tiny):
    view.compare_button.click()
    assert view.status.kind == "ok", view.status.message
    assert [c.name for c in view.grid.children] == ["pocketsphinx", str(tiny.wav2vec2)]
    sphinx, tiny_col = view.columns["pocketsphinx"], view.columns[str(tiny.wav2vec2)]

    # the same clip through the lab directly gives the same words and scores
    direct = lab.roundtrip(TEXT, "piper", "pocketsphinx")
    assert sphinx.recognition.text == direct.recognition.text
    assert sphinx.result_scores.wer == pytest.approx(direct.scores.wer)
    assert f"WER {direct.scores.wer:.1%}" in sphinx.scores.value
    hypothesis_words = direct.scores.hypothesis_words
    shown = _plain(sphinx.transcript.value)
    for word in hypothesis_words:
        assert word in shown

    # emissions only where the recogniser has them
    assert not is_visible(sphinx.emissions)
    assert is_visible(tiny_col.emissions)
    heat = np.asarray(tiny_col.emissions.heatmap.z)
    assert heat.shape[1] == tiny_col.recognition.emissions.shape[0]
    assert "untrained" in tiny_col.title.value and "untrained" not in sphinx.title.value
    assert re.match(r"recognised in \d+\.\d\d s", sphinx.timing.value)
    assert is_visible(view.player) and view.player.duration_s == pytest.approx(
        direct.synthesis.audio.duration_s
    )
    assert not view.compare_button.disabled


def test_diff_marks_errors_by_kind(view):
    view.compare_button.click()
    scores = view.columns["pocketsphinx"].result_scores
    html_text = view.columns["pocketsphinx"].transcript.value
    kinds = [k for k, _, _ in scores.word_errors()]
    assert html_text.count("<s>") == kinds.count("delete")
    assert html_text.count("<u>") == kinds.count("insert")
    assert html_text.count("<sub>") == kinds.count("substitute")


def test_columns_are_reused_when_recognisers_stay_selected(view, tiny):
    view.compare_button.click()
    first = view.columns["pocketsphinx"]
    figure = view.columns[str(tiny.wav2vec2)].emissions.figure
    view.text.value = "Glue the sheet to the dark blue background."
    view.compare_button.click()
    assert view.columns["pocketsphinx"] is first
    assert view.columns[str(tiny.wav2vec2)].emissions.figure is figure
    view.recognizers.value = ("pocketsphinx",)
    view.compare_button.click()
    assert list(view.columns) == ["pocketsphinx"] and len(view.grid.children) == 1


def test_uploaded_clip_with_and_without_reference(view):
    view.source.value = OWN_AUDIO
    assert is_visible(view.audio_input) and not is_visible(view.text)
    view.compare_button.click()
    assert view.status.kind == "error"
    assert view.status.message == "Upload a file or record a clip first."

    clip = lab.synthesize("Rice is often served in round bowls.", "piper").audio
    view.audio_input.set_audio(clip)
    view.recognizers.value = ("pocketsphinx",)
    view.compare_button.click()
    assert view.status.kind == "ok"
    assert "Type the reference text" in view.status.message
    column = view.columns["pocketsphinx"]
    assert column.result_scores is None and column.scores.value == ""

    view.reference.value = "Rice is often served in round bowls."
    view.compare_button.click()
    assert column.result_scores is not None
    assert column.result_scores.reference == "rice is often served in round bowls"


def test_lab_errors_are_one_sentence(view, tmp_path):
    view.text.value = "   "
    view.compare_button.click()
    assert view.status.kind == "error"
    assert view.status.message == "The text is empty: type a sentence to synthesise."
    assert not view.compare_button.disabled and not view.audio_input.disabled
