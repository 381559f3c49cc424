"""Loaded models, one copy per process, under an optional memory budget.

Each model loads once and is shared by every caller in the process. With a budget
(``SPEECHLAB_MODEL_BUDGET_MB`` or :func:`set_budget_mb`), loading a model that would take the
loaded set over it first forgets the least recently used others; a forgotten model loads again the
next time it is asked for. The model service's worker runs with a budget, so a small machine (a
2 GB Binder session) can still offer HuBERT-large: it replaces what was used longest ago.
"""

from __future__ import annotations

import gc
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

BUDGET_ENV = "SPEECHLAB_MODEL_BUDGET_MB"
"""Megabytes of model weights one process may keep loaded; unset or 0: no limit."""


@dataclass(frozen=True)
class LoadedModel:
    """One entry of :func:`loaded`: what is in memory now."""

    key: str
    size_mb: float
    """Bytes of parameters and buffers (or the package's size for bundled models), in MB."""
    loaded_at: float
    last_used: float
    uses: int


def footprint_mb(model: Any, fallback_mb: float = 0.0) -> float:
    """Megabytes of the torch modules a backend holds (parameters and buffers, counted once).

    Backends without torch modules (Piper, PocketSphinx) report ``fallback_mb``.
    """
    seen: set[int] = set()
    total = 0
    for value in vars(model).values() if hasattr(model, "__dict__") else ():
        parameters = getattr(value, "parameters", None)
        buffers = getattr(value, "buffers", None)
        if not (callable(parameters) and callable(buffers)):
            continue
        try:
            tensors = [*parameters(), *buffers()]
        except TypeError:
            continue
        for tensor in tensors:
            if id(tensor) in seen:
                continue
            seen.add(id(tensor))
            total += int(tensor.numel()) * int(tensor.element_size())
    return total / 1e6 if total else float(fallback_mb)


class ModelCache:
    """Thread-safe LRU of loaded models; ``budget_mb`` None means no limit."""

    def __init__(self, budget_mb: float | None = None) -> None:
        self.budget_mb = budget_mb
        self._items: OrderedDict[tuple[str, ...], Any] = OrderedDict()
        self._info: dict[tuple[str, ...], LoadedModel] = {}
        self._key_locks: dict[tuple[str, ...], threading.Lock] = {}
        self._guard = threading.Lock()
        self.evictions = 0

    def get(self, key: tuple[str, ...], make: Callable[[], Any], fallback_mb: float = 0.0) -> Any:
        """The model under ``key``, made by ``make`` the first time (one maker per key)."""
        with self._guard:
            if key in self._items:
                return self._touch(key)
            key_lock = self._key_locks.setdefault(key, threading.Lock())
        with key_lock:
            with self._guard:
                if key in self._items:
                    return self._touch(key)
            value = make()
            size = footprint_mb(value, fallback_mb)
            now = time.time()
            with self._guard:
                self._items[key] = value
                self._info[key] = LoadedModel(" ".join(key), size, now, now, 1)
                evicted = self._evict_for(key)
            if evicted:
                del evicted
                gc.collect()
            return value

    def _touch(self, key: tuple[str, ...]) -> Any:
        self._items.move_to_end(key)
        info = self._info[key]
        self._info[key] = LoadedModel(
            info.key, info.size_mb, info.loaded_at, time.time(), info.uses + 1
        )
        return self._items[key]

    def _evict_for(self, keep: tuple[str, ...]) -> list[Any]:
        """Forget least recently used models until the budget holds (never ``keep``)."""
        budget = self.budget_mb
        evicted: list[Any] = []
        if not budget:
            return evicted
        while sum(i.size_mb for i in self._info.values()) > budget:
            oldest = next((k for k in self._items if k != keep), None)
            if oldest is None:
                break
            evicted.append(self._items.pop(oldest))
            self._info.pop(oldest, None)
            self.evictions += 1
        return evicted

    def loaded(self) -> list[LoadedModel]:
        """What is in memory, least recently used first."""
        with self._guard:
            return [self._info[k] for k in self._items]

    def clear(self) -> None:
        with self._guard:
            self._items.clear()
            self._info.clear()
            self._key_locks.clear()
        gc.collect()


def _budget_from_env() -> float | None:
    value = os.environ.get(BUDGET_ENV, "").strip()
    try:
        budget = float(value) if value else 0.0
    except ValueError:
        budget = 0.0
    return budget if budget > 0 else None


cache = ModelCache(_budget_from_env())
"""The process's loaded models."""


def set_budget_mb(budget_mb: float | None) -> None:
    """Keep at most this many MB of weights loaded (None or 0: no limit); applies from the next
    load."""
    cache.budget_mb = budget_mb if budget_mb else None
