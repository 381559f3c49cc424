"""Where each character and word of a transcript sits in the audio, from CTC emissions.

``torchaudio.functional.forced_align`` finds the most likely CTC path that spells the given
tokens; ``merge_tokens`` turns it into one span per token. Characters become :class:`Segment` s
with times in seconds and the mean probability of their frames; words are the runs of characters
between word-boundary tokens ("|" in wav2vec2/HuBERT vocabularies).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from lab.results import Segment

WORD_DELIMITER = "|"


@dataclass(frozen=True)
class CTCAlignment:
    chars: tuple[Segment, ...]
    """One segment per non-delimiter token, in transcript order."""
    words: tuple[Segment, ...]
    """One segment per word (characters between word delimiters)."""


EMPTY = CTCAlignment(chars=(), words=())


def frames_needed(token_ids: Sequence[int]) -> int:
    """Fewest CTC frames that can spell ``token_ids``: one per token plus a blank between repeats."""
    repeats = sum(1 for a, b in zip(token_ids, token_ids[1:], strict=False) if a == b)
    return len(token_ids) + repeats


def collapse_path(path: Sequence[int] | np.ndarray, blank_id: int = 0) -> list[int]:
    """Token ids a greedy CTC path spells: merge repeats, drop blanks."""
    out: list[int] = []
    previous = None
    for token in (int(t) for t in path):
        if token != previous and token != blank_id:
            out.append(token)
        previous = token
    return out


def align(
    emissions: np.ndarray,
    token_ids: Sequence[int],
    vocab: Sequence[str],
    frame_s: float,
    *,
    blank_id: int = 0,
    word_delimiter: str = WORD_DELIMITER,
) -> CTCAlignment:
    """Char and word segments for ``token_ids`` in ``emissions`` ((frames, vocab) log-probs).

    An empty transcript, or one that needs more frames than the audio has (CTC spells at most one
    token per frame, with a blank between repeats), gives no segments rather than an error.
    """
    import torch
    import torchaudio.functional as F

    emissions = np.asarray(emissions, dtype=np.float32)
    if emissions.ndim != 2:
        raise ValueError(f"emissions must be (frames, vocab), got shape {emissions.shape}")
    ids = [int(t) for t in token_ids if int(t) != blank_id]
    if not ids or frames_needed(ids) > emissions.shape[0]:
        return EMPTY
    if max(ids) >= emissions.shape[1]:
        raise ValueError(f"token id {max(ids)} is outside the vocabulary of {emissions.shape[1]}")
    with torch.inference_mode():
        log_probs = torch.from_numpy(emissions).unsqueeze(0)
        targets = torch.tensor([ids], dtype=torch.int32)
        path, scores = F.forced_align(log_probs, targets, blank=blank_id)
        spans = F.merge_tokens(path[0], scores[0].exp(), blank=blank_id)

    chars: list[Segment] = []
    words: list[Segment] = []
    word_spans: list = []

    def close_word() -> None:
        if not word_spans:
            return
        frames = sum(s.end - s.start for s in word_spans)
        score = sum(s.score * (s.end - s.start) for s in word_spans) / frames
        words.append(
            Segment(
                text="".join(vocab[s.token] for s in word_spans),
                start_s=word_spans[0].start * frame_s,
                end_s=word_spans[-1].end * frame_s,
                score=float(score),
            )
        )
        word_spans.clear()

    for span in spans:
        label = vocab[span.token]
        if label == word_delimiter:
            close_word()
            continue
        chars.append(
            Segment(
                text=label,
                start_s=span.start * frame_s,
                end_s=span.end * frame_s,
                score=float(span.score),
            )
        )
        word_spans.append(span)
    close_word()
    return CTCAlignment(chars=tuple(chars), words=tuple(words))
