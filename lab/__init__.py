"""Round-trip Speech Lab engine: synthesise text, recognise it back, measure what changed.

Headless: no widget toolkit is imported here. Heavy libraries (torch, transformers) load only when
a model is first used.
"""

from __future__ import annotations

from lab import models
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
from lab.metrics import corpus_scores, score
from lab.models import get_recognizer, get_synthesizer, list_models
from lab.noise import add_noise, speed_perturb
from lab.results import (
    AlignmentChunk,
    Recognition,
    RoundTrip,
    Scores,
    Segment,
    SentenceSynthesis,
    Synthesis,
)
from lab.roundtrip import clear_cache, degrade, roundtrip, synthesize
from lab.text import check_text, normalize_for_scoring, split_sentences

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
    "add_noise",
    "get_recognizer",
    "get_synthesizer",
    "list_models",
    "models",
    "check_text",
    "clear_cache",
    "corpus_scores",
    "degrade",
    "normalize_for_scoring",
    "roundtrip",
    "score",
    "speed_perturb",
    "split_sentences",
    "synthesize",
]
