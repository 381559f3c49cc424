from __future__ import annotations

import io

import numpy as np
import pytest
import soundfile as sf

from lab import Audio, InvalidAudioError, LabError
from lab import audio as audio_module


def tone(
    seconds: float = 0.5, rate: int = 16_000, freq: float = 440.0, amp: float = 0.5
) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return (amp * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def wav_bytes(
    samples: np.ndarray, rate: int, fmt: str = "WAV", subtype: str | None = None
) -> bytes:
    buffer = io.BytesIO()
    sf.write(buffer, samples, rate, format=fmt, subtype=subtype)
    return buffer.getvalue()


def test_stereo_44k_file_is_mixed_to_mono_and_keeps_its_length():
    left, right = tone(1.0, 44_100, 440), tone(1.0, 44_100, 660)
    audio = Audio.load(wav_bytes(np.stack([left, right], axis=1), 44_100))
    assert audio.sample_rate == 44_100
    assert audio.samples.shape == (44_100,)
    np.testing.assert_allclose(audio.samples, (left + right) / 2, atol=1e-4)


def test_resample_to_16k_keeps_duration_and_pitch():
    audio = Audio(tone(1.0, 44_100, 440), 44_100).resample(16_000)
    assert audio.sample_rate == 16_000
    assert abs(audio.duration_s - 1.0) < 1e-3
    spectrum = np.abs(np.fft.rfft(audio.samples))
    assert abs(np.argmax(spectrum) * 16_000 / audio.samples.size - 440) < 2


@pytest.mark.parametrize("fmt", ["WAV", "FLAC", "OGG", "MP3"])
def test_common_formats_load(fmt):
    data = wav_bytes(tone(1.0), 16_000, fmt)
    audio = Audio.load(data)
    assert abs(audio.duration_s - 1.0) < 0.1
    assert 0.3 < audio.peak < 0.7


def test_wav_round_trip_through_file(tmp_path):
    audio = Audio(tone(), 16_000)
    loaded = Audio.load(audio.save(tmp_path / "a.wav"))
    np.testing.assert_allclose(loaded.samples, audio.samples, atol=1 / 32_000)


def test_truncated_wav_is_a_clear_error():
    data = wav_bytes(tone(1.0), 16_000)
    with pytest.raises(InvalidAudioError, match="Could not read"):
        Audio.load(data[:30])


def test_not_audio_is_a_clear_error():
    with pytest.raises(InvalidAudioError, match="WAV, FLAC, OGG or MP3"):
        Audio.load(b"%PDF-1.4 this is not audio at all" * 10)


@pytest.mark.parametrize(
    "samples, match",
    [
        (np.zeros(0, np.float32), "empty"),
        (np.array([0.1, np.nan], np.float32), "NaN"),
        (np.array([0.1, np.inf], np.float32), "NaN or infinite"),
        (np.zeros((2, 3, 4), np.float32), "shape"),
    ],
)
def test_invalid_samples(samples, match):
    with pytest.raises(InvalidAudioError, match=match):
        Audio(samples, 16_000)


def test_odd_sample_rate_is_refused_with_limits_in_message():
    with pytest.raises(InvalidAudioError, match="1000-384000 Hz"):
        Audio(tone(), 50)


def test_too_long_audio_is_refused(monkeypatch):
    monkeypatch.setattr(audio_module, "MAX_SECONDS", 1)
    with pytest.raises(InvalidAudioError, match="limit is 0 minutes|limit"):
        Audio(tone(2.0), 16_000)
    with pytest.raises(InvalidAudioError, match="limit"):
        Audio.load(wav_bytes(tone(2.0), 16_000))


def test_oversized_file_is_refused_before_decoding(monkeypatch):
    monkeypatch.setattr(audio_module, "MAX_FILE_BYTES", 1000)
    with pytest.raises(InvalidAudioError, match="limit is"):
        Audio.load(wav_bytes(tone(1.0), 16_000))


def test_silence_and_clipping_are_measured():
    silent = Audio(np.zeros(16_000, np.float32), 16_000)
    assert silent.is_silent and not silent.is_clipped
    clipped = Audio(np.clip(tone(1.0, amp=3.0), -1, 1), 16_000)
    assert clipped.is_clipped and clipped.clipped_fraction > 0.3
    assert not Audio(tone(), 16_000).is_clipped


def test_integer_pcm_is_scaled_to_unit_range():
    audio = Audio(np.array([0, 16384, -32767], np.int16), 16_000)
    np.testing.assert_allclose(audio.samples, [0, 0.5, -1.0], atol=1e-4)


def test_samples_are_read_only_so_results_cannot_be_changed_under_a_view():
    audio = Audio(tone(), 16_000)
    with pytest.raises(ValueError):
        audio.samples[0] = 1.0


def test_all_audio_errors_are_lab_errors():
    assert issubclass(InvalidAudioError, LabError)
