from __future__ import annotations

import math

import numpy as np
import pytest

from lab.errors import LabError
from lab.longrange import (
    attention_health,
    errors_by_length,
    errors_by_position,
    synthesis_attention_health,
    unit_errors,
)


def _attention_along(path: list[float], tokens: int, width: float = 0.5) -> np.ndarray:
    """(steps, tokens) rows peaked at the (fractional) token of each step, seeded jitter."""
    rng = np.random.default_rng(0)
    columns = np.arange(tokens)[None, :]
    centre = np.asarray(path, dtype=np.float64)[:, None]
    m = np.exp(-0.5 * ((columns - centre) / width) ** 2) + 1e-3 * rng.random((len(path), tokens))
    return m / m.sum(axis=1, keepdims=True)


def test_a_clean_diagonal_reads_every_token_once():
    tokens, steps = 12, 60
    health = attention_health(_attention_along(list(np.linspace(0, tokens - 1, steps)), tokens))
    assert health.diagonality > 0.8 and health.focus_rate > 0.6
    assert health.skipped == () and health.repeated == ()
    assert (health.tokens, health.steps) == (tokens, steps)


def test_stuck_attention_scores_low_and_skips_the_rest():
    tokens = 12
    stuck = _attention_along([3.0] * 60, tokens)
    health = attention_health(stuck)
    assert health.diagonality < 0.3
    assert health.focus_rate > 0.6  # sharp, yet reading nothing: why focus alone is not enough
    assert health.skip_rate > 0.9 and 3 not in health.skipped


def test_a_jump_over_tokens_is_reported_as_skipped():
    path = [t for t in range(12) if t not in (5, 6) for _ in range(5)]
    health = attention_health(_attention_along(path, 12, width=0.3))
    assert health.skipped == (5, 6)
    assert health.repeated == ()
    assert attention_health(_attention_along(path, 12, width=0.3), ignore=[5]).skipped == (6,)


def test_reading_a_stretch_again_is_reported_as_repeated():
    path = [t for t in [0, 1, 2, 3, 4, 5, 6, 3, 4, 5, 6, 7, 8, 9] for _ in range(5)]
    health = attention_health(_attention_along(path, 10, width=0.3))
    assert health.repeated == (3, 4)  # 5 and 6 come back only one or zero steps behind the front
    assert health.skipped == ()
    clean = attention_health(_attention_along(list(np.linspace(0, 9, 70)), 10))
    assert health.diagonality < clean.diagonality


def test_attention_health_refuses_what_is_not_a_matrix():
    with pytest.raises(LabError, match="steps, tokens"):
        attention_health(np.ones(5))


def test_synthesis_without_attention_is_refused():
    from lab.audio import Audio
    from lab.results import Synthesis

    synthesis = Synthesis("hi", Audio(np.zeros(100, np.float32), 16_000), "piper")
    with pytest.raises(LabError, match="no cross-attention"):
        synthesis_attention_health(synthesis)


def test_synthesis_health_reads_the_most_diagonal_head_of_each_sentence():
    from lab.audio import Audio
    from lab.results import SentenceSynthesis, Synthesis

    rng = np.random.default_rng(1)
    good = _attention_along(list(np.linspace(0, 7, 40)), 8)
    attention = rng.dirichlet(np.ones(8), size=(2, 3, 40))
    attention[1, 2] = good
    sentence = SentenceSynthesis("a b", ("a", "b"), 0.0, 1.0, cross_attention=attention)
    synthesis = Synthesis("a b", Audio(np.zeros(100, np.float32), 16_000), "speecht5",
                          sentences=(sentence, sentence))  # fmt: skip
    health = synthesis_attention_health(synthesis)
    assert len(health) == 2
    assert health[0].diagonality == pytest.approx(attention_health(good).diagonality)


# --- by position and by length ---------------------------------------------------------------------
# (reference, hypothesis, errors on each reference word)
UNIT_TABLE = [
    ("the cat sat", "the cat sat", [0, 0, 0]),
    ("the cat sat", "the bat sat", [0, 1, 0]),
    ("the cat sat", "the cat", [0, 0, 1]),
    ("the cat sat", "a the cat sat", [1, 0, 0]),  # an insertion before the first word
    ("the cat sat", "the cat sat down here", [0, 0, 2]),
]


@pytest.mark.parametrize("ref, hyp, expected", UNIT_TABLE)
def test_each_edit_lands_on_one_reference_word(ref, hyp, expected):
    assert unit_errors(ref, hyp) == expected


def test_character_errors_add_up_to_the_cer():
    from lab import score

    ref, hyp = "the birch canoe slid", "the bird canoe slit on"
    per_char = unit_errors(ref, hyp, "char")
    assert len(per_char) == len(ref)
    assert sum(per_char) / len(ref) == pytest.approx(score(ref, hyp).cer)


def test_errors_late_in_sentences_show_in_the_last_bin():
    pairs = [
        (
            "one two three four five six seven eight nine ten",
            "one two three four five six seven eight",
        ),  # fmt: skip
        ("alpha beta gamma delta epsilon", "alpha beta gamma delta"),
    ]
    buckets = errors_by_position(pairs, bins=5)
    assert [b.units for b in buckets] == [3, 3, 3, 3, 3]
    assert [b.errors for b in buckets] == [0, 0, 0, 0, 3]
    assert buckets[-1].rate == pytest.approx(1.0) and buckets[0].label == "0-20 %"
    total = sum(b.errors for b in buckets) / sum(b.units for b in buckets)
    from lab import corpus_scores

    assert total == pytest.approx(corpus_scores(*zip(*pairs, strict=True))["wer"])


def test_longer_sentences_get_their_own_buckets():
    short = ("the cat sat", "the cat sat")
    long = (" ".join(["word"] * 24), "nothing")
    buckets = errors_by_length([short, long], edges=(1, 10, 20))
    assert [b.label for b in buckets] == ["1-9 words", "10-19 words", "20+ words"]
    assert buckets[0].rate == 0 and math.isnan(buckets[1].rate) and buckets[2].rate == 1.0
