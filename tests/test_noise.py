from __future__ import annotations

import numpy as np
import pytest

from lab import Audio, InvalidAudioError, LabError, add_noise, degrade, speed_perturb
from lab.noise import make_noise, measured_snr_db


@pytest.fixture
def speechlike():
    rng = np.random.default_rng(1)
    t = np.arange(32_000) / 16_000
    envelope = 0.5 + 0.5 * np.sin(2 * np.pi * 3 * t)
    return Audio(
        (0.3 * envelope * np.sin(2 * np.pi * 220 * t) + 0.01 * rng.standard_normal(t.size)).astype(
            np.float32
        ),
        16_000,
    )


@pytest.mark.parametrize("kind", ["white", "pink"])
@pytest.mark.parametrize("snr", [-5.0, 0.0, 10.0, 30.0])
def test_noise_lands_at_the_requested_snr(speechlike, kind, snr):
    noisy = add_noise(speechlike, snr, kind, seed=3)
    assert measured_snr_db(speechlike, noisy) == pytest.approx(snr, abs=0.05)


def test_same_seed_same_noise_other_seed_other_noise(speechlike):
    a = add_noise(speechlike, 5, seed=1)
    b = add_noise(speechlike, 5, seed=1)
    c = add_noise(speechlike, 5, seed=2)
    np.testing.assert_array_equal(a.samples, b.samples)
    assert not np.allclose(a.samples, c.samples)


def test_pink_noise_has_more_low_than_high_frequency_power():
    noise = make_noise("pink", 2**16, seed=0)
    spectrum = np.abs(np.fft.rfft(noise)) ** 2
    n = spectrum.size
    assert spectrum[1 : n // 8].mean() > 10 * spectrum[n // 2 :].mean()
    white = np.abs(np.fft.rfft(make_noise("white", 2**16, seed=0))) ** 2
    assert white[1 : n // 8].mean() == pytest.approx(white[n // 2 :].mean(), rel=0.2)


def test_silent_audio_cannot_take_an_snr():
    with pytest.raises(InvalidAudioError, match="silent"):
        add_noise(Audio(np.zeros(1600, np.float32), 16_000), 10)


def test_unknown_noise_kind_names_the_choices(speechlike):
    with pytest.raises(LabError, match="white, pink"):
        add_noise(speechlike, 10, "brown")


def test_speed_perturbation_changes_duration(speechlike):
    faster = speed_perturb(speechlike, 1.25)
    assert faster.duration_s == pytest.approx(speechlike.duration_s / 1.25, rel=1e-3)
    assert speed_perturb(speechlike, 1.0) is speechlike
    with pytest.raises(LabError, match="0.5-2.0"):
        speed_perturb(speechlike, 4.0)


def test_degrade_without_noise_returns_the_same_audio(speechlike):
    assert degrade(speechlike) is speechlike
