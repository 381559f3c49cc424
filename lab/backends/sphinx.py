"""PocketSphinx: a classic HMM recogniser with an n-gram language model, bundled and offline.

A weak baseline beside the self-supervised CTC models, which is the point: the lab shows where a
classic system and a neural one differ. It gives a transcript and word segments with times and
posterior probabilities; no emissions and no attention.
"""

from __future__ import annotations

import math
import re
import threading
import time
from typing import Any

import numpy as np

from lab.audio import Audio
from lab.errors import BackendError
from lab.results import Recognition, Segment

SAMPLE_RATE = 16_000
_NOT_WORDS = {"<s>", "</s>", "<sil>", "<unk>"}
_ALTERNATE = re.compile(r"\(\d+\)$")


def _is_filler(word: str) -> bool:
    # noise dictionary entries look like [NOISE], [SPEECH] or ++UH++
    return word in _NOT_WORDS or word.startswith(("[", "+", "<"))


class PocketSphinxRecognizer:
    """PocketSphinx 5 with its US English model (16 kHz); lower-case words with times."""

    has_emissions = False
    has_attention = False
    untrained = False
    sample_rate = SAMPLE_RATE

    def __init__(self, *, name: str = "pocketsphinx", **decoder_options: Any) -> None:
        self.name = name
        self._decoder_options = decoder_options
        self._decoder: Any = None
        # a Decoder holds one utterance at a time
        self._lock = threading.Lock()
        self._loaded_decoder()  # load now, so the first recognition is timed on its own

    def _loaded_decoder(self) -> Any:
        if self._decoder is None:
            try:
                from pocketsphinx import Decoder
            except ImportError:
                raise BackendError(
                    "PocketSphinx is not installed: run `pip install pocketsphinx`."
                ) from None
            options = {"samprate": SAMPLE_RATE, "loglevel": "FATAL", **self._decoder_options}
            try:
                self._decoder = Decoder(**options)
            except (RuntimeError, ValueError) as exc:
                raise BackendError(f"PocketSphinx could not start: {exc}") from None
        return self._decoder

    def recognize(
        self,
        audio: Audio,
        *,
        output_attentions: bool = False,
        output_hidden_states: bool = False,
    ) -> Recognition:
        """Transcribe ``audio``; attentions and hidden states do not exist here and stay None."""
        started = time.perf_counter()
        if audio.is_silent:
            # the decoder invents a word for digital silence; silence has no words
            return Recognition(text="", model=self.name, elapsed_s=time.perf_counter() - started)
        heard = audio.resample(SAMPLE_RATE)
        pcm = (np.clip(heard.samples, -1.0, 1.0) * 32767.0).astype("<i2").tobytes()
        with self._lock:
            decoder = self._loaded_decoder()
            try:
                # feature state (cepstral mean, noise floor) carries over between utterances:
                # reset it so the same audio always gives the same words, whatever came before
                decoder.reinit_feat()
                decoder.start_utt()
                decoder.process_raw(pcm, full_utt=True)
                decoder.end_utt()
            except RuntimeError as exc:
                raise BackendError(f"PocketSphinx failed to decode the audio: {exc}") from None
            frame_rate = float(decoder.config["frate"])
            raw = [(s.word, s.start_frame, s.end_frame, s.prob) for s in decoder.seg()]
        words = []
        for word, start_frame, end_frame, prob in raw:
            if _is_filler(word):
                continue
            words.append(
                Segment(
                    text=_ALTERNATE.sub("", word),
                    start_s=min(start_frame / frame_rate, audio.duration_s),
                    end_s=min((end_frame + 1) / frame_rate, audio.duration_s),
                    score=_probability(prob),
                )
            )
        return Recognition(
            text=" ".join(w.text for w in words),
            model=self.name,
            words=tuple(words),
            untrained=False,
            elapsed_s=time.perf_counter() - started,
        )

    def __repr__(self) -> str:
        return "PocketSphinxRecognizer(en-US, 16 kHz)"


def _probability(value: float) -> float:
    # the posterior comes back through an integer log table and may overshoot 1 by rounding
    if not math.isfinite(value) or value < 0:
        return math.nan
    return min(float(value), 1.0)
