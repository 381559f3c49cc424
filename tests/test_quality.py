from __future__ import annotations

import json
import math

import numpy as np
import pytest

from lab import Audio, Scores, add_noise, score, speed_perturb
from lab.errors import ModelUnavailableError
from lab.quality import (
    dnsmos,
    lm_words,
    ngram_perplexity,
    ngram_score,
    quality_card,
    speaker_similarity,
    stoi,
)


@pytest.fixture(scope="module")
def sentences() -> tuple[Audio, Audio]:
    """Two sentences of the bundled Piper voice at 16 kHz."""
    from lab.roundtrip import synthesize

    return (
        synthesize("The birch canoe slid on the smooth planks.", "piper").audio.resample(16_000),
        synthesize("Glue the sheet to the dark blue background.", "piper").audio.resample(16_000),
    )


@pytest.fixture(scope="module")
def speech(sentences) -> Audio:
    return Audio(np.concatenate([s.samples for s in sentences]), 16_000)


# --- STOI / ESTOI -----------------------------------------------------------------------------------
def test_stoi_of_speech_with_itself_is_one(speech):
    assert stoi(speech, speech) == pytest.approx(1.0, abs=1e-6)
    assert stoi(speech, speech, extended=True) == pytest.approx(1.0, abs=1e-6)


def test_stoi_and_estoi_fall_as_noise_rises(speech):
    snrs = [20, 5, -5, -15]
    plain = [stoi(speech, add_noise(speech, snr, seed=1)) for snr in snrs]
    extended = [stoi(speech, add_noise(speech, snr, seed=1), extended=True) for snr in snrs]
    assert plain == sorted(plain, reverse=True) and plain[0] > 0.9 and plain[-1] < 0.6
    assert extended == sorted(extended, reverse=True)
    # ESTOI punishes noise harder than STOI (Jensen & Taal 2016, fig. 5)
    assert all(e < p for e, p in zip(extended[1:], plain[1:], strict=True))


def test_stoi_lines_up_clips_of_other_rates_and_lengths(speech):
    longer = Audio(np.concatenate([speech.samples, np.zeros(500, np.float32)]), 16_000)
    assert stoi(speech, longer.resample(22_050)) > 0.95


# --- DNSMOS ---------------------------------------------------------------------------------------
def test_dnsmos_rates_clean_speech_above_the_same_speech_in_noise(speech):
    clean = dnsmos(speech)
    noisy = dnsmos(add_noise(speech, 0, seed=2))
    for value in (*vars(clean).values(), *vars(noisy).values()):
        assert 1.0 <= value <= 5.0
    # noise is what DNSMOS's background score is built to hear
    assert clean.background > noisy.background + 1.0
    assert clean.overall > noisy.overall + 0.5
    assert clean.p808 > noisy.p808


def test_dnsmos_takes_a_noisy_clip_whose_peak_exceeds_one(speech):
    loud = add_noise(speech.normalized(0.99), -5, seed=3)
    assert loud.peak > 1.0
    assert 1.0 <= dnsmos(loud).overall <= 5.0


def test_dnsmos_equals_speechmos_on_the_same_16khz_samples(speech):
    from speechmos import dnsmos as reference

    expected = reference.run(speech.samples.astype(np.float64), 16_000)
    got = dnsmos(speech)
    assert got.overall == pytest.approx(expected["ovrl_mos"], rel=1e-6)
    assert got.background == pytest.approx(expected["bak_mos"], rel=1e-6)


def test_quality_card_gathers_the_scores(speech):
    noisy = add_noise(speech, 5, seed=4)
    card = quality_card(noisy, speech)
    assert card.dnsmos is not None and card.stoi is not None and card.estoi is not None
    assert 0 < card.estoi < card.stoi < 1
    assert quality_card(speech, with_dnsmos=False).stoi is None


# --- speaker similarity (optional package) -----------------------------------------------------------
def test_speaker_similarity_is_higher_for_the_same_voice_or_says_how_to_get_it(sentences):
    """resemblyzer is optional: where it is installed the similarity separates voices; where it
    is not, the user is told in one sentence which packages to install."""
    import importlib.util

    first, second = sentences
    if importlib.util.find_spec("resemblyzer") is None:
        with pytest.raises(ModelUnavailableError, match="resemblyzer") as caught:
            speaker_similarity(first, second)
        assert "\n" not in str(caught.value)
        return
    same = speaker_similarity(first, second)
    pitched = speaker_similarity(first, speed_perturb(second, 1.3))
    assert same > 0.7
    assert pitched < same - 0.1


# --- n-gram perplexity ------------------------------------------------------------------------------
def test_a_sentence_is_less_perplexing_than_its_words_shuffled():
    sentence = "the weather is going to be very cold in the north of the country"
    words = sentence.split()
    shuffled = " ".join(words[i] for i in np.random.default_rng(0).permutation(len(words)))
    assert ngram_perplexity(sentence) < ngram_perplexity(shuffled) / 5


def test_words_keep_inner_apostrophes_and_numbers_are_spelled():
    assert lm_words("I don't own 3 dogs—well, ‘two’!") == ["i", "don't", "own", "three", "dogs", "well", "two"]  # fmt: skip


def test_out_of_vocabulary_words_are_listed_and_not_counted():
    result = ngram_score("the zqxjv cat")
    assert result.oov == ("zqxjv",)
    assert result.words == ("the", "zqxjv", "cat", "</s>")
    counted = [p for p in result.log10_probs if p is not None]
    assert result.perplexity == pytest.approx(10 ** (-sum(counted) / 3))


TINY_ARPA = """\\data\\
ngram 1=5
ngram 2=4
ngram 3=1

\\1-grams:
-99.0 <s> -0.30
-0.60 </s>
-0.50 the -0.20
-0.70 cat -0.10
-0.90 sat -0.40

\\2-grams:
-0.25 <s> the -0.15
-0.35 the cat -0.05
-0.45 cat sat
-0.20 sat </s>

\\3-grams:
-0.10 <s> the cat

\\end\\
"""


def _backoff_log10(arpa: str, words: list[str]) -> float:
    """Katz back-off read straight off the ARPA text: the test's own implementation."""
    probs: dict[tuple[str, ...], float] = {}
    backoffs: dict[tuple[str, ...], float] = {}
    section = 0
    for line in arpa.splitlines():
        if line.startswith("\\") and "-grams:" in line:
            section = int(line[1])
            continue
        parts = line.split()
        if section and len(parts) >= section + 1:
            key = tuple(parts[1 : section + 1])
            probs[key] = float(parts[0])
            if len(parts) > section + 1:
                backoffs[key] = float(parts[section + 1])

    def log10_p(word: str, history: tuple[str, ...]) -> float:
        if (*history, word) in probs:
            return probs[(*history, word)]
        return backoffs.get(history, 0.0) + log10_p(word, history[1:])

    history = ["<s>"]
    total = 0.0
    for word in [*words, "</s>"]:
        total += log10_p(word, tuple(history[-2:]))
        history.append(word)
    return total


@pytest.mark.parametrize("text", ["the cat sat", "cat the sat", "sat sat the"])
def test_perplexity_matches_katz_backoff_computed_by_hand(tmp_path, text):
    lm = tmp_path / "tiny.arpa"
    lm.write_text(TINY_ARPA)
    expected_log10 = _backoff_log10(TINY_ARPA, text.split())
    result = ngram_score(text, str(lm))
    # pocketsphinx stores log-probabilities as integers in base 1.0001: 4-5 significant digits
    assert result.log10_prob == pytest.approx(expected_log10, abs=2e-3)
    assert result.perplexity == pytest.approx(10 ** (-expected_log10 / 4), rel=2e-3)


def test_a_missing_model_file_is_reported(tmp_path):
    with pytest.raises(ModelUnavailableError, match="No n-gram"):
        ngram_score("the cat", str(tmp_path / "none.lm"))


# --- in the scores ----------------------------------------------------------------------------------
def test_scores_carry_ngram_perplexity_by_default():
    s = score("The birch canoe slid on the smooth planks.", "the birch can slid on smooth planks")
    assert s.ngram_perplexity_reference == pytest.approx(
        ngram_perplexity("The birch canoe slid on the smooth planks.")
    )
    assert s.ngram_perplexity_hypothesis is not None and s.ngram_perplexity_hypothesis > 0
    assert score("the cat", "the cat", ngram=False).ngram_perplexity_reference is None
    assert score("the cat", "").ngram_perplexity_hypothesis is None


def test_scores_with_perplexity_survive_json_and_old_json_still_loads():
    from lab.results import _decode, _encode

    s = score("the cat sat on the mat", "the cat sat on a mat")
    again = _decode(Scores, json.loads(json.dumps(_encode(s))))
    assert again == s
    old = _encode(s)
    del old["ngram_perplexity_reference"], old["ngram_perplexity_hypothesis"]
    loaded = _decode(Scores, old)
    assert loaded.wer == s.wer and loaded.ngram_perplexity_reference is None
    assert not math.isnan(s.ngram_perplexity_reference)
