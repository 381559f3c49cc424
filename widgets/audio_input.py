"""Bring your own audio: upload a file or record the microphone; observers get a lab.Audio.

Uploads stay in memory: the bytes go straight to :meth:`lab.Audio.load` and nothing is written
to disk, least of all under the name a visitor's browser supplied. A file over the size limit is
refused by the browser before it is sent (:class:`widgets.upload_button.UploadButton`).

Limits of a view (a served dashboard uses the defaults): at most :data:`DEFAULT_MAX_BYTES`
(50 MB) per file and :data:`DEFAULT_MAX_SECONDS` (5 minutes) of audio, at least
:data:`MIN_SECONDS`. The length is read from the file's header before anything is decoded, so an
hour-long file costs no more than its bytes.
"""

from __future__ import annotations

import io
import struct

import ipywidgets as w
import traitlets

from lab.audio import MAX_FILE_BYTES, Audio
from lab.errors import InvalidAudioError, LabError
from widgets._common import StatusLine
from widgets.microphone_recorder import MicrophoneRecorder
from widgets.upload_button import UploadButton

ACCEPTED = ".wav,.flac,.ogg,.oga,.opus,.mp3,audio/wav,audio/x-wav,audio/flac,audio/ogg,audio/mpeg"
"""What the file dialog offers: the formats libsndfile reads."""
DEFAULT_MAX_SECONDS = 5 * 60.0
DEFAULT_MAX_BYTES = 50_000_000
"""Largest upload a view takes by default: about 5 minutes of 44.1 kHz stereo WAV."""
MIN_SECONDS = 0.1
"""Shorter clips hold no word a recogniser could hear."""
SPEECH_RATE = 16_000
"""The rate the recognisers listen at: lower rates lose detail, higher ones are resampled."""

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


def _too_large(shown: str, n_bytes: int, max_bytes: int) -> str:
    return (
        f"{shown} is {_size(n_bytes)}; the limit is {_size(max_bytes)}: "
        "upload a shorter or compressed clip."
    )


def read_upload(
    content: bytes, name: str, max_bytes: int = MAX_FILE_BYTES, max_seconds: float | None = None
) -> Audio:
    """Decode uploaded bytes into :class:`lab.Audio`, or raise InvalidAudioError in one sentence.

    ``max_seconds`` is checked against the file's header before decoding."""
    shown = _display_name(name)
    if not content:
        raise InvalidAudioError(f"{shown} is empty (0 bytes): choose another file.")
    if len(content) > max_bytes:
        raise InvalidAudioError(_too_large(shown, len(content), max_bytes))
    for offset, signature, kind in _UNSUPPORTED_SIGNATURES:
        if content[offset : offset + len(signature)] == signature:
            raise InvalidAudioError(
                f"{shown} is {kind} audio, which cannot be read here: convert it to WAV, FLAC, "
                "OGG or MP3."
            )
    header = _header(content)
    if header is not None:
        frames, rate = header
        if max_seconds is not None and frames > max_seconds * rate:
            raise InvalidAudioError(
                f"The clip lasts {_duration(frames / rate)}; this view takes up to "
                f"{_duration(max_seconds)}: cut it shorter."
            )
    missing = _wav_shortfall(content)
    if missing is not None:
        raise InvalidAudioError(
            f"{shown} is truncated: its header announces {missing[1]:.2f} s but only "
            f"{missing[0]:.2f} s arrived; upload the whole file."
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


def _duration(seconds: float) -> str:
    if seconds >= 90:
        return f"{seconds / 60:.0f} minutes"
    return f"{seconds:.0f} s" if seconds >= 10 else f"{seconds:.2g} s"


def _header(content: bytes) -> tuple[int, int] | None:
    """(frames, sample rate) as the file's header states them; None when it cannot be read."""
    import soundfile as sf

    try:
        info = sf.info(io.BytesIO(content))
    except Exception:  # unreadable: Audio.load says so in its own sentence
        return None
    return int(info.frames), int(info.samplerate)


def _wav_shortfall(content: bytes) -> tuple[float, float] | None:
    """(seconds present, seconds announced) of a WAV whose data chunk was cut off, else None."""
    if content[:4] != b"RIFF" or content[8:12] != b"WAVE":
        return None
    position, block, rate = 12, 0, 0
    while position + 8 <= len(content):
        chunk, size = (
            content[position : position + 4],
            struct.unpack_from("<I", content, position + 4)[0],
        )
        body = position + 8
        if chunk == b"fmt " and size >= 16 and body + 16 <= len(content):
            _fmt, _channels, rate, _rate_bytes, block = struct.unpack_from("<HHIIH", content, body)
        if chunk == b"data":
            present = len(content) - body
            # 0 and 0xFFFFFFFF mean "length unknown" (a stream), not "empty"
            if block and rate and 0 < size < 0xFFFFFFFF and present + block <= size:
                return present / block / rate, size / block / rate
            return None
        position = body + size + (size & 1)
    return None


def _channels(content: bytes) -> int:
    import soundfile as sf

    try:
        return int(sf.info(io.BytesIO(content)).channels)
    except Exception:
        return 1


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
        max_bytes: int = DEFAULT_MAX_BYTES,
        max_seconds: float = DEFAULT_MAX_SECONDS,
        **kwargs: object,
    ) -> None:
        self.max_seconds = float(max_seconds)
        self.upload = UploadButton(accept=ACCEPTED, description="Upload audio")
        self.max_bytes = max_bytes
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
        self.upload.on_file(self._on_upload)
        if self.recorder is not None:
            self.recorder.observe(self._on_recording, names="recording")
            self.recorder.observe(self._on_recorder_error, names="error")

    # --- sources ---------------------------------------------------------------------------
    def _on_upload(self, name: str, content: bytes | None, size: int) -> None:
        shown = _display_name(name)
        if content is None:  # stayed in the browser
            if size > self.max_bytes:
                self._fail(_too_large(shown, size, self.max_bytes))
            else:
                self._fail(f"The browser could not read {shown}: choose another file.")
            return
        try:
            audio = read_upload(content, name, self.max_bytes, self.max_seconds)
        except LabError as exc:
            self._fail(str(exc))
            return
        channels = _channels(content)
        note = f", {channels} channels mixed to mono" if channels > 1 else ""
        self._accept(audio, f"upload: {_display_name(name)}", _display_name(name), note)

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

    def _accept(self, audio: Audio, source: str, label: str, note: str = "") -> None:
        if audio.duration_s > self.max_seconds:
            self._fail(
                f"The clip lasts {_duration(audio.duration_s)}; this view takes up to "
                f"{_duration(self.max_seconds)}: cut it shorter."
            )
            return
        if audio.duration_s < MIN_SECONDS:
            self._fail(
                f"{label[:1].upper() + label[1:] if label.startswith('the ') else label} lasts "
                f"only {audio.duration_s * 1000:.0f} ms; "
                f"a clip needs at least {MIN_SECONDS:g} s of audio: choose a longer one."
            )
            return
        if audio.is_silent:
            note += "; it is silent, so recognisers will hear nothing"
        elif audio.is_clipped:
            note += f"; {audio.clipped_fraction:.1%} of it is clipped"
        if audio.sample_rate < SPEECH_RATE:
            note += (
                f"; {audio.sample_rate / 1000:g} kHz is below the {SPEECH_RATE // 1000} kHz the "
                "recognisers listen at, so they hear less detail"
            )
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
    def max_bytes(self) -> int:
        """Largest file taken; the browser refuses larger ones before sending them."""
        return int(self.upload.max_bytes)

    @max_bytes.setter
    def max_bytes(self, value: int) -> None:
        self.upload.max_bytes = min(int(value), MAX_FILE_BYTES)

    @property
    def disabled(self) -> bool:
        return bool(self.upload.disabled)

    @disabled.setter
    def disabled(self, value: bool) -> None:
        self.upload.disabled = value
        if self.recorder is not None:
            self.recorder.disabled = value
