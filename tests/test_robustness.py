from __future__ import annotations

import math

import numpy as np
import pytest

from lab.errors import LabError
from lab.robustness import crossing_snr, snr50, wer_curves
from lab.sweep import SweepRow

SNRS = [20.0, 10.0, 5.0, 0.0, -5.0]


def _row(i: int, snr: float | None, wer: float, *, text: str = "one two three four",
         recognizer: str = "rec", noise: str = "white") -> SweepRow:  # fmt: skip
    return SweepRow(i, text, recognizer, snr, noise, 0, "", wer, wer, 0.0, 0.0, 0.0)


def _linear_rows(n: int, spread: float, *, crossing: float = 3.0, slope: float = 0.04,
                 recognizer: str = "rec", noise: str = "white") -> list[SweepRow]:  # fmt: skip
    """Sentences in pairs of +d/-d around a straight corpus WER line that reaches 0.5 at
    ``crossing`` dB: the corpus curve is exactly the line, the sentences scatter about it."""
    rng = np.random.default_rng(1)
    offsets = rng.uniform(0, spread, n // 2)
    rows = []
    for i in range(n):
        d = offsets[i // 2] * (1 if i % 2 == 0 else -1)
        for snr in SNRS:
            rows.append(
                _row(i, snr, 0.5 - slope * (snr - crossing) + d, recognizer=recognizer, noise=noise)
            )
    return rows


def test_crossing_is_interpolated_between_sweep_points():
    assert crossing_snr([0, 10], [0.8, 0.2]) == pytest.approx(5.0)
    assert crossing_snr([10, 5, 0], [0.1, 0.3, 0.7]) == pytest.approx(2.5)
    assert crossing_snr([10, 0], [0.6, 0.9]) == math.inf
    assert crossing_snr([10, 0], [0.1, 0.4]) == -math.inf


def test_the_first_crossing_from_the_clean_end_counts():
    # WER dips back below 50 % at the lowest SNR (a recogniser that outputs nothing scores 1.0,
    # one that hallucinates can score anything): the threshold is where it first got that bad
    assert crossing_snr([10, 5, 0, -5], [0.2, 0.6, 0.4, 0.9]) == pytest.approx(
        5 + (0.5 - 0.6) * (10 - 5) / (0.2 - 0.6)
    )


def test_snr50_finds_the_known_crossing_with_an_interval_around_it():
    (result,) = snr50(_linear_rows(40, 0.3), resamples=1000)
    assert result.snr_db == pytest.approx(3.0)
    assert result.ci_low < 3.0 < result.ci_high
    assert result.sentences == 40 and result.note == ""


def test_more_sentences_or_less_scatter_narrow_the_interval():
    def width(rows: list[SweepRow]) -> float:
        (r,) = snr50(rows, resamples=800)
        return r.ci_high - r.ci_low

    assert width(_linear_rows(80, 0.3)) < width(_linear_rows(20, 0.3))
    assert width(_linear_rows(40, 0.1)) < width(_linear_rows(40, 0.4))
    assert width(_linear_rows(40, 0.0)) == pytest.approx(0.0)


def test_interval_agrees_with_scipy_percentile_bootstrap():
    stats = pytest.importorskip("scipy.stats")
    rows = _linear_rows(30, 0.35)
    (ours,) = snr50(rows, resamples=4000, seed=3)
    errors = np.array([[r.wer * 4 for r in rows if r.sentence_index == i] for i in range(30)])

    def crossing(idx: np.ndarray, axis: int = -1) -> np.ndarray:
        curves = errors[idx.astype(int)].sum(axis=-2) / (4 * idx.shape[-1])
        return np.apply_along_axis(lambda c: crossing_snr(SNRS, c), -1, curves)

    reference = stats.bootstrap(
        (np.arange(30),), crossing, vectorized=True, n_resamples=4000, method="percentile",
        confidence_level=0.95, rng=np.random.default_rng(4),
    ).confidence_interval  # fmt: skip
    assert ours.ci_low == pytest.approx(reference.low, abs=0.25)
    assert ours.ci_high == pytest.approx(reference.high, abs=0.25)


def test_corpus_wer_weights_sentences_by_their_words():
    long = "one two three four five six seven eight nine ten eleven twelve"
    rows = [
        _row(0, 10.0, 0.0, text="one two"), _row(0, 0.0, 1.0, text="one two"),
        _row(1, 10.0, 0.0, text=long), _row(1, 0.0, 0.25, text=long),
    ]  # fmt: skip
    curve = wer_curves(rows)[("rec", "white")]
    assert curve == [(10.0, 0.0), (0.0, pytest.approx((2 * 1.0 + 12 * 0.25) / 14))]


def test_curves_and_thresholds_are_kept_apart_per_recogniser_and_noise():
    rows = (
        _linear_rows(20, 0.2, crossing=8.0, recognizer="a", noise="white")
        + _linear_rows(20, 0.2, crossing=-2.0, recognizer="b", noise="white")
        + _linear_rows(20, 0.2, crossing=1.0, recognizer="a", noise="babble")
    )
    found = {(r.recognizer, r.noise): r.snr_db for r in snr50(rows, resamples=200)}
    assert found == {
        ("a", "babble"): pytest.approx(1.0),
        ("a", "white"): pytest.approx(8.0),
        ("b", "white"): pytest.approx(-2.0),
    }


def test_a_recogniser_that_never_gets_that_bad_has_no_threshold_and_says_why():
    rows = [_row(i, s, 0.05 + 0.01 * (20 - s)) for i in range(5) for s in SNRS]
    (result,) = snr50(rows, resamples=100)
    assert result.snr_db is None and result.ci_low is None
    assert "below 50%" in result.note and "-5 dB" in result.note


def test_clean_rows_are_ignored_and_a_single_snr_is_refused():
    rows = [_row(0, None, 0.0), _row(0, 10.0, 0.2), _row(0, 0.0, 0.8)]
    assert snr50(rows, resamples=10)[0].snr_db == pytest.approx(5.0)
    with pytest.raises(LabError, match="two or more SNRs"):
        snr50([_row(0, None, 0.0), _row(0, 10.0, 0.2)])
