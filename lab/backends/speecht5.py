"""SpeechT5 text-to-speech with HiFi-GAN, keeping the mel, cross-attention and stop scores.

Each sentence goes through ``SpeechT5ForTextToSpeech.generate_speech`` itself, so the mel is the
one transformers makes; the HiFi-GAN vocoder turns it into 16 kHz audio and the sentences are
stitched with a short pause. Long text is split so no sentence exceeds the text encoder's
``max_text_positions``.

Stop scores: ``generate_speech`` does not return them, so a forward hook on the decoder's
``prob_out`` layer records what that loop computes at every step: the sigmoid of each of the
step's ``reduction_factor`` frames, summed, which is exactly what it compares with ``threshold``.
It is reported clipped to 1 as the step's stop probability (the decision is the same for any
threshold up to 1).

Seeded: SpeechT5's decoder pre-net applies dropout even in evaluation (Tacotron-style), so the
same text can come out differently on every call. Each sentence runs with the torch random state
seeded from ``seed`` (inside ``torch.random.fork_rng``, leaving the caller's state alone), so a
(model, voice, text, seed) always gives the same audio, and a cached result is the result.
"""

from __future__ import annotations

import threading
import time
from math import prod
from pathlib import Path
from typing import Any

import numpy as np

from lab.audio import Audio
from lab.errors import BackendError, InvalidTextError
from lab.results import SentenceSynthesis, Synthesis
from lab.text import check_text, prepare_for_speech, split_sentences
from lab.tiny import LENGTH_RATIO_KEY, UNTRAINED_MARKER
from lab.voices import Voice, available_voices, get_voice

PAUSE_S = 0.2
"""Silence between stitched sentences (rounded to whole mel frames)."""
TEXT_MARGIN = 0.9
"""Share of ``max_text_positions`` a sentence may fill, leaving room for tokenizer surprises."""


class SpeechT5Synthesizer:
    """SpeechT5 acoustic model + HiFi-GAN vocoder, speaking with a speaker x-vector."""

    sample_rate = 16_000
    has_attention = True
    has_mel = True

    def __init__(
        self,
        model: Any,
        processor: Any,
        vocoder: Any,
        name: str,
        *,
        voice_source: str | Path | Voice | None = None,
        threshold: float = 0.5,
        minlenratio: float = 0.0,
        maxlenratio: float = 20.0,
        seed: int = 0,
        device: str = "cpu",
    ) -> None:
        self.model = model.to(device).eval()
        self.processor = processor
        self.tokenizer = processor.tokenizer
        self.vocoder = vocoder.to(device).eval()
        self.name = name
        self.device = device
        self.threshold = threshold
        self.minlenratio = minlenratio
        self.maxlenratio = maxlenratio
        self.seed = seed
        self.untrained = bool(
            getattr(model.config, UNTRAINED_MARKER, False)
            or getattr(vocoder.config, UNTRAINED_MARKER, False)
        )
        self.sample_rate = int(vocoder.config.sampling_rate)
        self.mel_frame_s = prod(vocoder.config.upsample_rates) / self.sample_rate
        self.max_tokens = int(model.config.max_text_positions * TEXT_MARGIN)
        self._own_voices = _voices_from(voice_source)
        self._lock = threading.Lock()

    @classmethod
    def from_pretrained(
        cls,
        model: str | Path = "microsoft/speecht5_tts",
        vocoder: str | Path = "microsoft/speecht5_hifigan",
        *,
        voice_source: str | Path | Voice | None = None,
        name: str | None = None,
        **options: Any,
    ) -> SpeechT5Synthesizer:
        """Load processor, acoustic model and vocoder from hub ids or folders (OSError propagates
        when one is absent). ``voice_source``: a :class:`Voice`, an ``.npy`` x-vector, a folder
        of them, or a voice name to speak with by default."""
        from transformers import SpeechT5ForTextToSpeech, SpeechT5HifiGan, SpeechT5Processor

        processor = SpeechT5Processor.from_pretrained(str(model))
        acoustic = SpeechT5ForTextToSpeech.from_pretrained(str(model))
        hifigan = SpeechT5HifiGan.from_pretrained(str(vocoder))
        ratio = getattr(acoustic.config, LENGTH_RATIO_KEY, None)
        if ratio:
            options.setdefault("minlenratio", float(ratio))
            options.setdefault("maxlenratio", float(ratio))
        return cls(
            acoustic, processor, hifigan, name or str(model), voice_source=voice_source, **options
        )

    def __repr__(self) -> str:
        label = ", untrained" if self.untrained else ""
        return f"SpeechT5Synthesizer({self.name!r}{label})"

    # --- voices ---------------------------------------------------------------------------
    def voices(self) -> tuple[str, ...]:
        own = tuple(self._own_voices)
        return own + tuple(v for v in available_voices() if v not in self._own_voices)

    def voice(self, voice: str | Path | Voice | None = None) -> Voice:
        """The :class:`Voice` a name (or None, for the default) stands for."""
        if voice is None and self._own_voices:
            return next(iter(self._own_voices.values()))
        if isinstance(voice, str) and voice in self._own_voices:
            return self._own_voices[voice]
        return get_voice(voice)

    # --- synthesis ------------------------------------------------------------------------
    def split(self, text: str) -> list[str]:
        """The sentences ``text`` is spoken as: numbers spelled out, each short enough for the
        text encoder."""
        spoken = prepare_for_speech(text)
        max_chars = max(8, self.max_tokens - 2)
        pieces: list[str] = []
        for piece in split_sentences(spoken, max_chars):
            limit = max_chars
            parts = [piece]
            # a tokenizer may spend more than one token on a character: split further if so
            while any(self._token_count(p) > self.max_tokens for p in parts) and limit > 8:
                limit = max(8, limit * 3 // 4)
                parts = split_sentences(piece, limit)
            pieces.extend(parts)
        return pieces

    def synthesize(self, text: str, voice: str | Path | Voice | None = None) -> Synthesis:
        import torch

        started = time.perf_counter()
        text = check_text(text)
        chosen = self.voice(voice)
        sentences = self.split(text)
        speaker = torch.from_numpy(chosen.xvector.copy()).unsqueeze(0).to(self.device)

        all_ids = [self._input_ids(sentence) for sentence in sentences]  # refuse before working

        waves: list[np.ndarray] = []
        mels: list[np.ndarray] = []
        parts: list[SentenceSynthesis] = []
        pause_frames = int(round(PAUSE_S / self.mel_frame_s))
        pause_samples = int(round(pause_frames * self.mel_frame_s * self.sample_rate))
        offset = 0
        with self._lock, torch.inference_mode():
            for index, (sentence, input_ids) in enumerate(zip(sentences, all_ids, strict=True)):
                try:
                    mel, attention, stop = self._generate(input_ids, speaker)
                    wave = self.vocoder(mel).float().cpu().numpy()
                except (RuntimeError, IndexError, ValueError) as exc:
                    raise BackendError(
                        f"{self.name} failed on sentence {index + 1} ({sentence[:40]!r}): "
                        f"{_first_line(exc)}"
                    ) from exc
                if waves:
                    waves.append(np.zeros(pause_samples, dtype=np.float32))
                    offset += pause_samples
                tokens = tuple(
                    t.replace("\u2581", " ")
                    for t in self.tokenizer.convert_ids_to_tokens(input_ids[0].tolist())
                )
                parts.append(
                    SentenceSynthesis(
                        text=sentence,
                        tokens=tokens,
                        start_s=offset / self.sample_rate,
                        end_s=(offset + wave.size) / self.sample_rate,
                        cross_attention=attention,
                        stop_probs=stop,
                    )
                )
                waves.append(wave.astype(np.float32))
                mels.append(mel.float().cpu().numpy())
                offset += wave.size

        # pauses show as the quietest level the model produced, not as invented spectra
        floor = min(float(m.min()) for m in mels)
        pause = np.full((pause_frames, mels[0].shape[1]), floor, dtype=np.float32)
        stitched = [mels[0]]
        for m in mels[1:]:
            stitched += [pause, m]
        return Synthesis(
            text=text,
            audio=Audio(np.concatenate(waves), self.sample_rate),
            model=self.name,
            voice=chosen.name,
            mel=np.concatenate(stitched).astype(np.float32),
            mel_frame_s=self.mel_frame_s,
            sentences=tuple(parts),
            untrained=self.untrained,
            elapsed_s=time.perf_counter() - started,
        )

    def generation_options(self, n_tokens: int) -> dict[str, float]:
        """``generate_speech`` keyword arguments for a sentence of ``n_tokens`` tokens.

        ``maxlenratio`` is capped so the decoder never runs past ``max_speech_positions``.
        """
        config = self.model.config
        cap = (config.max_speech_positions - 1) * config.reduction_factor / max(1, n_tokens)
        return {
            "threshold": self.threshold,
            "minlenratio": min(self.minlenratio, cap),
            "maxlenratio": min(self.maxlenratio, cap),
        }

    # --- internals ------------------------------------------------------------------------
    def _token_count(self, sentence: str) -> int:
        return len(self.tokenizer(sentence)["input_ids"])

    def _input_ids(self, sentence: str) -> Any:
        input_ids = self.tokenizer(sentence, return_tensors="pt")["input_ids"]
        ids = input_ids[0].tolist()
        special = set(self.tokenizer.all_special_ids)
        pieces = self.tokenizer.convert_ids_to_tokens([i for i in ids if i not in special])
        if not any(p.replace("\u2581", "").isalnum() for p in pieces):
            raise InvalidTextError(
                f"{self.name} knows no letter or digit in {sentence[:40]!r} (its tokenizer reads "
                "them as <unk>): SpeechT5 speaks English letters and punctuation."
            )
        return input_ids.to(self.device)

    def _generate(self, input_ids: Any, speaker: Any) -> tuple[Any, np.ndarray, np.ndarray | None]:
        import torch

        stop_scores: list[Any] = []
        hook = self.model.speech_decoder_postnet.prob_out.register_forward_hook(
            lambda _module, _inputs, output: stop_scores.append(torch.sigmoid(output).sum(dim=-1))
        )
        devices: list[Any] | None = [] if torch.device(self.device).type == "cpu" else None
        try:
            with torch.random.fork_rng(devices=devices):
                torch.manual_seed(self.seed)
                mel, attention = self.model.generate_speech(
                    input_ids,
                    speaker,
                    vocoder=None,
                    output_cross_attentions=True,
                    **self.generation_options(input_ids.shape[1]),
                )
        finally:
            hook.remove()
        attention_np = attention.float().cpu().numpy()
        stop = None
        if len(stop_scores) == attention_np.shape[2]:
            stop = np.minimum(torch.cat(stop_scores).float().cpu().numpy(), 1.0).astype(np.float32)
        return mel, attention_np, stop


def _voices_from(source: str | Path | Voice | None) -> dict[str, Voice]:
    if source is None:
        return {}
    if isinstance(source, Voice):
        return {source.name: source}
    path = Path(source)
    if path.is_dir():
        return {p.stem: Voice.from_npy(p) for p in sorted(path.glob("*.npy"))}
    voice = get_voice(source)
    return {voice.name: voice}


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
