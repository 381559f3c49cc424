"""A small audio player that tells Python where playback is, so views can draw a playhead."""

from __future__ import annotations

import math
import pathlib
from typing import Any

import anywidget
import traitlets

from lab.audio import MIME_TYPES, Audio


class AudioPlayer(anywidget.AnyWidget):
    """Plays audio bytes in the browser; reports ``current_time`` back while it plays.

    ``play_range(start_s, end_s)`` plays one stretch (a word) and stops; ``seek(time_s)`` moves
    the position. Both are requests to the browser: ``current_time`` changes when it answers.
    """

    _esm = pathlib.Path(__file__).with_name("audio_player.js")

    value = traitlets.Bytes(b"").tag(sync=True)
    """The audio as a file in ``format`` (sent as one binary buffer)."""
    mime_type = traitlets.Unicode("audio/mpeg").tag(sync=True)
    """What the bytes are, for the browser."""
    label = traitlets.Unicode("").tag(sync=True)
    """Text shown before the player ("clean", "heard at 10 dB")."""
    duration_s = traitlets.Float(0.0).tag(sync=True)
    """Length of the audio in seconds."""
    current_time = traitlets.Float(0.0).tag(sync=True)
    """Playback position in seconds, as the browser last reported it."""
    playing = traitlets.Bool(False).tag(sync=True)
    """True while the browser plays."""
    throttle_ms = traitlets.Int(100).tag(sync=True)
    """Least time between two ``current_time`` reports while playing."""

    def __init__(
        self, audio: Audio | None = None, label: str = "", *, format: str = "mp3", **kwargs: Any
    ) -> None:
        super().__init__(label=label, mime_type=MIME_TYPES[format], **kwargs)
        self.format = format
        """Encoding sent to the browser: MP3 (about a tenth of WAV) unless asked otherwise."""
        self.last_request: dict[str, Any] | None = None
        """The latest play/seek request sent to the browser (what a click asked for)."""
        if audio is not None:
            self.set_audio(audio)

    def set_audio(self, audio: Audio | None) -> None:
        """Load new audio (or none) and rewind."""
        with self.hold_sync():
            if audio is None:
                self.value = b""
                self.duration_s = 0.0
            else:
                self.value = audio.encode(self.format)
                self.duration_s = audio.duration_s
            self.current_time = 0.0

    def _request(self, message: dict[str, Any]) -> None:
        self.last_request = message
        self.send(message)

    def _clamp(self, time_s: float) -> float:
        if not math.isfinite(time_s):
            raise ValueError(f"time must be a finite number of seconds, got {time_s}")
        return min(max(0.0, float(time_s)), self.duration_s)

    def play_range(self, start_s: float, end_s: float | None = None) -> None:
        """Play from ``start_s`` to ``end_s`` (to the end when None), then stop."""
        start = self._clamp(start_s)
        end = None if end_s is None else self._clamp(end_s)
        if end is not None and end < start:
            start, end = end, start
        self._request({"type": "play_range", "start_s": start, "end_s": end})

    def seek(self, time_s: float) -> None:
        """Move the playback position without starting playback."""
        self._request({"type": "seek", "time_s": self._clamp(time_s)})

    def play(self) -> None:
        self._request({"type": "play"})

    def pause(self) -> None:
        self._request({"type": "pause"})
