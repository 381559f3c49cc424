from __future__ import annotations

import re

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
    assert _plain(sphinx.transcript.value) == direct.recognition.text
    assert is_visible(sphinx.diff)
    assert f"WER</td><td><b>{direct.scores.wer:.1%}" in sphinx.diff.scores.value
    shown = [c.hypothesis.description for c in sphinx.diff.words.children]
    expected = [h if h is not None else "—" for _, _, h in direct.scores.word_errors()]
    assert shown == expected

    # emissions only where the recogniser has them
    assert not is_visible(sphinx.emissions)
    assert is_visible(tiny_col.emissions)
    heat = tiny_col.emissions.levels
    assert heat is not None and heat.shape[1] == tiny_col.recognition.emissions.shape[0]
    assert "untrained" in tiny_col.title.value and "untrained" not in sphinx.title.value
    assert re.match(r"recognised in \d+\.\d\d s", sphinx.timing.value)
    assert is_visible(view.player) and view.player.duration_s == pytest.approx(
        direct.synthesis.audio.duration_s
    )
    assert not view.compare_button.disabled


def test_clicking_a_recognised_word_plays_it_in_the_shared_player(view):
    view.compare_button.click()
    column = view.columns["pocketsphinx"]
    assert column.diff.player is view.player
    playable = [i for i, t in enumerate(column.diff.position_times) if t is not None]
    assert playable, "PocketSphinx gives word times"
    index = playable[0]
    column.diff.words.children[index].hypothesis.click()
    start, end = column.diff.position_times[index]
    assert view.player.last_request == {"type": "play_range", "start_s": start, "end_s": end}


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
    assert column.result_scores is None and not is_visible(column.diff)
    assert column.transcript.value != ""

    view.reference.value = "Rice is often served in round bowls."
    view.compare_button.click()
    assert column.result_scores is not None
    assert column.result_scores.reference == "rice is often served in round bowls"
    assert is_visible(column.diff)


def test_lab_errors_are_one_sentence(view, tmp_path):
    view.text.value = "   "
    view.compare_button.click()
    assert view.status.kind == "error"
    assert view.status.message == "The text is empty: type a sentence to synthesise."
    assert not view.compare_button.disabled and not view.audio_input.disabled
