"""Bring your own audio: upload a file or record the microphone; observers get a lab.Audio.

Uploads stay in memory: the bytes go straight to :meth:`lab.Audio.load` and nothing is written
to disk, least of all under the name a visitor's browser supplied.
"""

from __future__ import annotations

import ipywidgets as w
import traitlets

from lab.audio import MAX_FILE_BYTES, Audio
from lab.errors import InvalidAudioError, LabError
from widgets._common import StatusLine
from widgets.microphone_recorder import MicrophoneRecorder

ACCEPTED = ".wav,.flac,.ogg,.oga,.opus,.mp3,audio/wav,audio/x-wav,audio/flac,audio/ogg,audio/mpeg"
"""What the file dialog offers: the formats libsndfile reads."""
DEFAULT_MAX_SECONDS = 5 * 60.0

# Containers browsers and phones often produce that libsndfile cannot open; named so the message
# says what to convert from.
_UNSUPPORTED_SIGNATURES: tuple[tuple[int, bytes, str], ...] = (
    (0, b"\x1a\x45\xdf\xa3", "WebM/Matroska"),
    (4, b"ftyp", "MP4/M4A (AAC)"),
    (0, b"#!AMR", "AMR"),
    (0, b"\x30\x26\xb2\x75", "WMA"),
)


def _display_name(name: str) -> str:
    """The file's base name, cut short, for messages (never used as a path)."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1].strip() or "the file"
    return base if len(base) <= 60 else base[:57] + "…"


def _size(n_bytes: int) -> str:
    return f"{n_bytes / 1e6:.1f} MB" if n_bytes >= 1e6 else f"{n_bytes / 1e3:.0f} kB"


def read_upload(content: bytes, name: str, max_bytes: int = MAX_FILE_BYTES) -> Audio:
    """Decode uploaded bytes into :class:`lab.Audio`, or raise InvalidAudioError in one sentence."""
    shown = _display_name(name)
    if not content:
        raise InvalidAudioError(f"{shown} is empty (0 bytes): choose another file.")
    if len(content) > max_bytes:
        raise InvalidAudioError(
            f"{shown} is {_size(len(content))}; the limit is {_size(max_bytes)}: "
            "upload a shorter or compressed clip."
        )
    for offset, signature, kind in _UNSUPPORTED_SIGNATURES:
        if content[offset : offset + len(signature)] == signature:
            raise InvalidAudioError(
                f"{shown} is {kind} audio, which cannot be read here: convert it to WAV, FLAC, "
                "OGG or MP3."
            )
    try:
        return Audio.load(content)
    except InvalidAudioError as exc:
        if str(exc).startswith("Could not read"):
            raise InvalidAudioError(
                f"{shown} is not readable audio (corrupt, or not WAV, FLAC, OGG or MP3): "
                "choose another file."
            ) from None
        raise InvalidAudioError(str(exc).replace("the uploaded audio", shown)) from None


class AudioInput(w.VBox):
    """An upload button and a record button; ``value`` is the last good clip (a lab.Audio).

    ``observe(callback, names="value")`` to use each new clip. ``source`` says where it came from
    ("upload: name.wav" or "microphone"); ``message`` holds the last one-sentence status.
    """

    value = traitlets.Instance(Audio, allow_none=True)
    """The chosen clip; None until a file or recording arrives."""
    source = traitlets.Unicode("")
    message = traitlets.Unicode("")

    def __init__(
        self,
        *,
        microphone: bool = True,
        max_bytes: int = MAX_FILE_BYTES,
        max_seconds: float = DEFAULT_MAX_SECONDS,
        **kwargs: object,
    ) -> None:
        self.max_bytes = min(int(max_bytes), MAX_FILE_BYTES)
        self.max_seconds = float(max_seconds)
        self.upload = w.FileUpload(
            accept=ACCEPTED,
            multiple=False,
            description="Upload audio",
            icon="upload",
            layout=w.Layout(width="auto"),
        )
        self.recorder: MicrophoneRecorder | None = (
            MicrophoneRecorder(max_seconds=min(self.max_seconds, 600.0)) if microphone else None
        )
        self.status = StatusLine(layout=w.Layout(min_height="1.6em"))
        row: list[w.Widget] = [self.upload]
        if self.recorder is not None:
            row.append(self.recorder)
        super().__init__(
            [w.HBox(row, layout=w.Layout(align_items="center")), self.status], **kwargs
        )
        self.add_class("speechlab-audio-input")
        self.upload.observe(self._on_upload, names="value")
        if self.recorder is not None:
            self.recorder.observe(self._on_recording, names="recording")
            self.recorder.observe(self._on_recorder_error, names="error")

    # --- sources ---------------------------------------------------------------------------
    def _on_upload(self, change: dict) -> None:
        files = change["new"]
        if not files:
            return
        item = files[0]
        name = str(item.get("name", ""))
        content = bytes(item.get("content", b""))
        # release the upload widget's copy (and let the same file be chosen again)
        self.upload.value = ()
        try:
            audio = read_upload(content, name, self.max_bytes)
        except LabError as exc:
            self._fail(str(exc))
            return
        self._accept(audio, f"upload: {_display_name(name)}", _display_name(name))

    def _on_recording(self, change: dict) -> None:
        if not change["new"]:
            return
        try:
            audio = Audio.load(change["new"])
        except LabError as exc:
            self._fail(f"The recording could not be read: {exc}")
            return
        self._accept(audio, "microphone", "the recording")

    def _on_recorder_error(self, change: dict) -> None:
        if change["new"]:
            self._fail(change["new"])

    def _accept(self, audio: Audio, source: str, label: str) -> None:
        if audio.duration_s > self.max_seconds:
            self._fail(
                f"The clip lasts {audio.duration_s:.0f} s; this view takes up to "
                f"{self.max_seconds:.0f} s: cut it shorter."
            )
            return
        if audio.is_silent:
            note = "; it is silent, so recognisers will hear nothing"
        elif audio.is_clipped:
            note = f"; {audio.clipped_fraction:.1%} of it is clipped"
        else:
            note = ""
        self._say(f"Using {label}: {audio.duration_s:.1f} s at {audio.sample_rate} Hz{note}.")
        with self.hold_trait_notifications():
            self.source = source
            self.value = audio

    def _fail(self, sentence: str) -> None:
        self.message = sentence
        self.status.error(sentence)

    def _say(self, sentence: str) -> None:
        self.message = sentence
        self.status.ok(sentence)

    # --- programmatic use ------------------------------------------------------------------
    def set_audio(self, audio: Audio, source: str = "code") -> None:
        """Offer a clip from code (a notebook cell), as if uploaded."""
        self._accept(audio, source, "the clip from code")

    @property
    def disabled(self) -> bool:
        return bool(self.upload.disabled)

    @disabled.setter
    def disabled(self, value: bool) -> None:
        self.upload.disabled = value
        if self.recorder is not None:
            self.recorder.disabled = value
