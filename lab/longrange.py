"""Where long texts go wrong: error rates by position in the sentence and by sentence length, and
the health of a text-to-speech model's cross-attention (how diagonal, how sharp, which tokens it
skipped or read twice), the usual signs of lost long-range alignment in attention-based TTS.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from lab.attention import diagonality, focus_rate, most_diagonal_head
from lab.errors import LabError
from lab.results import Synthesis
from lab.text import normalize_for_scoring


# --- error rates by position and by length --------------------------------------------------------
@dataclass(frozen=True)
class Bucket:
    """Errors over the reference units (words or characters) that fall in one bucket."""

    label: str
    low: float
    high: float
    units: int
    errors: int

    @property
    def rate(self) -> float:
        """Errors per reference unit (NaN for an empty bucket)."""
        return self.errors / self.units if self.units else math.nan


def unit_errors(reference: str, hypothesis: str, unit: str = "word") -> list[int]:
    """For each reference word (``unit="word"``) or character (``"char"``, spaces included, as
    CER counts them) of the normalised reference: how many edits fall on it. A substitution or
    deletion counts on its unit; an insertion counts on the reference unit before it (the first
    unit when it comes first)."""
    import jiwer

    ref, hyp = normalize_for_scoring(reference), normalize_for_scoring(hypothesis)
    if not ref:
        raise LabError("The reference has no words left after normalisation.")
    if unit == "word":
        chunks = jiwer.process_words(ref, hyp).alignments[0]
        n = len(ref.split())
    elif unit == "char":
        chunks = jiwer.process_characters(ref, hyp).alignments[0]
        n = len(ref)
    else:
        raise LabError(f"unit must be 'word' or 'char', not {unit!r}.")
    errors = [0] * n
    for chunk in chunks:
        if chunk.type in ("substitute", "delete"):
            for i in range(chunk.ref_start_idx, chunk.ref_end_idx):
                errors[i] += 1
        elif chunk.type == "insert":
            errors[max(chunk.ref_start_idx - 1, 0)] += chunk.hyp_end_idx - chunk.hyp_start_idx
    return errors


def errors_by_position(
    pairs: Sequence[tuple[str, str]], *, bins: int = 5, unit: str = "word"
) -> list[Bucket]:
    """Error rate by relative position in the sentence: each reference unit falls in the bin of
    (its index + 0.5) / (units in its sentence), so the first bin holds every sentence's start
    and the last its end. ``pairs``: (reference, hypothesis)."""
    if bins < 1:
        raise LabError("bins must be at least 1.")
    units = np.zeros(bins, dtype=int)
    errors = np.zeros(bins, dtype=int)
    for reference, hypothesis in pairs:
        per_unit = unit_errors(reference, hypothesis, unit)
        n = len(per_unit)
        for i, e in enumerate(per_unit):
            b = min(int((i + 0.5) / n * bins), bins - 1)
            units[b] += 1
            errors[b] += e
    return [
        Bucket(f"{100 * k / bins:.0f}-{100 * (k + 1) / bins:.0f} %", k / bins, (k + 1) / bins,
               int(units[k]), int(errors[k]))
        for k in range(bins)
    ]  # fmt: skip


def errors_by_length(
    pairs: Sequence[tuple[str, str]],
    *,
    edges: Sequence[int] = (1, 6, 11, 16, 21, 31),
    unit: str = "word",
) -> list[Bucket]:
    """Corpus error rate of sentences grouped by their length in reference words: bucket k holds
    lengths edges[k] to edges[k+1]-1, the last one edges[-1] and longer."""
    bounds = [*edges, math.inf]
    units = [0] * len(edges)
    errors = [0] * len(edges)
    for reference, hypothesis in pairs:
        words = len(normalize_for_scoring(reference).split())
        k = next((i for i in range(len(edges)) if bounds[i] <= words < bounds[i + 1]), None)
        if k is None:
            continue
        per_unit = unit_errors(reference, hypothesis, unit)
        units[k] += len(per_unit)
        errors[k] += sum(per_unit)
    out = []
    for k in range(len(edges)):
        high = bounds[k + 1]
        label = f"{edges[k]}+ words" if high == math.inf else f"{edges[k]}-{int(high) - 1} words"
        out.append(Bucket(label, float(edges[k]), float(high), units[k], errors[k]))
    return out


# --- attention health -------------------------------------------------------------------------------
@dataclass(frozen=True)
class AttentionHealth:
    """How well one (steps, tokens) cross-attention read its text."""

    tokens: int
    steps: int
    diagonality: float
    """Band mass around the best monotonic path times coverage (:func:`lab.attention.diagonality`)."""
    focus_rate: float
    """Mean of each step's largest weight: sharpness (Ren et al., FastSpeech)."""
    skipped: tuple[int, ...]
    """Tokens no step attended most (read over, or never read)."""
    repeated: tuple[int, ...]
    """Tokens the attention came back to after it had moved on past them (read twice)."""

    @property
    def skip_rate(self) -> float:
        return len(self.skipped) / self.tokens

    @property
    def repeat_rate(self) -> float:
        return len(self.repeated) / self.tokens


def attention_health(matrix: np.ndarray, *, ignore: Sequence[int] = ()) -> AttentionHealth:
    """Diagonality, focus rate and the tokens skipped or read twice, from the peak (most attended
    token) of each decoder step. ``ignore``: token indices not to count as skipped (e.g. an
    end-of-text token the decoder stops on before reaching)."""
    m = np.asarray(matrix, dtype=np.float64)
    if m.ndim != 2 or 0 in m.shape:
        raise LabError(f"Attention must be a non-empty (steps, tokens) matrix, got {m.shape}.")
    steps, tokens = m.shape
    peaks = m.argmax(axis=1)
    seen = set(peaks.tolist())
    skipped = tuple(t for t in range(tokens) if t not in seen and t not in set(ignore))
    repeated: set[int] = set()
    visited: set[int] = set()
    furthest = previous = -1
    for p in peaks.tolist():
        # a new run on a token already read, after the peak had moved two or more past it
        if p != previous and p in visited and furthest >= p + 2:
            repeated.add(p)
        visited.add(p)
        furthest = max(furthest, p)
        previous = p
    return AttentionHealth(
        tokens=tokens,
        steps=steps,
        diagonality=diagonality(m),
        focus_rate=focus_rate(m),
        skipped=skipped,
        repeated=tuple(sorted(repeated)),
    )


def synthesis_attention_health(synthesis: Synthesis) -> list[AttentionHealth]:
    """The health of each sentence's cross-attention, read from its most diagonal head (the
    alignment head: most heads of a TTS decoder are not meant to follow the text)."""
    if not synthesis.has_attention:
        raise LabError(
            f"{synthesis.model} gives no cross-attention: attention health needs SpeechT5."
        )
    out = []
    for sentence in synthesis.sentences:
        attention = sentence.cross_attention
        assert attention is not None
        choice = most_diagonal_head(attention)
        out.append(attention_health(attention[choice.layer, choice.head]))
    return out
