"""Objective quality, offline: intelligibility against a clean signal (STOI/ESTOI, ``pystoi``),
a non-intrusive MOS estimate (DNSMOS, the ONNX models ``speechmos`` ships), speaker similarity
(``resemblyzer``'s encoder, optional) and the perplexity of a text under the 3-gram English
language model PocketSphinx ships.

Each wraps the field's own package thinly; :func:`quality_card` gathers them for one clip.
"""

from __future__ import annotations

import math
import re
import threading
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

from lab.audio import Audio
from lab.errors import InvalidAudioError, InvalidTextError, LabError, ModelUnavailableError

STOI_RATE = 10_000
"""pystoi works at 10 kHz (it resamples whatever it is given)."""
DNSMOS_RATE = 16_000
DNSMOS_WINDOW_S = 9.01
"""DNSMOS scores 9.01 s windows; a shorter clip is repeated until it fills one."""


# --- intelligibility against the clean signal ---------------------------------------------------
def stoi(clean: Audio, degraded: Audio, *, extended: bool = False) -> float:
    """Short-Time Objective Intelligibility of ``degraded`` against ``clean`` (Taal et al. 2011;
    ``extended=True``: ESTOI, Jensen & Taal 2016). About 1 for the clean signal itself, falling
    towards 0 as the speech gets harder to understand.

    Both clips must have the same rate; ``degraded`` is resampled to ``clean``'s rate if not, and
    trimmed or zero-padded to its length (a codec or a room may add a few samples).
    """
    from pystoi import stoi as _stoi

    if clean.is_silent:
        raise InvalidAudioError("The clean clip is silent: STOI needs speech to compare against.")
    degraded = _match(degraded, clean)
    return float(_stoi(clean.samples, degraded.samples, clean.sample_rate, extended=extended))


def _match(audio: Audio, like: Audio) -> Audio:
    audio = audio.resample(like.sample_rate)
    n = like.samples.size
    samples = audio.samples[:n]
    if samples.size < n:
        samples = np.pad(samples, (0, n - samples.size))
    return Audio(samples, like.sample_rate)


# --- DNSMOS ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Dnsmos:
    """DNSMOS P.835 (signal, background, overall) and P.808 estimates, each on a 1-5 MOS scale."""

    overall: float
    """OVRL: overall quality."""
    signal: float
    """SIG: distortion of the speech itself."""
    background: float
    """BAK: intrusiveness of the background (noise scores low)."""
    p808: float
    """The P.808 ACR model's MOS."""


_dnsmos_lock = threading.Lock()


def dnsmos(audio: Audio) -> Dnsmos:
    """Microsoft's DNSMOS (Reddy et al. 2022) with the models ``speechmos`` ships, run locally.

    The audio is resampled to 16 kHz and, when its peak exceeds 1 (noisy copies are not clipped),
    scaled down to fit: DNSMOS refuses samples outside [-1, 1]. Clips shorter than 9.01 s are
    repeated to fill the model's window, as ``speechmos`` does.
    """
    try:
        from speechmos import dnsmos as _dnsmos
    except ImportError as exc:  # speechmos imports librosa and onnxruntime without declaring them
        raise ModelUnavailableError(f"DNSMOS needs speechmos and its imports: {exc}") from None
    if audio.is_silent:
        raise InvalidAudioError("The clip is silent: DNSMOS needs speech to rate.")
    samples = audio.resample(DNSMOS_RATE).samples.astype(np.float64)
    peak = float(np.abs(samples).max())
    if peak > 1.0:
        samples = samples / peak
    with _dnsmos_lock:  # speechmos keeps its ONNX sessions in a module global
        out = _dnsmos.run(samples, DNSMOS_RATE)
    return Dnsmos(
        overall=float(out["ovrl_mos"]),
        signal=float(out["sig_mos"]),
        background=float(out["bak_mos"]),
        p808=float(out["p808_mos"]),
    )


# --- speaker similarity ---------------------------------------------------------------------------
def speaker_similarity(a: Audio, b: Audio) -> float:
    """Cosine similarity of ``resemblyzer`` speaker embeddings (GE2E, Wan et al. 2018): about
    0.9 for two sentences of one voice, lower for other voices or a voice pitched up or down.

    resemblyzer is optional: it ships its encoder, but it depends on ``webrtcvad``, whose module
    imports ``pkg_resources`` (gone from setuptools 81); install ``resemblyzer`` and then
    ``webrtcvad-wheels``, which ships the same module without that import.
    """
    encoder = _voice_encoder()
    from resemblyzer import preprocess_wav

    embeddings = []
    for audio in (a, b):
        if audio.is_silent:
            raise InvalidAudioError("A silent clip has no voice to compare.")
        wav = preprocess_wav(audio.resample(16_000).samples.astype(np.float32), 16_000)
        embeddings.append(encoder.embed_utterance(wav))
    return float(np.dot(embeddings[0], embeddings[1]))


@lru_cache(maxsize=1)
def _voice_encoder() -> Any:
    try:
        from resemblyzer import VoiceEncoder
    except ImportError as exc:
        raise ModelUnavailableError(
            f"Speaker similarity needs resemblyzer ({exc}): pip install resemblyzer, then "
            "pip install webrtcvad-wheels."
        ) from None
    return VoiceEncoder("cpu", verbose=False)


# --- n-gram perplexity ----------------------------------------------------------------------------
@dataclass(frozen=True)
class NGramScore:
    """A text scored word by word under an n-gram language model (SRILM's ``ppl`` convention:
    the end of the sentence counts as a word, out-of-vocabulary words are left out and listed)."""

    words: tuple[str, ...]
    """The scored words in order, ``</s>`` last (OOV words included, with log-prob None)."""
    log10_probs: tuple[float | None, ...]
    """log10 P(word | up to two words before it); None for a word the model does not know."""

    @property
    def oov(self) -> tuple[str, ...]:
        return tuple(w for w, p in zip(self.words, self.log10_probs, strict=True) if p is None)

    @property
    def log10_prob(self) -> float:
        return float(sum(p for p in self.log10_probs if p is not None))

    @property
    def perplexity(self) -> float:
        """10 ** (-log10 P / counted words); NaN when no word was in the vocabulary."""
        counted = sum(p is not None for p in self.log10_probs)
        return float(10 ** (-self.log10_prob / counted)) if counted else math.nan


_WORD = re.compile(r"[a-z0-9]+(?:'[a-z0-9]+)*")


def lm_words(text: str) -> list[str]:
    """Lower case, numbers spelled out, punctuation dropped but apostrophes inside words kept:
    the language model's vocabulary spells "don't" with its apostrophe."""
    import unicodedata

    from lab.text import spell_numbers

    text = spell_numbers(unicodedata.normalize("NFKC", text)).lower().replace("’", "'")
    return _WORD.findall(text.replace("-", " "))


def ngram_score(text: str, model: str | None = None) -> NGramScore:
    """Score ``text`` as one sentence (``<s>`` before it, ``</s>`` after) under an n-gram model:
    PocketSphinx's bundled US-English 3-gram by default, or an ARPA/binary LM file.

    An OOV word ends the history: the word after it is scored as if the sentence started there
    without ``<s>``, i.e. on its lower-order n-grams.
    """
    words = lm_words(text)
    if not words:
        raise InvalidTextError("Perplexity needs at least one word.")
    lm, log_to_log10 = _ngram_model(model)
    order = 3
    history: list[str] = ["<s>"]
    probs: list[float | None] = []
    for word in [*words, "</s>"]:
        # pocketsphinx takes the word first, then its history from the most recent word back
        raw = lm.prob([word, *reversed(history[-(order - 1) :])])
        if raw <= _LOG_ZERO_LIMIT:
            probs.append(None)
            history = []
            continue
        probs.append(log_to_log10(raw))
        history.append(word)
    return NGramScore(tuple([*words, "</s>"]), tuple(probs))


def ngram_perplexity(text: str, model: str | None = None) -> float:
    """Perplexity of ``text`` under the n-gram model (see :func:`ngram_score`)."""
    return ngram_score(text, model).perplexity


_LOG_ZERO_LIMIT = -(2**28)
"""pocketsphinx answers about -2**29 (its log zero) for a word outside the vocabulary."""
_ngram_lock = threading.Lock()


def bundled_lm_path() -> str:
    """The 3-gram US-English model PocketSphinx ships (``en-us.lm.bin``)."""
    import os

    from pocketsphinx import get_model_path

    return os.path.join(get_model_path(), "en-us", "en-us.lm.bin")


def _ngram_model(model: str | None) -> tuple[Any, Any]:
    # loaded once per process and model file: score() calls this for every row of a sweep
    with _ngram_lock:
        return _load_ngram(model or bundled_lm_path())


@lru_cache(maxsize=4)
def _load_ngram(path: str) -> tuple[Any, Any]:
    import os

    from pocketsphinx import Config, LogMath, NGramModel

    if not os.path.isfile(path):
        raise ModelUnavailableError(f"No n-gram language model at {path}.")
    logmath = LogMath()
    try:
        lm = NGramModel(Config(loglevel="FATAL"), logmath, path)
    except (RuntimeError, ValueError) as exc:
        raise ModelUnavailableError(f"Could not read the language model {path}: {exc}") from None
    return lm, logmath.log_to_log10


# --- one card per clip -------------------------------------------------------------------------------
@dataclass(frozen=True)
class QualityCard:
    """Objective scores of one clip; the intrusive ones (against a clean reference) are None
    when no reference was given."""

    dnsmos: Dnsmos | None
    stoi: float | None = None
    estoi: float | None = None
    speaker_similarity: float | None = None
    notes: tuple[str, ...] = ()
    """Why a score is missing, when one is."""


def quality_card(
    audio: Audio,
    clean: Audio | None = None,
    *,
    with_dnsmos: bool = True,
    with_speaker: bool = False,
) -> QualityCard:
    """DNSMOS of ``audio``; with a ``clean`` reference also STOI, ESTOI and (``with_speaker``)
    the speaker similarity between the two. A score that cannot be had is None, with a note."""
    notes: list[str] = []
    mos = None
    if with_dnsmos:
        try:
            mos = dnsmos(audio)
        except LabError as exc:
            notes.append(f"DNSMOS skipped: {exc}")
    intelligibility = extended = similarity = None
    if clean is not None:
        intelligibility = stoi(clean, audio)
        extended = stoi(clean, audio, extended=True)
        if with_speaker:
            try:
                similarity = speaker_similarity(clean, audio)
            except LabError as exc:
                notes.append(f"Speaker similarity skipped: {exc}")
    return QualityCard(mos, intelligibility, extended, similarity, tuple(notes))
