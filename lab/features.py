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
    """Log-mel power spectrogram (torchaudio ``MelSpectrogram``, HTK mel scale) in dB."""
    import torch
    import torchaudio

    win, hop, n_fft = _frame_sizes(audio, win_s, hop_s)
    f_max = audio.sample_rate / 2 if f_max is None else min(f_max, audio.sample_rate / 2)
    transform = torchaudio.transforms.MelSpectrogram(
        sample_rate=audio.sample_rate,
        n_fft=n_fft,
        win_length=win,
        hop_length=hop,
        f_min=f_min,
        f_max=f_max,
        n_mels=n_mels,
        power=2.0,
        center=True,
    )
    with torch.inference_mode():
        power = transform(torch.from_numpy(audio.samples.copy())).numpy()  # (mels, frames)
    edges = _mel_to_hz(np.linspace(_hz_to_mel(f_min), _hz_to_mel(f_max), n_mels + 2))
    return Spectrogram(
        values=_to_db(power.T, top_db),
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
    """Short-time Fourier power spectrogram (torchaudio ``Spectrogram``) in dB, 0 Hz to Nyquist."""
    import torch
    import torchaudio

    win, hop, n_fft = _frame_sizes(audio, win_s, hop_s)
    transform = torchaudio.transforms.Spectrogram(
        n_fft=n_fft, win_length=win, hop_length=hop, power=2.0, center=True
    )
    with torch.inference_mode():
        power = transform(torch.from_numpy(audio.samples.copy())).numpy()  # (bins, frames)
    return Spectrogram(
        values=_to_db(power.T, top_db),
        frame_s=hop / audio.sample_rate,
        frequencies_hz=np.linspace(0.0, audio.sample_rate / 2, power.shape[0]),
        scale="linear",
    )


def spectrogram(audio: Audio, scale: str = "mel", **kwargs: float) -> Spectrogram:
    """``log_mel_spectrogram`` for scale 'mel', ``linear_spectrogram`` for 'linear'."""
    if scale == "mel":
        return log_mel_spectrogram(audio, **kwargs)  # type: ignore[arg-type]
    if scale == "linear":
        return linear_spectrogram(audio, **kwargs)
    raise ValueError(f"Unknown spectrogram scale {scale!r}: choose 'mel' or 'linear'.")
