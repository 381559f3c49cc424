"""How diagonal an attention matrix is, and which head is the most diagonal.

Method: *band mass around the best monotonic path*.

1. Each row (decoder step, or query frame) is normalised to sum to one.
2. The best monotonic path is found by dynamic programming: it starts at the first token in the
   first step, ends at the last token in the last step, and at each step stays on its token or
   moves forward by up to ``ceil(tokens / steps)`` tokens (one, whenever there are more steps than
   tokens), maximising the attention summed along the way. This is the alignment a text-to-speech
   decoder should follow: every token read once, in order.
3. The band mass is the mean, over steps, of the attention that falls within ``band`` tokens
   of the path at that step.
4. The coverage is the share of tokens that lie within ``band`` of some step's most attended
   token: a long decoder can otherwise wait on one token and rush through the rest at the end.
5. The score is band mass × coverage, between 0 and 1.

A head that reads the text in order scores close to 1; uniform attention scores about
``(2·band + 1) / tokens``; a head that stares at one token (a common failure: stuck or skipped
words) scores low, because the path must still cross the whole text. Unlike the "focus rate"
(mean of each row's maximum), this score rewards order as well as sharpness.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class HeadChoice:
    layer: int
    head: int
    score: float


def default_band(n_tokens: int) -> int:
    """±5 % of the tokens, at least one: ±1 for a short sentence, wider for long self-attention."""
    return max(1, int(round(0.05 * n_tokens)))


def _normalise_rows(matrix: np.ndarray) -> np.ndarray:
    m = np.asarray(matrix, dtype=np.float64)
    if m.ndim != 2 or m.shape[0] == 0 or m.shape[1] == 0:
        raise ValueError(f"attention must be a non-empty (steps, tokens) matrix, got {m.shape}")
    m = np.where(np.isfinite(m), np.maximum(m, 0.0), 0.0)
    sums = m.sum(axis=1, keepdims=True)
    return np.divide(m, sums, out=np.zeros_like(m), where=sums > 0)


def monotonic_path(matrix: np.ndarray) -> np.ndarray:
    """(steps,) token index of the best monotonic path from the first to the last token."""
    m = _normalise_rows(matrix)
    steps, tokens = m.shape
    max_jump = max(1, math.ceil((tokens - 1) / max(steps - 1, 1)))
    best = np.full(tokens, -np.inf)
    best[0] = m[0, 0]
    back = np.zeros((steps, tokens), dtype=np.int32)
    for s in range(1, steps):
        candidate = best.copy()
        origin = np.arange(tokens, dtype=np.int32)
        for jump in range(1, max_jump + 1):
            shifted = np.full(tokens, -np.inf)
            shifted[jump:] = best[:-jump]
            better = shifted > candidate
            candidate = np.where(better, shifted, candidate)
            origin = np.where(better, np.arange(tokens, dtype=np.int32) - jump, origin)
        back[s] = origin
        best = candidate + m[s]
    path = np.empty(steps, dtype=np.int32)
    # With fewer reachable tokens than the text has, end wherever the path got furthest.
    end = (
        tokens - 1 if np.isfinite(best[tokens - 1]) else int(np.flatnonzero(np.isfinite(best))[-1])
    )
    path[-1] = end
    for s in range(steps - 1, 0, -1):
        path[s - 1] = back[s, path[s]]
    return path


def diagonality(matrix: np.ndarray, band: int | None = None) -> float:
    """Share (0-1) of the attention within ``band`` tokens of the best monotonic path, times the
    share of tokens the steps' peaks come near (see the module docstring).

    ``matrix`` is (steps, tokens): decoder steps by text tokens for cross-attention, or query
    frames by key frames for self-attention. ``band`` defaults to :func:`default_band`.
    """
    m = _normalise_rows(matrix)
    steps, tokens = m.shape
    band = default_band(tokens) if band is None else int(band)
    path = monotonic_path(m)
    columns = np.arange(tokens)[None, :]
    band_mass = (m * (np.abs(columns - path[:, None]) <= band)).sum(axis=1).mean()
    peaks = m.argmax(axis=1)
    coverage = (np.abs(columns - peaks[:, None]) <= band).any(axis=0).mean()
    return float(band_mass * coverage)


def focus_rate(matrix: np.ndarray) -> float:
    """Mean over steps of the largest attention weight: sharpness, regardless of order."""
    return float(_normalise_rows(matrix).max(axis=1).mean())


def head_scores(attention: np.ndarray, band: int | None = None) -> np.ndarray:
    """(layers, heads) diagonality of each head of a (layers, heads, steps, tokens) array."""
    attention = np.asarray(attention)
    if attention.ndim != 4:
        raise ValueError(f"attention must be (layers, heads, steps, tokens), got {attention.shape}")
    layers, heads = attention.shape[:2]
    out = np.empty((layers, heads), dtype=np.float64)
    for layer in range(layers):
        for head in range(heads):
            out[layer, head] = diagonality(attention[layer, head], band)
    return out


def most_diagonal_head(attention: np.ndarray, band: int | None = None) -> HeadChoice:
    """The (layer, head) whose attention is most diagonal, with its score."""
    scores = head_scores(attention, band)
    layer, head = np.unravel_index(int(np.argmax(scores)), scores.shape)
    return HeadChoice(int(layer), int(head), float(scores[layer, head]))
