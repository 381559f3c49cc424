"""Errors the lab raises on purpose. Every one derives from :class:`LabError`.

Each message is one sentence a person can act on: what went wrong and what to do.
"""

from __future__ import annotations


class LabError(Exception):
    """Base class of every error the lab raises on purpose."""


class InvalidAudioError(LabError, ValueError):
    """Audio that cannot be used: empty, non-finite, corrupt, too long or too large."""


class InvalidTextError(LabError, ValueError):
    """Text that cannot be synthesised or scored: empty, too long, or with nothing speakable."""


class UnknownModelError(LabError, KeyError):
    """A model name that is neither a known name, a hub id, nor a local folder."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class ModelUnavailableError(LabError, OSError):
    """A model that exists but cannot be loaded here: not cached and the hub is unreachable."""


class ModelNotAllowedError(LabError, PermissionError):
    """A model refused by an allowlist (dashboards offer only the models they list)."""


class BackendError(LabError, RuntimeError):
    """A backend failed while running; the message says which backend and why."""
