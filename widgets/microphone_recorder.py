"""A record button that captures the microphone in the browser and hands Python the clip.

The browser encodes 16-bit PCM WAV itself (see ``microphone_recorder.js`` for why not
MediaRecorder's WebM/Opus), sends it as binary ``recording`` bytes, and :meth:`audio` reads it with
:meth:`lab.Audio.load`.
"""

from __future__ import annotations

from pathlib import Path

import anywidget
import traitlets
from ipywidgets.widgets.trait_types import bytes_serialization

from lab.audio import Audio

MAX_RECORDING_S = 60.0
"""Longest recording: at 48 kHz a minute of 16-bit mono WAV is about 5.8 MB on the wire, well
inside the Jupyter server's websocket message limit (10 MiB)."""


class MicrophoneRecorder(anywidget.AnyWidget):
    """● Record / ■ Stop, a clock and a level meter; ``recording`` holds the last clip as WAV bytes.

    Observe ``recording`` (or call :meth:`audio`) to use the clip. Recording needs a secure page
    (https or localhost); when the browser refuses, ``error`` says so in one sentence.
    """

    _esm = Path(__file__).with_name("microphone_recorder.js")

    recording = traitlets.Bytes(b"").tag(sync=True, **bytes_serialization)
    """The last recording as a 16-bit mono WAV file (empty until something is recorded)."""
    state = traitlets.Unicode("idle").tag(sync=True)
    """'idle', 'recording' or 'encoding' (set by the browser)."""
    error = traitlets.Unicode("").tag(sync=True)
    """One sentence from the browser when recording failed; empty otherwise."""
    max_seconds = traitlets.Float(MAX_RECORDING_S).tag(sync=True)
    """Recording stops by itself after this many seconds."""
    disabled = traitlets.Bool(False).tag(sync=True)

    @traitlets.validate("max_seconds")
    def _check_max_seconds(self, proposal: traitlets.Bunch) -> float:
        value = float(proposal["value"])
        if not 0 < value <= 10 * 60:
            raise traitlets.TraitError("max_seconds must be between 0 and 600.")
        return value

    def audio(self) -> Audio | None:
        """The last recording as :class:`lab.Audio` (None before the first one).

        Raises :class:`lab.InvalidAudioError` when the bytes are not readable audio.
        """
        if not self.recording:
            return None
        return Audio.load(self.recording)
