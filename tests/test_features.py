from __future__ import annotations

import numpy as np
import pytest

from lab import Audio
from lab.features import linear_spectrogram, log_mel_spectrogram, spectrogram


def tone_after_silence(sample_rate: int, seconds: float, onset_s: float, hz: float) -> Audio:
    t = np.arange(int(seconds * sample_rate)) / sample_rate
    rng = np.random.default_rng(0)
    samples = 0.5 * np.sin(2 * np.pi * hz * t) * (t >= onset_s) + 1e-4 * rng.standard_normal(t.size)
    return Audio(samples, sample_rate)


def test_log_mel_is_frames_by_bins_with_frame_times():
    audio = tone_after_silence(16000, 1.37, onset_s=0.5, hz=1000.0)
    spec = log_mel_spectrogram(audio, n_mels=64, hop_s=0.01)
    assert spec.values.shape == (138, 64)  # 1.37 s at 10 ms, centred frames; 64 mel bins
    assert spec.frame_s == pytest.approx(0.01)
    assert spec.times_s[-1] == pytest.approx(1.37, abs=0.01)
    assert spec.frequencies_hz.shape == (64,)
    assert np.all(np.diff(spec.frequencies_hz) > 0)


def test_tone_shows_at_its_frequency_and_time():
    audio = tone_after_silence(22050, 1.2, onset_s=0.6, hz=2000.0)
    spec = log_mel_spectrogram(audio)
    loud_frame = int(0.9 / spec.frame_s)
    quiet_frame = int(0.3 / spec.frame_s)
    peak_hz = spec.frequencies_hz[spec.values[loud_frame].argmax()]
    assert abs(peak_hz - 2000.0) < 150
    assert spec.values[loud_frame].max() - spec.values[quiet_frame].max() > 40


def test_dynamic_range_is_limited_to_top_db():
    audio = tone_after_silence(16000, 1.0, onset_s=0.5, hz=500.0)
    spec = log_mel_spectrogram(audio, top_db=60.0)
    assert spec.peak_db - spec.floor_db == pytest.approx(60.0, abs=1e-3)


def test_linear_spectrogram_bins_run_to_nyquist():
    audio = tone_after_silence(16000, 0.8, onset_s=0.0, hz=3000.0)
    spec = linear_spectrogram(audio)
    assert spec.frequencies_hz[-1] == pytest.approx(8000.0)
    assert abs(spec.frequencies_hz[spec.values[40].argmax()] - 3000.0) < 40
    assert spectrogram(audio, "linear").values.shape == spec.values.shape
    with pytest.raises(ValueError):
        spectrogram(audio, "bark")


@pytest.mark.parametrize("rate", [16_000, 22_050])
def test_numpy_spectrograms_match_torchaudio(rate):
    """Dashboard kernels draw spectrograms without torch: the numpy STFT and mel filters must
    give torchaudio's picture."""
    import torch
    import torchaudio

    rng = np.random.default_rng(3)
    audio = Audio(rng.standard_normal(rate // 3).astype(np.float32) * 0.1, rate)
    win, hop = round(0.025 * rate), round(0.010 * rate)
    n_fft = 1 << (win - 1).bit_length()
    with torch.inference_mode():
        samples = torch.from_numpy(audio.samples.copy())
        mel = (
            torchaudio.transforms.MelSpectrogram(
                sample_rate=rate,
                n_fft=n_fft,
                win_length=win,
                hop_length=hop,
                n_mels=80,
                f_min=0.0,
                f_max=rate / 2,
                power=2.0,
                center=True,
            )(samples)
            .numpy()
            .T
        )
        lin = (
            torchaudio.transforms.Spectrogram(
                n_fft=n_fft, win_length=win, hop_length=hop, power=2.0, center=True
            )(samples)
            .numpy()
            .T
        )
    ours_mel = log_mel_spectrogram(audio, top_db=200)
    ours_lin = linear_spectrogram(audio, top_db=200)
    assert ours_mel.values.shape == mel.shape
    assert ours_lin.values.shape == lin.shape
    np.testing.assert_allclose(ours_mel.values, 10 * np.log10(np.maximum(mel, 1e-10)), atol=0.05)
    np.testing.assert_allclose(ours_lin.values, 10 * np.log10(np.maximum(lin, 1e-10)), atol=0.05)
