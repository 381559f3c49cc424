"""What runs inside the model service's worker process (see :mod:`lab.service`).

Models stay loaded between requests in the process's :mod:`lab.model_cache` (under the service's
memory budget). Each synthesizer serves one request at a time: torch already keeps every core
busy with one. Recognitions that arrive together for the same recognizer are gathered, and clips
of equal length (visitors running the same sentence) go through one batched forward pass, as
``recognize_batch`` allows; the rest run one after the other.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from lab.audio import Audio
from lab.results import Recognition, Synthesis

GATHER_S = 0.03
"""How long the first recognition of a quiet moment waits for others to batch with."""

IN_WORKER_ENV = "SPEECHLAB_IN_SERVICE_WORKER"
"""Set in the worker process: its models load here, never through a service."""


@dataclass(frozen=True)
class BackendInfo:
    """What a kernel needs to know of a backend loaded on the service."""

    name: str
    kind: str
    sample_rate: int
    has_attention: bool
    has_emissions: bool
    has_mel: bool
    untrained: bool
    voices: tuple[str, ...]


@dataclass
class _Request:
    audio: Audio
    output_attentions: bool
    output_hidden_states: bool
    done: threading.Event = field(default_factory=threading.Event)
    result: Recognition | None = None
    error: BaseException | None = None


class _RecognitionQueue:
    """Requests for one recognizer; whoever finds it idle runs everything waiting."""

    def __init__(self) -> None:
        self.pending: list[_Request] = []
        self.lock = threading.Lock()
        self.running = False

    def submit(self, rec: Any, request: _Request) -> Recognition:
        with self.lock:
            self.pending.append(request)
            lead = not self.running
            if lead:
                self.running = True
        if lead:
            time.sleep(GATHER_S)
            while True:
                with self.lock:
                    batch, self.pending = self.pending, []
                    if not batch:
                        self.running = False
                        break
                _run_batch(rec, batch)
        request.done.wait()
        if request.error is not None:
            raise request.error
        assert request.result is not None
        return request.result


_queues: dict[str, _RecognitionQueue] = {}
_synth_locks: dict[str, threading.Lock] = {}
_guard = threading.Lock()
_stats = {"recognitions": 0, "forward_passes": 0, "batched": 0, "syntheses": 0}


def _run_batch(rec: Any, batch: list[_Request]) -> None:
    plain = [r for r in batch if not (r.output_attentions or r.output_hidden_states)]
    groups: dict[tuple[int, int], list[_Request]] = {}
    if hasattr(rec, "recognize_batch"):
        for r in plain:
            groups.setdefault((r.audio.samples.size, r.audio.sample_rate), []).append(r)
    together = [g for g in groups.values() if len(g) > 1]
    alone = [r for r in batch if not any(r in g for g in together)]
    for group in together:
        try:
            results = rec.recognize_batch([r.audio for r in group])
            for r, result in zip(group, results, strict=True):
                r.result = result
        except BaseException as exc:  # each waiting visitor gets the error, not a hang
            for r in group:
                r.error = exc
        with _guard:
            _stats["forward_passes"] += 1
            _stats["batched"] += len(group)
            _stats["recognitions"] += len(group)
        for r in group:
            r.done.set()
    for r in alone:
        try:
            r.result = rec.recognize(
                r.audio,
                output_attentions=r.output_attentions,
                output_hidden_states=r.output_hidden_states,
            )
        except BaseException as exc:
            r.error = exc
        with _guard:
            _stats["forward_passes"] += 1
            _stats["recognitions"] += 1
        r.done.set()


_torch_threads_set = False


def _prepare_torch() -> None:
    """Once torch is in the process (a neural model loaded): let it use every core. The
    service's worker process starts with one thread per library; bundled models never import
    torch, and a worker without it stays half a gigabyte smaller."""
    global _torch_threads_set
    if _torch_threads_set or "torch" not in sys.modules:
        return
    import torch

    threads = int(os.environ.get("SPEECHLAB_TORCH_THREADS", "0") or 0) or (os.cpu_count() or 1)
    torch.set_num_threads(threads)
    _torch_threads_set = True


def _get(kind: str, name: str) -> Any:
    os.environ[IN_WORKER_ENV] = "1"  # models load here, never through a service
    from lab.models import get_recognizer, get_synthesizer

    backend = get_synthesizer(name) if kind == "synthesizer" else get_recognizer(name)
    _prepare_torch()
    return backend


def describe(kind: str, name: str) -> BackendInfo:
    """Load ``name`` (if it is not loaded) and say what it offers."""
    backend = _get(kind, name)
    voices: tuple[str, ...] = ()
    if kind == "synthesizer":
        voices = tuple(str(v) for v in backend.voices())
    return BackendInfo(
        name=str(backend.name),
        kind=kind,
        sample_rate=int(backend.sample_rate),
        has_attention=bool(getattr(backend, "has_attention", False)),
        has_emissions=bool(getattr(backend, "has_emissions", False)),
        has_mel=bool(getattr(backend, "has_mel", False)),
        untrained=bool(getattr(backend, "untrained", False)),
        voices=voices,
    )


def synthesize(name: str, text: str, voice: Any = None) -> Synthesis:
    synth = _get("synthesizer", name)
    with _guard:
        lock = _synth_locks.setdefault(name, threading.Lock())
    with lock:
        result: Synthesis = synth.synthesize(text, voice=voice)
    with _guard:
        _stats["syntheses"] += 1
    return result


def recognize(
    name: str,
    audio: Audio,
    output_attentions: bool = False,
    output_hidden_states: bool = False,
) -> Recognition:
    rec = _get("recognizer", name)
    with _guard:
        queue = _queues.setdefault(name, _RecognitionQueue())
    return queue.submit(rec, _Request(audio, output_attentions, output_hidden_states))


def recognize_batch(name: str, audios: list[Audio]) -> list[Recognition]:
    rec = _get("recognizer", name)
    if hasattr(rec, "recognize_batch"):
        return list(rec.recognize_batch(audios))
    return [rec.recognize(a) for a in audios]


def status() -> dict[str, Any]:
    """Loaded models (least recently used first), the budget and request counts."""
    from lab import model_cache

    with _guard:
        counts = dict(_stats)
    return {
        "pid": os.getpid(),
        "budget_mb": model_cache.cache.budget_mb,
        "evictions": model_cache.cache.evictions,
        "loaded": [
            {"key": m.key, "size_mb": round(m.size_mb, 1), "uses": m.uses}
            for m in model_cache.cache.loaded()
        ],
        **counts,
    }


def preload(names: list[tuple[str, str]]) -> list[str]:
    """Load (kind, name) pairs now, so the first visitor does not wait; returns what failed."""
    failed = []
    for kind, name in names:
        try:
            describe(kind, name)
        except Exception as exc:
            failed.append(f"{name}: {exc}")
    return failed
