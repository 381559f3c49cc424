from __future__ import annotations

import numpy as np
import pytest

from lab.backends.base import Synthesizer
from lab.backends.piper import PiperSynthesizer
from lab.errors import InvalidTextError, UnknownModelError


@pytest.fixture(scope="module")
def piper() -> PiperSynthesizer:
    return PiperSynthesizer()


@pytest.fixture(scope="module")
def two_sentences(piper):
    return piper.synthesize(
        "The birch canoe slid on the smooth planks. Glue the sheet to the dark blue background."
    )


def test_is_a_synthesizer_without_mel_or_attention(piper):
    assert isinstance(piper, Synthesizer)
    assert piper.sample_rate == 22_050
    assert not piper.has_attention and not piper.has_mel and not piper.untrained
    assert piper.voices() == ("joe",)


def test_speech_is_audible_22khz_float32(two_sentences):
    audio = two_sentences.audio
    assert audio.sample_rate == 22_050
    assert audio.samples.dtype == np.float32
    # two short sentences: a few seconds of speech, loud but not clipped
    assert 2.0 < audio.duration_s < 10.0
    assert not audio.is_silent and not audio.is_clipped
    assert 0.5 < audio.peak <= 0.91
    assert two_sentences.model == "piper" and two_sentences.voice == "joe"
    assert two_sentences.mel is None and not two_sentences.has_attention
    assert two_sentences.untrained is False
    assert two_sentences.elapsed_s > 0


def test_one_sentence_entry_per_sentence_tiling_the_audio(two_sentences):
    sentences = two_sentences.sentences
    assert [s.text for s in sentences] == [
        "The birch canoe slid on the smooth planks.",
        "Glue the sheet to the dark blue background.",
    ]
    assert sentences[0].start_s == 0.0
    assert sentences[0].end_s == pytest.approx(sentences[1].start_s)
    assert sentences[1].end_s == pytest.approx(two_sentences.audio.duration_s)
    for s in sentences:
        assert s.end_s - s.start_s > 0.8  # each sentence is spoken, not skipped
        assert len(s.tokens) > 10  # the phonemes Piper read
        assert s.cross_attention is None and s.stop_probs is None


def test_longer_text_gives_longer_audio(piper):
    short = piper.synthesize("Hello.")
    long = piper.synthesize("Hello. This sentence is a good deal longer than the first one.")
    assert long.audio.duration_s > short.audio.duration_s + 1.0


@pytest.mark.parametrize("text", ["", "   ", "?!…"])
def test_unspeakable_text_is_refused(piper, text):
    with pytest.raises(InvalidTextError):
        piper.synthesize(text)


def test_unknown_voice_names_the_voice_it_has(piper):
    with pytest.raises(UnknownModelError, match="joe"):
        piper.synthesize("Hello.", voice="slt")
    assert piper.synthesize("Hello.", voice="joe").voice == "joe"


def test_voice_loads_once(piper):
    piper.synthesize("One.")
    first = piper._loaded_voice()
    piper.synthesize("Two.")
    assert piper._loaded_voice() is first


def test_same_text_gives_the_same_audio_every_time():
    synth = PiperSynthesizer()
    first = synth.synthesize("The birch canoe slid on the smooth planks.").audio.samples
    synth.synthesize("Something else in between.")
    again = synth.synthesize("The birch canoe slid on the smooth planks.").audio.samples
    np.testing.assert_array_equal(first, again)
