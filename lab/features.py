"""Time-frequency pictures of audio: log-mel and linear spectrograms in decibels.

Frames are rows: ``values`` is (frames, bins), frame ``i`` is centred at ``i * frame_s`` seconds
(torchaudio's ``center=True`` framing), so a word segment's times index the rows directly.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lab.audio import Audio

DEFAULT_TOP_DB = 80.0
"""Dynamic range kept below the loudest bin; quieter bins are raised to that floor."""


@dataclass(frozen=True, eq=False)
class Spectrogram:
    values: np.ndarray
    """(frames, bins) power in dB (10·log10 of power, samples in [-1, 1]), float32."""
    frame_s: float
    """Seconds between frames (the hop)."""
    frequencies_hz: np.ndarray
    """(bins,) centre frequency of each bin in Hz."""
    scale: str
    """'mel' or 'linear'."""

    @property
    def n_frames(self) -> int:
        return int(self.values.shape[0])

    @property
    def n_bins(self) -> int:
        return int(self.values.shape[1])

    @property
    def times_s(self) -> np.ndarray:
        """(frames,) centre time of each frame in seconds."""
        return np.arange(self.n_frames, dtype=np.float64) * self.frame_s

    @property
    def floor_db(self) -> float:
        return float(self.values.min())

    @property
    def peak_db(self) -> float:
        return float(self.values.max())


def _hz_to_mel(hz: np.ndarray | float) -> np.ndarray:
    return 2595.0 * np.log10(1.0 + np.asarray(hz, dtype=np.float64) / 700.0)


def _mel_to_hz(mel: np.ndarray) -> np.ndarray:
    return 700.0 * (10.0 ** (mel / 2595.0) - 1.0)


def _to_db(power: np.ndarray, top_db: float) -> np.ndarray:
    db = 10.0 * np.log10(np.maximum(power, 1e-10))
    return np.maximum(db, db.max() - top_db).astype(np.float32)


def _frame_sizes(audio: Audio, win_s: float, hop_s: float) -> tuple[int, int, int]:
    if win_s <= 0 or hop_s <= 0:
        raise ValueError("win_s and hop_s must be positive")
    win = max(2, int(round(win_s * audio.sample_rate)))
    hop = max(1, int(round(hop_s * audio.sample_rate)))
    n_fft = 1 << (win - 1).bit_length()
    return win, hop, n_fft


def _power_frames(audio: Audio, win: int, hop: int, n_fft: int) -> np.ndarray:
    """(frames, n_fft // 2 + 1) power of a Hann-windowed STFT with centred, reflect-padded frames:
    what ``torchaudio.transforms.Spectrogram(power=2.0, center=True)`` computes (the tests hold
    the two together), in numpy, so that thin dashboard kernels never import torch."""
    samples = audio.samples.astype(np.float64)
    pad = n_fft // 2
    if samples.size > pad:
        padded = np.pad(samples, pad, mode="reflect")
    else:
        padded = np.pad(samples, pad, mode="constant")
    if padded.size < n_fft:
        padded = np.pad(padded, (0, n_fft - padded.size))
    n_frames = 1 + (padded.size - n_fft) // hop
    window = np.zeros(n_fft)
    offset = (n_fft - win) // 2
    window[offset : offset + win] = np.hanning(win + 1)[:-1]  # periodic Hann, like torch's
    frames = np.lib.stride_tricks.as_strided(
        padded,
        shape=(n_frames, n_fft),
        strides=(padded.strides[0] * hop, padded.strides[0]),
        writeable=False,
    )
    spectrum = np.fft.rfft(frames * window, axis=1)
    return (spectrum.real**2 + spectrum.imag**2).astype(np.float64)


def _mel_filterbank(
    n_freqs: int, f_min: float, f_max: float, n_mels: int, sample_rate: int
) -> np.ndarray:
    """(n_freqs, n_mels) triangular HTK-mel filters without area normalisation (torchaudio's
    ``melscale_fbanks`` defaults)."""
    all_freqs = np.linspace(0.0, sample_rate // 2, n_freqs)
    f_pts = _mel_to_hz(np.linspace(_hz_to_mel(f_min), _hz_to_mel(f_max), n_mels + 2))
    f_diff = np.diff(f_pts)
    slopes = f_pts[None, :] - all_freqs[:, None]
    down = -slopes[:, :-2] / f_diff[:-1]
    up = slopes[:, 2:] / f_diff[1:]
    return np.maximum(0.0, np.minimum(down, up))


def log_mel_spectrogram(
    audio: Audio,
    *,
    n_mels: int = 80,
    win_s: float = 0.025,
    hop_s: float = 0.010,
    f_min: float = 0.0,
    f_max: float | None = None,
    top_db: float = DEFAULT_TOP_DB,
) -> Spectrogram:
    """Log-mel power spectrogram (as torchaudio's ``MelSpectrogram``, HTK mel scale) in dB."""
    win, hop, n_fft = _frame_sizes(audio, win_s, hop_s)
    f_max = audio.sample_rate / 2 if f_max is None else min(f_max, audio.sample_rate / 2)
    power = _power_frames(audio, win, hop, n_fft)
    mel = power @ _mel_filterbank(power.shape[1], f_min, f_max, n_mels, audio.sample_rate)
    edges = _mel_to_hz(np.linspace(_hz_to_mel(f_min), _hz_to_mel(f_max), n_mels + 2))
    return Spectrogram(
        values=_to_db(mel, top_db),
        frame_s=hop / audio.sample_rate,
        frequencies_hz=edges[1:-1],
        scale="mel",
    )


def linear_spectrogram(
    audio: Audio,
    *,
    win_s: float = 0.025,
    hop_s: float = 0.010,
    top_db: float = DEFAULT_TOP_DB,
) -> Spectrogram:
    """Short-time Fourier power spectrogram (as torchaudio's ``Spectrogram``) in dB, 0 Hz to
    Nyquist."""
    win, hop, n_fft = _frame_sizes(audio, win_s, hop_s)
    power = _power_frames(audio, win, hop, n_fft)
    return Spectrogram(
        values=_to_db(power, top_db),
        frame_s=hop / audio.sample_rate,
        frequencies_hz=np.linspace(0.0, audio.sample_rate / 2, power.shape[1]),
        scale="linear",
    )


def spectrogram(audio: Audio, scale: str = "mel", **kwargs: float) -> Spectrogram:
    """``log_mel_spectrogram`` for scale 'mel', ``linear_spectrogram`` for 'linear'."""
    if scale == "mel":
        return log_mel_spectrogram(audio, **kwargs)  # type: ignore[arg-type]
    if scale == "linear":
        return linear_spectrogram(audio, **kwargs)
    raise ValueError(f"Unknown spectrogram scale {scale!r}: choose 'mel' or 'linear'.")
