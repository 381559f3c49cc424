"""Mono audio with its sample rate, validated where it is made.

Limits (documented, checked on every :class:`Audio`):

* at most :data:`MAX_SECONDS` (30 minutes) of audio, and at most :data:`MAX_FILE_BYTES`
  (200 MB) for an encoded file, so one upload cannot fill a server's memory;
* sample rates from :data:`MIN_SAMPLE_RATE` to :data:`MAX_SAMPLE_RATE` Hz;
* samples finite (no NaN or inf); at least one sample.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np

from lab.errors import InvalidAudioError

MAX_SECONDS = 30 * 60
MAX_FILE_BYTES = 200 * 1024 * 1024
MIN_SAMPLE_RATE = 1_000
MAX_SAMPLE_RATE = 384_000
CLIP_LEVEL = 0.999
"""A sample at or above this magnitude counts as clipped."""
ENCODINGS: dict[str, tuple[str, str]] = {
    "wav": ("WAV", "PCM_16"),
    "flac": ("FLAC", "PCM_16"),
    "mp3": ("MP3", "MPEG_LAYER_III"),
    "ogg": ("OGG", "VORBIS"),
}
"""Formats :meth:`Audio.encode` writes: name -> (soundfile format, subtype)."""
MP3_RATES = (8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000)
"""The only sample rates MPEG audio can hold; other rates are resampled before encoding."""
MIME_TYPES = {"wav": "audio/wav", "flac": "audio/flac", "mp3": "audio/mpeg", "ogg": "audio/ogg"}
SILENCE_RMS = 1e-4
"""Below this RMS (about -80 dBFS) audio counts as silent."""


@dataclass(frozen=True, eq=False)
class Audio:
    """Float32 mono samples in [-1, 1] (not enforced: noisy audio may exceed it) and a rate in Hz."""

    samples: np.ndarray
    sample_rate: int

    def __post_init__(self) -> None:
        samples = np.asarray(self.samples)
        if samples.ndim == 2:
            # (frames, channels) as soundfile reads it, or (channels, frames) as torchaudio does
            channel_axis = 1 if samples.shape[1] <= samples.shape[0] else 0
            samples = samples.mean(axis=channel_axis)
        if samples.ndim != 1:
            raise InvalidAudioError(
                f"Audio must be mono or (frames, channels), got an array of shape {samples.shape}."
            )
        if not np.issubdtype(samples.dtype, np.number):
            raise InvalidAudioError(f"Audio samples must be numbers, got dtype {samples.dtype}.")
        if np.issubdtype(samples.dtype, np.integer):
            samples = samples.astype(np.float32) / float(np.iinfo(samples.dtype).max)
        samples = np.ascontiguousarray(samples, dtype=np.float32)
        rate: float | int = self.sample_rate
        if isinstance(rate, float) and rate.is_integer():
            rate = int(rate)
        if (
            not isinstance(rate, (int, np.integer))
            or not MIN_SAMPLE_RATE <= rate <= MAX_SAMPLE_RATE
        ):
            raise InvalidAudioError(
                f"Sample rate {self.sample_rate!r} is outside {MIN_SAMPLE_RATE}-{MAX_SAMPLE_RATE} Hz."
            )
        if samples.size == 0:
            raise InvalidAudioError(
                "The audio is empty (0 samples): record or upload a longer clip."
            )
        if samples.size > MAX_SECONDS * rate:
            raise InvalidAudioError(
                f"The audio lasts {samples.size / rate / 60:.1f} minutes; the limit is "
                f"{MAX_SECONDS // 60} minutes: cut it into shorter clips."
            )
        if not np.isfinite(samples).all():
            raise InvalidAudioError("The audio contains NaN or infinite samples.")
        samples.setflags(write=False)
        object.__setattr__(self, "samples", samples)
        object.__setattr__(self, "sample_rate", int(rate))

    # --- reading and writing -------------------------------------------------------------
    @classmethod
    def load(cls, source: str | Path | bytes | bytearray | memoryview | BinaryIO) -> Audio:
        """Read WAV, FLAC, OGG or MP3 from a path, bytes or a binary file object; mix to mono."""
        import soundfile as sf

        if isinstance(source, (bytes, bytearray, memoryview)):
            data = bytes(source)
            if not data:
                raise InvalidAudioError("The audio file is empty (0 bytes).")
            if len(data) > MAX_FILE_BYTES:
                raise InvalidAudioError(_too_large(len(data)))
            handle: str | BinaryIO = io.BytesIO(data)
            label = "the uploaded audio"
        elif isinstance(source, (str, Path)):
            path = Path(source)
            if not path.is_file():
                raise InvalidAudioError(f"No audio file at {path}.")
            size = path.stat().st_size
            if size == 0:
                raise InvalidAudioError(f"{path.name} is empty (0 bytes).")
            if size > MAX_FILE_BYTES:
                raise InvalidAudioError(_too_large(size))
            handle = str(path)
            label = path.name
        else:
            handle = source
            label = "the audio stream"
        try:
            with sf.SoundFile(handle) as f:
                if f.frames > MAX_SECONDS * f.samplerate:
                    raise InvalidAudioError(
                        f"{label} lasts {f.frames / f.samplerate / 60:.1f} minutes; the limit is "
                        f"{MAX_SECONDS // 60} minutes: cut it into shorter clips."
                    )
                samples = f.read(dtype="float32", always_2d=True)
                rate = f.samplerate
        except InvalidAudioError:
            raise
        except (sf.LibsndfileError, RuntimeError, TypeError, ValueError):
            # libsndfile's own message names a Python object or a server path: say it plainly
            raise InvalidAudioError(
                f"Could not read {label} as audio (WAV, FLAC, OGG or MP3): it is corrupt, "
                "truncated or in another format."
            ) from None
        if samples.shape[0] == 0:
            raise InvalidAudioError(f"{label} holds no samples (0 seconds).")
        return cls(samples.mean(axis=1), rate)

    def to_wav_bytes(self) -> bytes:
        """16-bit PCM WAV, what browsers and audio widgets play everywhere."""
        return self.encode("wav")

    def encode(self, format: str = "wav") -> bytes:
        """The audio as a file in memory: "wav" (16-bit PCM), "flac", "mp3" or "ogg" (Vorbis).

        MP3 is about a tenth of the WAV's size and plays in every browser: players send it.
        """
        import soundfile as sf

        try:
            container, subtype = ENCODINGS[format]
        except KeyError:
            raise InvalidAudioError(
                f"Unknown audio format {format!r}: choose one of {', '.join(ENCODINGS)}."
            ) from None
        audio = self
        if container == "MP3" and self.sample_rate not in MP3_RATES:
            # e.g. a 96 kHz upload: the nearest rate MP3 holds that keeps what is audible
            audio = self.resample(max([r for r in MP3_RATES if r <= self.sample_rate] or [8000]))
        buffer = io.BytesIO()
        sf.write(
            buffer,
            np.clip(audio.samples, -1.0, 1.0),
            audio.sample_rate,
            format=container,
            subtype=subtype,
        )
        return buffer.getvalue()

    def save(self, path: str | Path) -> Path:
        path = Path(path)
        path.write_bytes(self.to_wav_bytes())
        return path

    # --- measurements -------------------------------------------------------------------
    @property
    def duration_s(self) -> float:
        return self.samples.size / self.sample_rate

    @property
    def peak(self) -> float:
        return float(np.abs(self.samples).max())

    @property
    def rms(self) -> float:
        return float(np.sqrt(np.mean(np.square(self.samples, dtype=np.float64))))

    @property
    def clipped_fraction(self) -> float:
        """Share of samples at full scale: above about 0.1 % the waveform is audibly clipped."""
        return float(np.mean(np.abs(self.samples) >= CLIP_LEVEL))

    @property
    def is_clipped(self) -> bool:
        return self.clipped_fraction > 1e-3

    @property
    def is_silent(self) -> bool:
        return self.rms < SILENCE_RMS

    # --- transforms ---------------------------------------------------------------------
    def resample(self, sample_rate: int) -> Audio:
        """Band-limited resampling with torchaudio; returns self when the rate already matches."""
        if sample_rate == self.sample_rate:
            return self
        import torch
        import torchaudio.functional as F

        with torch.inference_mode():
            out = F.resample(torch.from_numpy(self.samples.copy()), self.sample_rate, sample_rate)
        return Audio(out.numpy(), sample_rate)

    def slice(self, start_s: float, end_s: float) -> Audio:
        """The part between two times in seconds (clamped to the clip)."""
        start = max(0, int(round(start_s * self.sample_rate)))
        end = min(self.samples.size, int(round(end_s * self.sample_rate)))
        if end <= start:
            raise InvalidAudioError(f"Nothing between {start_s:.2f} s and {end_s:.2f} s.")
        return Audio(self.samples[start:end], self.sample_rate)

    def normalized(self, peak: float = 0.95) -> Audio:
        current = self.peak
        if current == 0:
            return self
        return Audio(self.samples * (peak / current), self.sample_rate)

    def __repr__(self) -> str:
        return f"Audio({self.duration_s:.2f} s, {self.sample_rate} Hz, peak {self.peak:.2f})"


def _too_large(size: int) -> str:
    return (
        f"The audio file is {size / 1e6:.0f} MB; the limit is {MAX_FILE_BYTES / 1e6:.0f} MB: "
        "upload a shorter or compressed clip."
    )
