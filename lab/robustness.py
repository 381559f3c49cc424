"""How much noise a recogniser takes: the SNR at which its corpus WER reaches 50 % (the speech
recognition threshold of audiology, with WER in place of the share of words missed), with a
bootstrap confidence interval over sentences. Input: the rows of :func:`lab.sweep.run_sweep`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from lab.errors import LabError
from lab.sweep import SweepRow
from lab.text import normalize_for_scoring

TARGET_WER = 0.5


@dataclass(frozen=True)
class Snr50:
    """The SNR of 50 % WER for one (recogniser, noise), with a percentile bootstrap interval."""

    recognizer: str
    noise: str
    snr_db: float | None
    """Where the corpus WER curve first reaches the target coming down from the highest SNR
    (linear between sweep points); None when it does not cross inside the swept range."""
    ci_low: float | None
    """Lower end of the interval; None when resamples fall below the swept range."""
    ci_high: float | None
    """Upper end; None when resamples are already past the target at the highest SNR."""
    sentences: int
    resamples: int
    confidence: float = 0.95
    note: str = ""
    """Why a value is None, in words."""


def wer_curves(rows: Iterable[SweepRow]) -> dict[tuple[str, str], list[tuple[float, float]]]:
    """Corpus WER (errors over all reference words) at each SNR, per (recogniser, noise), SNRs
    from high to low. Clean rows (SNR None) are left out."""
    out: dict[tuple[str, str], list[tuple[float, float]]] = {}
    for key, (snrs, errors, words) in _groups(rows).items():
        wer = errors.sum(axis=0) / words.sum()
        out[key] = [(float(s), float(w)) for s, w in zip(snrs, wer, strict=True)]
    return out


def crossing_snr(snrs: Sequence[float], wers: Sequence[float], target: float = TARGET_WER) -> float:
    """SNR where the WER curve first reaches ``target`` going from the highest SNR down, by linear
    interpolation: +inf if it is already there at the highest SNR, -inf if it never gets there."""
    order = np.argsort(snrs)[::-1]
    s = np.asarray(snrs, dtype=np.float64)[order]
    w = np.asarray(wers, dtype=np.float64)[order]
    if w[0] >= target:
        return math.inf
    for i in range(1, s.size):
        if w[i] >= target:
            return float(s[i - 1] + (target - w[i - 1]) * (s[i] - s[i - 1]) / (w[i] - w[i - 1]))
    return -math.inf


def snr50(
    rows: Iterable[SweepRow],
    *,
    resamples: int = 2000,
    confidence: float = 0.95,
    seed: int = 0,
    target: float = TARGET_WER,
) -> list[Snr50]:
    """SNR at ``target`` WER per (recogniser, noise), with a percentile bootstrap interval: the
    sentences are drawn again with replacement (each keeps all its SNRs, so the curve stays
    paired) and the crossing found again on each draw."""
    if not 0 < confidence < 1:
        raise LabError(f"confidence must be between 0 and 1, got {confidence}.")
    rng = np.random.default_rng(seed)
    results = []
    for (recognizer, noise), (snrs, errors, words) in _groups(rows).items():
        n = words.size
        point = crossing_snr(snrs, errors.sum(axis=0) / words.sum(), target)
        draws = rng.integers(0, n, size=(resamples, n))
        curves = errors[draws].sum(axis=1) / words[draws].sum(axis=1)[:, None]
        crossings = np.array([crossing_snr(snrs, c, target) for c in curves])
        alpha = (1 - confidence) / 2
        # pick real resample values (no interpolation), so an infinite draw stays infinite
        low, high = np.quantile(crossings, [alpha, 1 - alpha], method="inverted_cdf")
        note = ""
        if point == math.inf:
            note = f"WER is at or above {target:.0%} already at {max(snrs):g} dB."
        elif point == -math.inf:
            note = f"WER stays below {target:.0%} down to {min(snrs):g} dB."
        elif not (math.isfinite(low) and math.isfinite(high)):
            note = "The interval reaches past the swept SNRs: sweep a wider range."
        results.append(
            Snr50(
                recognizer=recognizer,
                noise=noise,
                snr_db=point if math.isfinite(point) else None,
                ci_low=float(low) if math.isfinite(low) else None,
                ci_high=float(high) if math.isfinite(high) else None,
                sentences=n,
                resamples=resamples,
                confidence=confidence,
                note=note,
            )
        )
    return results


def _groups(
    rows: Iterable[SweepRow],
) -> dict[tuple[str, str], tuple[list[float], np.ndarray, np.ndarray]]:
    """Per (recogniser, noise): SNRs (high to low), errors (sentences, SNRs) and reference words
    per sentence, for the sentences that have a row at every SNR of the group."""
    by_key: dict[tuple[str, str], dict[int, dict[float, SweepRow]]] = {}
    for row in rows:
        if row.snr_db is None:
            continue
        by_key.setdefault((row.recognizer, row.noise), {}).setdefault(row.sentence_index, {})[
            float(row.snr_db)
        ] = row
    out = {}
    for key in sorted(by_key):
        sentences = by_key[key]
        snrs = sorted({s for per in sentences.values() for s in per}, reverse=True)
        complete = [i for i in sorted(sentences) if len(sentences[i]) == len(snrs)]
        if len(snrs) < 2 or not complete:
            raise LabError(
                f"{key[0]} with {key[1]} noise needs rows at two or more SNRs for one sentence "
                "at least."
            )
        words = np.array(
            [max(1, len(normalize_for_scoring(sentences[i][snrs[0]].text).split())) for i in complete],
            dtype=np.float64,
        )  # fmt: skip
        errors = np.array(
            [[sentences[i][s].wer * words[j] for s in snrs] for j, i in enumerate(complete)]
        )
        out[key] = (snrs, errors, words)
    return out
