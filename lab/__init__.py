"""Round-trip Speech Lab engine: synthesise text, recognise it back, measure what changed.

Headless: no widget toolkit is imported here. Heavy libraries (torch, transformers) load only when
a model is first used.
"""

from __future__ import annotations

from lab.audio import Audio
from lab.errors import (
    BackendError,
    InvalidAudioError,
    InvalidTextError,
    LabError,
    ModelNotAllowedError,
    ModelUnavailableError,
    UnknownModelError,
)
from lab.results import AlignmentChunk, Recognition, RoundTrip, Scores, Segment, SentenceSynthesis, Synthesis

__all__ = [
    "AlignmentChunk",
    "Audio",
    "BackendError",
    "InvalidAudioError",
    "InvalidTextError",
    "LabError",
    "ModelNotAllowedError",
    "ModelUnavailableError",
    "Recognition",
    "RoundTrip",
    "Scores",
    "Segment",
    "SentenceSynthesis",
    "Synthesis",
    "UnknownModelError",
]
