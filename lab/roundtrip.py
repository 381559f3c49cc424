"""The one call shared by notebooks, widgets, the command line and sweeps.

Synthesis is cached by (synthesizer, voice, text), so moving a noise slider or switching recogniser
never synthesises again.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from lab.audio import Audio
from lab.backends.base import Recognizer, Synthesizer
from lab.metrics import score
from lab.noise import add_noise, speed_perturb
from lab.results import Recognition, RoundTrip, Synthesis
from lab.text import check_text

Progress = Callable[[str], None]

SYNTHESIS_CACHE_SIZE = 32


class _SynthesisCache:
    """A small thread-safe LRU of Synthesis results; the same key is never synthesised twice at
    once either (a second caller waits for the first)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._items: OrderedDict[tuple[Any, ...], Synthesis] = OrderedDict()
        self._lock = threading.Lock()
        self._key_locks: dict[tuple[Any, ...], threading.Lock] = {}
        self.hits = 0
        self.misses = 0

    def get_or_make(
        self, key: tuple[Any, ...], make: Callable[[], Synthesis]
    ) -> tuple[Synthesis, bool]:
        with self._lock:
            key_lock = self._key_locks.setdefault(key, threading.Lock())
        with key_lock:
            with self._lock:
                if key in self._items:
                    self._items.move_to_end(key)
                    self.hits += 1
                    return self._items[key], True
            value = make()
            with self._lock:
                self.misses += 1
                self._items[key] = value
                while len(self._items) > self.size:
                    self._items.popitem(last=False)
                self._key_locks.pop(key, None)
            return value, False

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self.hits = self.misses = 0


_cache = _SynthesisCache(SYNTHESIS_CACHE_SIZE)


def clear_cache() -> None:
    """Forget every cached synthesis."""
    _cache.clear()


def cache_info() -> dict[str, int]:
    return {"hits": _cache.hits, "misses": _cache.misses, "size": len(_cache._items)}


def _voice_key(voice: Any) -> Any:
    if voice is None or isinstance(voice, str):
        return voice
    xvector = getattr(voice, "xvector", None)
    if isinstance(xvector, np.ndarray):
        return (getattr(voice, "name", "voice"), hashlib.sha1(xvector.tobytes()).hexdigest())
    return repr(voice)


def resolve_synthesizer(synthesizer: str | Path | Synthesizer | None) -> Synthesizer:
    from lab.models import default_pair, get_synthesizer

    if synthesizer is None:
        synthesizer = default_pair()[0]
    return get_synthesizer(synthesizer)


def resolve_recognizer(recognizer: str | Path | Recognizer | None) -> Recognizer:
    from lab.models import default_pair, get_recognizer

    if recognizer is None:
        recognizer = default_pair()[1]
    return get_recognizer(recognizer)


def synthesize(
    text: str,
    synthesizer: str | Path | Synthesizer | None = None,
    voice: Any = None,
) -> Synthesis:
    """Synthesise ``text``, or return the cached result of the same (synthesizer, voice, text)."""
    text = check_text(text)
    synth = resolve_synthesizer(synthesizer)
    key = (synth.name, id(synth), _voice_key(voice), text)
    result, _ = _cache.get_or_make(key, lambda: synth.synthesize(text, voice=voice))
    return result


def degrade(
    audio: Audio,
    snr_db: float | None = None,
    noise: str = "white",
    seed: int = 0,
    speed: float = 1.0,
) -> Audio:
    """Speed perturbation, then noise at ``snr_db`` (None: no noise)."""
    if speed != 1.0:
        audio = speed_perturb(audio, speed)
    if snr_db is not None:
        audio = add_noise(audio, snr_db, noise, seed)
    return audio


def roundtrip(
    text: str,
    synthesizer: str | Path | Synthesizer | None = None,
    recognizer: str | Path | Recognizer | None = None,
    *,
    snr_db: float | None = None,
    noise: str = "white",
    seed: int = 0,
    speed: float = 1.0,
    voice: Any = None,
    output_attentions: bool = False,
    output_hidden_states: bool = False,
    language_model: str | Path | None = None,
    progress: Progress | None = None,
) -> RoundTrip:
    """Synthesise ``text``, optionally degrade it, recognise it back and score the result.

    ``synthesizer`` / ``recognizer``: a registry name ("speecht5", "piper", "wav2vec2-base-960h",
    "hubert-large-ls960-ft", "pocketsphinx"), a hub id, a local folder, or a backend instance. None
    picks the neural pair when its weights are available and the bundled pair otherwise.
    """
    say = progress or (lambda message: None)
    timings: dict[str, float] = {}
    text = check_text(text)

    synth = resolve_synthesizer(synthesizer)
    rec = resolve_recognizer(recognizer)

    t0 = time.perf_counter()
    key = (synth.name, id(synth), _voice_key(voice), text)

    def make() -> Synthesis:
        say(f"Synthesising with {synth.name}…")
        return synth.synthesize(text, voice=voice)

    synthesis, cached = _cache.get_or_make(key, make)
    timings["synthesis"] = 0.0 if cached else time.perf_counter() - t0

    t0 = time.perf_counter()
    if snr_db is not None or speed != 1.0:
        say("Adding noise…")
    heard = degrade(synthesis.audio, snr_db, noise, seed, speed)
    timings["noise"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    say(f"Recognising with {rec.name}…")
    recognition: Recognition = rec.recognize(
        heard, output_attentions=output_attentions, output_hidden_states=output_hidden_states
    )
    timings["recognition"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    say("Scoring…")
    scores = score(text, recognition, language_model=language_model)
    timings["scoring"] = time.perf_counter() - t0

    return RoundTrip(
        text=text,
        synthesis=synthesis,
        audio=heard,
        recognition=recognition,
        scores=scores,
        snr_db=snr_db,
        noise=noise,
        seed=seed,
        timings=timings,
    )
