"""Degradations for robustness studies: white or pink noise at a signal-to-noise ratio, seeded,
and speed perturbation."""

from __future__ import annotations

from typing import Literal

import numpy as np

from lab.audio import Audio
from lab.errors import InvalidAudioError, LabError

NoiseKind = Literal["white", "pink"]
NOISE_KINDS: tuple[str, ...] = ("white", "pink")


def make_noise(kind: str, n_samples: int, seed: int) -> np.ndarray:
    """Unit-RMS noise of the given colour; the same seed gives the same samples."""
    rng = np.random.default_rng(seed)
    white = rng.standard_normal(n_samples)
    if kind == "white":
        noise = white
    elif kind == "pink":
        # 1/f power: scale each frequency bin's amplitude by 1/sqrt(f)
        spectrum = np.fft.rfft(white)
        freqs = np.arange(spectrum.size, dtype=np.float64)
        freqs[0] = 1.0
        noise = np.fft.irfft(spectrum / np.sqrt(freqs), n=n_samples)
    else:
        raise LabError(f"Unknown noise kind {kind!r}: choose one of {', '.join(NOISE_KINDS)}.")
    rms = np.sqrt(np.mean(noise**2))
    return (noise / rms if rms > 0 else noise).astype(np.float32)


def add_noise(audio: Audio, snr_db: float, kind: str = "white", seed: int = 0) -> Audio:
    """Audio plus noise scaled so that signal power / noise power = ``snr_db`` decibels.

    Signal power is measured over the whole clip. The result is not clipped, so an SNR below 0 dB
    keeps its meaning.
    """
    if not np.isfinite(snr_db):
        raise LabError(f"SNR must be a finite number of decibels, got {snr_db}.")
    if audio.is_silent:
        raise InvalidAudioError("The audio is silent, so no signal-to-noise ratio can be set.")
    noise = make_noise(kind, audio.samples.size, seed)
    signal_rms = audio.rms
    noise_rms = signal_rms / (10 ** (snr_db / 20))
    return Audio(audio.samples + noise * np.float32(noise_rms), audio.sample_rate)


def measured_snr_db(clean: Audio, noisy: Audio) -> float:
    """SNR of ``noisy`` against ``clean`` in dB (for checking a degradation)."""
    residual = noisy.samples.astype(np.float64) - clean.samples
    return float(
        10 * np.log10(np.mean(clean.samples.astype(np.float64) ** 2) / np.mean(residual**2))
    )


def speed_perturb(audio: Audio, factor: float) -> Audio:
    """Play ``factor`` times faster (pitch moves with it, as in Kaldi-style speed perturbation)."""
    if not 0.5 <= factor <= 2.0:
        raise LabError(f"Speed factor {factor} is outside 0.5-2.0.")
    if factor == 1.0:
        return audio
    import torch
    import torchaudio.functional as F

    source_rate = int(round(audio.sample_rate * factor))
    with torch.inference_mode():
        out = F.resample(torch.from_numpy(audio.samples.copy()), source_rate, audio.sample_rate)
    return Audio(out.numpy(), audio.sample_rate)
