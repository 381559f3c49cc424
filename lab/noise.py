"""Degradations for robustness studies, each seeded where it draws anything at random: white, pink
or babble noise at a signal-to-noise ratio; reverberation at a chosen RT60; a telephone channel
(300-3400 Hz, 8 kHz, 8-bit mu-law); an MP3 codec at a chosen bitrate; clipping; speed perturbation.

Every degradation keeps the clip's length and rate, so the copies of one sentence still line up
(for STOI against the clean clip, and for recognising them in one batch).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

import numpy as np

from lab.audio import Audio
from lab.errors import InvalidAudioError, LabError

NoiseKind = Literal["white", "pink"]
NOISE_KINDS: tuple[str, ...] = ("white", "pink")
SNR_NOISES: tuple[str, ...] = (*NOISE_KINDS, "babble")
"""Noises added at a signal-to-noise ratio (``add_noise``, sweeps)."""
DEGRADATIONS: tuple[str, ...] = ("babble", "reverb", "telephone", "codec", "clipping")
"""Degradations beyond white and pink noise (:func:`apply_degradation`), each with its own level:
babble SNR in dB, reverb RT60 in seconds, codec bitrate in kbit/s, clipping level as a fraction of
the peak; the telephone channel takes no level."""
DEFAULT_LEVELS: dict[str, float | None] = {
    "babble": 5.0,
    "reverb": 0.6,
    "telephone": None,
    "codec": 16.0,
    "clipping": 0.2,
}
BABBLE_SENTENCES: tuple[str, ...] = (
    "The small pup gnawed a hole in the sock.",
    "The fish twisted and turned on the bent hook.",
    "Press the pants and sew a button on the vest.",
    "The swan dive was far short of perfect.",
    "The beauty of the view stunned the young boy.",
    "Two blue fish swam in the tank.",
    "Her purse was full of useless trash.",
    "The colt reared and threw the tall rider.",
    "It snowed, rained, and hailed the same morning.",
    "Read verse out loud for pleasure.",
)
"""What the babble talkers say: Harvard sentences the lab's examples do not use."""


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
    if kind == "babble":
        noise = babble_noise(audio.samples.size, audio.sample_rate, seed)
    elif kind in NOISE_KINDS:
        noise = make_noise(kind, audio.samples.size, seed)
    else:
        raise LabError(f"Unknown noise kind {kind!r}: choose one of {', '.join(SNR_NOISES)}.")
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


# --- babble -----------------------------------------------------------------------------------------
def babble_noise(n_samples: int, sample_rate: int, seed: int, talkers: int = 6) -> np.ndarray:
    """Unit-RMS babble: ``talkers`` streams of the bundled Piper voice reading
    :data:`BABBLE_SENTENCES` in a seeded order from a seeded starting point, each at the same
    level, summed. The sentences are synthesised once per process and rate."""
    if talkers < 1:
        raise LabError("Babble needs at least one talker.")
    sentences = _babble_sentences(sample_rate)
    rng = np.random.default_rng(seed)
    mix = np.zeros(n_samples, dtype=np.float64)
    for _ in range(talkers):
        order = rng.permutation(len(sentences))
        stream = np.concatenate([sentences[i] for i in order])
        repeats = -(-(n_samples + stream.size) // stream.size)
        start = int(rng.integers(stream.size))
        talker = np.tile(stream, repeats)[start : start + n_samples]
        mix += talker / np.sqrt(np.mean(talker**2))
    rms = np.sqrt(np.mean(mix**2))
    return (mix / rms).astype(np.float32)


@lru_cache(maxsize=4)
def _babble_sentences(sample_rate: int) -> tuple[np.ndarray, ...]:
    from lab.roundtrip import synthesize

    out = []
    for text in BABBLE_SENTENCES:
        audio = synthesize(text, "piper").audio.resample(sample_rate)
        out.append(audio.samples.astype(np.float64))
    return tuple(out)


# --- reverberation ------------------------------------------------------------------------------------
def room_impulse_response(
    rt60_s: float, sample_rate: int, seed: int = 0, drr_db: float = 0.0
) -> np.ndarray:
    """A synthetic room: a direct-path impulse, then a diffuse tail of seeded Gaussian noise whose
    energy falls by 60 dB every ``rt60_s`` seconds (Polack's model). ``drr_db`` is the
    direct-to-reverberant energy ratio."""
    if not 0.05 <= rt60_s <= 5.0:
        raise LabError(f"RT60 {rt60_s} s is outside 0.05-5 s.")
    n = int(round(1.2 * rt60_s * sample_rate))
    t = np.arange(n) / sample_rate
    # energy decays as exp(-2 * decay * t): 60 dB after rt60 gives decay = 3 ln 10 / rt60
    decay = 3 * np.log(10) / rt60_s
    tail = np.random.default_rng(seed).standard_normal(n) * np.exp(-decay * t)
    tail[0] = 0.0
    tail *= np.sqrt(10 ** (-drr_db / 10) / np.sum(tail**2))
    tail[0] = 1.0
    return tail


def reverberate(audio: Audio, rt60_s: float, seed: int = 0, drr_db: float = 0.0) -> Audio:
    """The clip as heard in a room with reverberation time ``rt60_s``: convolved with
    :func:`room_impulse_response`, cut to its own length and brought back to its own RMS."""
    from scipy.signal import fftconvolve

    rir = room_impulse_response(rt60_s, audio.sample_rate, seed, drr_db)
    wet = fftconvolve(audio.samples.astype(np.float64), rir)[: audio.samples.size]
    return Audio(_same_rms(wet, audio), audio.sample_rate)


def _same_rms(samples: np.ndarray, like: Audio) -> np.ndarray:
    rms = np.sqrt(np.mean(samples**2))
    return (samples * (like.rms / rms) if rms > 0 else samples).astype(np.float32)


# --- telephone ----------------------------------------------------------------------------------------
TELEPHONE_BAND_HZ = (300.0, 3400.0)
TELEPHONE_RATE = 8_000


def telephone(audio: Audio) -> Audio:
    """A narrow-band telephone channel: band-pass 300-3400 Hz, 8 kHz sampling, 8-bit mu-law (G.711)
    and band-pass again at the receiving end; returned at the clip's own rate and RMS. Zero-phase
    filters, so the result lines up with the original."""
    import torch
    import torchaudio.functional as F
    from scipy.signal import butter, sosfiltfilt

    if audio.sample_rate <= 2 * TELEPHONE_BAND_HZ[1]:
        raise LabError(f"A {audio.sample_rate} Hz clip cannot carry the 300-3400 Hz band.")
    narrow = audio.resample(TELEPHONE_RATE).samples.astype(np.float64)
    band = butter(8, TELEPHONE_BAND_HZ, btype="bandpass", fs=TELEPHONE_RATE, output="sos")
    narrow = sosfiltfilt(band, narrow)
    peak = np.abs(narrow).max()
    scale = 0.9 / peak if peak > 0 else 1.0  # the line's level: use mu-law's range, no overload
    with torch.inference_mode():
        x = torch.from_numpy(np.clip(narrow * scale, -1, 1))
        coded = F.mu_law_decoding(F.mu_law_encoding(x, 256), 256).numpy()
    back = Audio((coded / scale).astype(np.float32), TELEPHONE_RATE).resample(audio.sample_rate)
    samples = back.samples[: audio.samples.size].astype(np.float64)
    samples = np.pad(samples, (0, audio.samples.size - samples.size))
    # the receiving end's band-pass, at the output rate: it also removes the resampler's images
    receive = butter(8, TELEPHONE_BAND_HZ, btype="bandpass", fs=audio.sample_rate, output="sos")
    return Audio(_same_rms(sosfiltfilt(receive, samples), audio), audio.sample_rate)


# --- lossy codec --------------------------------------------------------------------------------------
_MP3_RATES = (8_000, 11_025, 12_000, 16_000, 22_050, 24_000, 32_000, 44_100, 48_000)


def mp3_bytes(audio: Audio, bitrate_kbps: float) -> bytes:
    """The clip as a constant-bitrate MP3 (LAME through libsndfile, as ``soundfile`` writes it).

    libsndfile takes a compression level from 0 to 1 that it maps onto the bitrates the clip's
    MPEG version allows (8-160 kbit/s at 16-24 kHz, 32-320 at 32-48 kHz, 8-64 below); the
    encoder then picks the nearest standard bitrate."""
    import io

    import soundfile as sf

    if audio.sample_rate not in _MP3_RATES:
        audio = audio.resample(16_000)
    rate = audio.sample_rate
    low, high = (32, 320) if rate >= 32_000 else (8, 160) if rate >= 16_000 else (8, 64)
    if not low <= bitrate_kbps <= high:
        raise LabError(f"MP3 at {rate} Hz takes {low}-{high} kbit/s, not {bitrate_kbps}.")
    # level 1.0 itself is refused by libsndfile
    level = min((high - bitrate_kbps) / (high - low), 0.999)
    buffer = io.BytesIO()
    samples = np.clip(audio.samples, -1, 1)
    sf.write(buffer, samples, rate, format="MP3", subtype="MPEG_LAYER_III",
             compression_level=level, bitrate_mode="CONSTANT")  # fmt: skip
    return buffer.getvalue()


def lossy_codec(audio: Audio, bitrate_kbps: float) -> Audio:
    """The clip through an MP3 encoder and decoder at ``bitrate_kbps``, lined up with the original
    (the decoder's delay removed by cross-correlation), at the clip's own rate and length."""
    decoded = Audio.load(mp3_bytes(audio, bitrate_kbps)).resample(audio.sample_rate)
    lag = _lag(decoded.samples, audio.samples, max_lag=audio.sample_rate // 5)
    samples = decoded.samples[lag:] if lag >= 0 else np.pad(decoded.samples, (-lag, 0))
    samples = samples[: audio.samples.size]
    samples = np.pad(samples, (0, audio.samples.size - samples.size))
    return Audio(samples, audio.sample_rate)


def _lag(delayed: np.ndarray, original: np.ndarray, max_lag: int) -> int:
    """How many samples ``delayed`` runs behind ``original`` (within +-max_lag)."""
    from scipy.signal import correlate

    n = min(delayed.size, original.size)
    c = correlate(delayed[:n].astype(np.float64), original[:n].astype(np.float64), "full",
                  method="fft")  # fmt: skip
    lags = np.arange(-n + 1, n)
    window = np.abs(lags) <= max_lag
    return int(lags[window][np.argmax(c[window])])


# --- clipping -----------------------------------------------------------------------------------------
def clip(audio: Audio, level: float) -> Audio:
    """Hard clipping at ``level`` times the clip's peak (0 < level <= 1), as an overdriven
    recorder does; the level is not restored, so louder clipping is also quieter."""
    if not 0 < level <= 1:
        raise LabError(f"Clipping level {level} must be in (0, 1]: a fraction of the peak.")
    limit = np.float32(level * audio.peak)
    return Audio(np.clip(audio.samples, -limit, limit), audio.sample_rate)


def apply_degradation(audio: Audio, kind: str, level: float | None = None, seed: int = 0) -> Audio:
    """One of :data:`DEGRADATIONS` at ``level`` (None: :data:`DEFAULT_LEVELS`)."""
    if kind not in DEGRADATIONS:
        raise LabError(f"Unknown degradation {kind!r}: choose one of {', '.join(DEGRADATIONS)}.")
    value = DEFAULT_LEVELS[kind] if level is None else level
    if kind == "babble":
        return add_noise(audio, float(value or 0.0), "babble", seed)
    if kind == "reverb":
        return reverberate(audio, float(value or 0.0), seed)
    if kind == "telephone":
        return telephone(audio)
    if kind == "codec":
        return lossy_codec(audio, float(value or 0.0))
    return clip(audio, float(value or 0.0))
