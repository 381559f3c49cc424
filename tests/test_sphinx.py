from __future__ import annotations

import math

import numpy as np
import pytest

from lab.audio import Audio
from lab.backends.base import Recognizer
from lab.backends.piper import PiperSynthesizer
from lab.backends.sphinx import PocketSphinxRecognizer
from lab.text import normalize_for_scoring

SENTENCES = [
    "Speech recognition is getting better every year.",
    "The birch canoe slid on the smooth planks.",
    "It is easy to tell the depth of a well.",
]


@pytest.fixture(scope="module")
def sphinx() -> PocketSphinxRecognizer:
    return PocketSphinxRecognizer()


@pytest.fixture(scope="module")
def spoken() -> list:
    piper = PiperSynthesizer()
    return [piper.synthesize(s) for s in SENTENCES]


def test_is_a_recognizer_without_emissions(sphinx):
    assert isinstance(sphinx, Recognizer)
    assert sphinx.sample_rate == 16_000
    assert not sphinx.has_emissions and not sphinx.has_attention and not sphinx.untrained


def test_piper_speech_comes_back_as_words(sphinx, spoken):
    found = total = 0
    for synthesis in spoken:
        recognition = sphinx.recognize(synthesis.audio)
        assert recognition.model == "pocketsphinx"
        assert recognition.emissions is None and recognition.untrained is False
        reference = normalize_for_scoring(synthesis.text).split()
        hypothesis = recognition.text.split()
        found += sum(word in hypothesis for word in reference)
        total += len(reference)
    # a classic recogniser on clean synthetic speech gets most words
    assert found / total >= 0.7
    first = sphinx.recognize(spoken[0].audio)
    assert first.text == "speech recognition is getting better every year"


def test_word_segments_lie_inside_the_audio_in_order(sphinx, spoken):
    synthesis = spoken[1]
    recognition = sphinx.recognize(synthesis.audio)
    words = recognition.words
    assert [w.text for w in words] == recognition.text.split()
    assert len(words) >= 5
    duration = synthesis.audio.duration_s
    for w in words:
        assert 0.0 <= w.start_s < w.end_s <= duration
        assert math.isnan(w.score) or 0.0 <= w.score <= 1.0
    starts = [w.start_s for w in words]
    assert starts == sorted(starts)
    # the words fill most of the clip, not a corner of it
    assert words[-1].end_s - words[0].start_s > 0.6 * duration


def test_no_silence_markers_or_alternate_pronunciations(sphinx, spoken):
    for synthesis in spoken:
        for w in sphinx.recognize(synthesis.audio).words:
            assert not w.text.startswith(("<", "[", "+"))
            assert "(" not in w.text


def test_silence_gives_an_empty_transcript(sphinx):
    recognition = sphinx.recognize(Audio(np.zeros(16_000, dtype=np.float32), 16_000))
    assert recognition.text == "" and recognition.words == ()


def test_any_sample_rate_is_resampled(sphinx, spoken):
    audio = spoken[0].audio.resample(44_100)
    recognition = sphinx.recognize(audio)
    assert "recognition" in recognition.text.split()
    assert recognition.words[-1].end_s <= audio.duration_s
