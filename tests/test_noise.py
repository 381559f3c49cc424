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


# --- degradations beyond white and pink noise ---------------------------------------------------------
from lab.noise import (  # noqa: E402
    DEGRADATIONS,
    NOISE_KINDS,
    apply_degradation,
    babble_noise,
    clip,
    lossy_codec,
    mp3_bytes,
    reverberate,
    room_impulse_response,
    telephone,
)


def _band_share_db(audio: Audio, low_hz: float, high_hz: float) -> float:
    power = np.abs(np.fft.rfft(audio.samples.astype(np.float64))) ** 2
    freqs = np.fft.rfftfreq(audio.samples.size, 1 / audio.sample_rate)
    return float(10 * np.log10(power[(freqs >= low_hz) & (freqs < high_hz)].sum() / power.sum()))


def test_the_round_trip_toggles_stay_white_and_pink():
    assert NOISE_KINDS == ("white", "pink")
    assert set(DEGRADATIONS) == {"babble", "reverb", "telephone", "codec", "clipping"}


@pytest.mark.parametrize("kind", DEGRADATIONS)
def test_each_degradation_keeps_length_and_rate_and_changes_the_audio(speechlike, kind):
    out = apply_degradation(speechlike, kind, seed=1)
    assert out.sample_rate == speechlike.sample_rate
    assert out.samples.size == speechlike.samples.size
    assert not np.allclose(out.samples, speechlike.samples, atol=1e-3)


def test_unknown_degradation_names_the_choices(speechlike):
    with pytest.raises(LabError, match="babble, reverb, telephone, codec, clipping"):
        apply_degradation(speechlike, "underwater")


def test_telephone_band_has_no_energy_above_3400_or_below_300_hz():
    wideband = Audio(np.random.default_rng(0).standard_normal(32_000) * 0.1, 16_000)
    phone = telephone(wideband)
    assert _band_share_db(wideband, 3_600, 8_000) > -3  # white noise: over half its power there
    assert _band_share_db(phone, 3_600, 8_000) < -35
    assert _band_share_db(phone, 4_200, 8_000) < -60
    assert _band_share_db(phone, 0, 200) < -40
    assert _band_share_db(phone, 300, 3_400) > -0.5
    assert phone.rms == pytest.approx(wideband.rms, rel=1e-3)


def test_telephone_mu_law_leaves_8_bit_quantisation_noise():
    # mu-law (G.711) keeps about 38 dB SNR: audible, not destructive
    tone = Audio(0.5 * np.sin(2 * np.pi * 1_000 * np.arange(16_000) / 16_000), 16_000)
    phone = telephone(tone)
    snr = measured_snr_db(tone, phone)
    assert 25 < snr < 45


def _schroeder_rt60(rir: np.ndarray, rate: int) -> float:
    """T20 from Schroeder backward integration (ISO 3382): the -5 to -25 dB slope times 3."""
    energy = np.cumsum(rir[::-1] ** 2)[::-1]
    decay_db = 10 * np.log10(energy / energy[0])
    t5, t25 = np.argmax(decay_db < -5), np.argmax(decay_db < -25)
    return float(3 * (t25 - t5) / rate)


@pytest.mark.parametrize("rt60", [0.3, 0.8, 1.5])
def test_room_impulse_response_decays_at_the_requested_rt60(rt60):
    assert _schroeder_rt60(room_impulse_response(rt60, 16_000, seed=2), 16_000) == pytest.approx(
        rt60, rel=0.05
    )


def test_reverberation_lengthens_the_decay_after_a_burst():
    rate = 16_000
    burst = np.zeros(rate, np.float32)
    burst[1_000:2_600] = np.sin(2 * np.pi * 500 * np.arange(1_600) / rate)
    dry = Audio(burst, rate)
    after = slice(2_600 + 800, 2_600 + 3_200)  # 50-200 ms after the burst ends

    def tail_db(audio: Audio) -> float:
        return float(10 * np.log10(np.mean(audio.samples[after] ** 2) + 1e-12))

    short, long = tail_db(reverberate(dry, 0.3, seed=0)), tail_db(reverberate(dry, 1.2, seed=0))
    assert tail_db(dry) < -100
    assert long > short + 6
    np.testing.assert_array_equal(
        reverberate(dry, 0.5, 3).samples, reverberate(dry, 0.5, 3).samples
    )
    assert not np.allclose(reverberate(dry, 0.5, 3).samples, reverberate(dry, 0.5, 4).samples)


@pytest.mark.parametrize("kbps", [16, 32, 64])
def test_mp3_lands_near_the_requested_bitrate(speechlike, kbps):
    measured = len(mp3_bytes(speechlike, kbps)) * 8 / speechlike.duration_s / 1000
    assert measured == pytest.approx(kbps, rel=0.15)


def test_lower_mp3_bitrates_lose_more_and_stay_lined_up(speechlike):
    errors = []
    for kbps in (8, 24, 64):
        coded = lossy_codec(speechlike, kbps)
        c = np.correlate(coded.samples[:4_000], speechlike.samples[:4_000], "full")
        assert int(np.argmax(c)) - 3_999 == 0  # no decoder delay left
        errors.append(measured_snr_db(speechlike, coded))
    assert errors == sorted(errors)


def test_clipping_limits_the_peak(speechlike):
    for level in (0.8, 0.3, 0.1):
        clipped = clip(speechlike, level)
        assert clipped.peak == pytest.approx(level * speechlike.peak, rel=1e-6)

    def at_limit(level: float) -> float:
        return float(np.mean(np.abs(clip(speechlike, level).samples) >= level * speechlike.peak))

    assert at_limit(0.1) > at_limit(0.3) > at_limit(0.8) > 0
    with pytest.raises(LabError, match=r"\(0, 1\]"):
        clip(speechlike, 1.5)


def test_babble_lands_at_the_snr_and_is_seeded(speechlike):
    noisy = add_noise(speechlike, 5, "babble", seed=7)
    assert measured_snr_db(speechlike, noisy) == pytest.approx(5, abs=0.05)
    np.testing.assert_array_equal(noisy.samples, add_noise(speechlike, 5, "babble", 7).samples)
    assert not np.allclose(noisy.samples, add_noise(speechlike, 5, "babble", 8).samples)


def test_babble_of_more_talkers_has_a_steadier_envelope():
    def envelope_spread(talkers: int) -> float:
        noise = babble_noise(48_000, 16_000, seed=0, talkers=talkers)
        frames = noise[: 48_000 // 320 * 320].reshape(-1, 320)
        level = np.sqrt(np.mean(frames**2, axis=1))
        return float(level.std() / level.mean())

    one, eight = envelope_spread(1), envelope_spread(8)
    assert one > 2 * eight  # one talker pauses between words; eight fill each other's gaps
    white = make_noise("white", 48_000, 0)[: 48_000 // 320 * 320].reshape(-1, 320)
    white_level = np.sqrt(np.mean(white**2, axis=1))
    assert eight > white_level.std() / white_level.mean()
