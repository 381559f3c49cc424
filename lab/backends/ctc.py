"""wav2vec2 / HuBERT CTC recognition that keeps what the model saw and said on the way.

The transcript is the greedy CTC decode the transformers ``automatic-speech-recognition``
pipeline gives; beside it come the per-frame log-probabilities (emissions), the chosen path, char
and word segments from forced alignment, and, when asked, self-attention and hidden states.

Long audio (over ``long_audio_s``) runs in overlapping chunks, like the pipeline's
``chunk_length_s``: each chunk keeps its frames except half the overlap on each inner side, so
the stitched emissions have about one frame per ``frame_s`` and memory stays bounded.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

from lab.alignment import align, collapse_path
from lab.audio import Audio
from lab.errors import BackendError, InvalidAudioError
from lab.results import Recognition
from lab.tiny import UNTRAINED_MARKER


class CTCRecognizer:
    """Any ``*ForCTC`` checkpoint with a processor (Wav2Vec2ForCTC, HubertForCTC, ...)."""

    sample_rate = 16_000
    has_emissions = True
    has_attention = True

    def __init__(
        self,
        model: Any,
        processor: Any,
        name: str,
        *,
        chunk_s: float = 20.0,
        overlap_s: float = 2.0,
        long_audio_s: float = 30.0,
        device: str = "cpu",
    ) -> None:
        if not 0 < overlap_s < chunk_s:
            raise ValueError("overlap_s must be positive and shorter than chunk_s")
        self.model = model.to(device).eval()
        self.processor = processor
        self.name = name
        self.device = device
        self.chunk_s = chunk_s
        self.overlap_s = overlap_s
        self.long_audio_s = long_audio_s
        self.untrained = bool(getattr(model.config, UNTRAINED_MARKER, False))
        self.sample_rate = int(processor.feature_extractor.sampling_rate)
        self.samples_per_frame = int(model.config.inputs_to_logits_ratio)
        self.frame_s = self.samples_per_frame / self.sample_rate
        vocab = processor.tokenizer.get_vocab()
        labels = [""] * int(model.config.vocab_size)
        for label, index in vocab.items():
            if index < len(labels):
                labels[index] = label
        self.vocab: tuple[str, ...] = tuple(labels)
        self.blank_id = int(processor.tokenizer.pad_token_id)

    @classmethod
    def from_pretrained(
        cls, model_id_or_path: str | Path, *, name: str | None = None, **options: Any
    ) -> CTCRecognizer:
        """Load processor and model from a hub id or a folder; OSError propagates when absent."""
        from transformers import AutoModelForCTC, AutoProcessor

        source = str(model_id_or_path)
        processor = AutoProcessor.from_pretrained(source)
        model = AutoModelForCTC.from_pretrained(source)
        return cls(model, processor, name or source, **options)

    def __repr__(self) -> str:
        label = ", untrained" if self.untrained else ""
        return f"CTCRecognizer({self.name!r}{label})"

    # --- recognition ----------------------------------------------------------------------
    def recognize(
        self,
        audio: Audio,
        *,
        output_attentions: bool = False,
        output_hidden_states: bool = False,
    ) -> Recognition:
        """Transcribe ``audio`` (any rate, mono or stereo) and keep emissions and segments.

        Attentions ((layers, heads, frames, frames)) and hidden states ((layers + 1, frames,
        dim)) are offered for clips up to ``long_audio_s``: they grow with the square of the
        length, and chunks of longer audio do not attend to each other.
        """
        import torch

        started = time.perf_counter()
        audio = audio.resample(self.sample_rate)
        samples = audio.samples
        long_audio = audio.duration_s > self.long_audio_s
        if long_audio and (output_attentions or output_hidden_states):
            raise InvalidAudioError(
                f"Attention and hidden states are offered for clips up to {self.long_audio_s:.0f} s "
                f"and this one lasts {audio.duration_s:.0f} s: slice it first (Audio.slice)."
            )
        try:
            with torch.inference_mode():
                if long_audio:
                    logits = self._chunked_logits(samples)
                    attentions = hidden_states = None
                else:
                    logits, attentions, hidden_states = self._forward(
                        samples, output_attentions, output_hidden_states
                    )
                emissions = torch.log_softmax(logits.float(), dim=-1)
                path = emissions.argmax(dim=-1)
                confidence = float(emissions.max(dim=-1).values.mean()) if len(path) else None
                text = self.processor.batch_decode(path.unsqueeze(0).cpu())[0]
        except (RuntimeError, ValueError) as exc:
            raise BackendError(
                f"{self.name} failed while recognising {audio.duration_s:.1f} s of audio: "
                f"{_first_line(exc)}"
            ) from exc

        return self._recognition(text, emissions, path, confidence, attentions, hidden_states,
                                 started)  # fmt: skip

    def recognize_batch(self, audios: list[Audio]) -> list[Recognition]:
        """Recognise several clips; clips of the same length (noisy copies of one synthesis) go
        through one forward pass, so each result equals ``recognize(audio)`` on its own within
        float tolerance. Clips of other lengths, or over ``long_audio_s``, run one by one:
        padding would change what a group-norm feature encoder computes."""
        import torch

        started = time.perf_counter()
        resampled = [audio.resample(self.sample_rate) for audio in audios]
        lengths = {audio.samples.size for audio in resampled}
        if len(resampled) < 2 or len(lengths) != 1 or resampled[0].duration_s > self.long_audio_s:
            return [self.recognize(audio) for audio in resampled]
        try:
            with torch.inference_mode():
                inputs = self._inputs([audio.samples for audio in resampled])
                logits = self.model(**inputs).logits
                emissions = torch.log_softmax(logits.float(), dim=-1)
                paths = emissions.argmax(dim=-1)
                texts = self.processor.batch_decode(paths.cpu())
        except (RuntimeError, ValueError) as exc:
            raise BackendError(
                f"{self.name} failed while recognising {len(resampled)} clips of "
                f"{resampled[0].duration_s:.1f} s: {_first_line(exc)}"
            ) from exc
        results = []
        for i, text in enumerate(texts):
            confidence = float(emissions[i].max(dim=-1).values.mean()) if paths.shape[1] else None
            results.append(
                self._recognition(text, emissions[i], paths[i], confidence, None, None, started)
            )
        return results

    def _recognition(
        self,
        text: str,
        emissions: Any,
        path: Any,
        confidence: float | None,
        attentions: np.ndarray | None,
        hidden_states: np.ndarray | None,
        started: float,
    ) -> Recognition:
        emissions_np = emissions.cpu().numpy().astype(np.float32)
        path_np = path.cpu().numpy().astype(np.int64)
        token_ids = collapse_path(path_np, self.blank_id)
        segments = align(emissions_np, token_ids, self.vocab, self.frame_s, blank_id=self.blank_id)
        return Recognition(
            text=text,
            model=self.name,
            words=segments.words,
            chars=segments.chars,
            emissions=emissions_np,
            vocab=self.vocab,
            frame_s=self.frame_s,
            path=path_np,
            confidence=confidence,
            attentions=attentions,
            hidden_states=hidden_states,
            untrained=self.untrained,
            elapsed_s=time.perf_counter() - started,
        )

    def _inputs(self, samples: np.ndarray | list[np.ndarray]) -> dict[str, Any]:
        features = self.processor.feature_extractor(
            samples, sampling_rate=self.sample_rate, return_tensors="pt"
        )
        return {k: v.to(self.device) for k, v in features.items()}

    def _forward(
        self, samples: np.ndarray, output_attentions: bool, output_hidden_states: bool
    ) -> tuple[Any, np.ndarray | None, np.ndarray | None]:
        import torch

        inputs = self._inputs(samples)
        previous = self.model.config._attn_implementation
        # sdpa returns no attention weights: switch to eager only for this call.
        if output_attentions and previous != "eager":
            self.model.set_attn_implementation("eager")
        try:
            out = self.model(
                **inputs,
                output_attentions=output_attentions,
                output_hidden_states=output_hidden_states,
            )
        finally:
            if output_attentions and previous != "eager":
                self.model.set_attn_implementation(previous)
        attentions = hidden_states = None
        if output_attentions:
            attentions = torch.cat(out.attentions, dim=0).float().cpu().numpy()
        if output_hidden_states:
            hidden_states = torch.cat(out.hidden_states, dim=0).float().cpu().numpy()
        return out.logits[0], attentions, hidden_states

    def _chunked_logits(self, samples: np.ndarray) -> Any:
        """Logits of overlapping chunks, each trimmed by half the overlap on its inner sides."""
        import torch

        step = 2 * self.samples_per_frame  # chunk edges on frame boundaries, halves too
        chunk = max(step, int(round(self.chunk_s * self.sample_rate / step)) * step)
        overlap = max(step, int(round(self.overlap_s * self.sample_rate / step)) * step)
        if overlap >= chunk:
            overlap = chunk - step
        half = overlap // 2 // self.samples_per_frame
        stride = chunk - overlap
        starts = [0]
        while starts[-1] + chunk < samples.size:
            starts.append(starts[-1] + stride)
        pieces = []
        for i, start in enumerate(starts):
            logits = self.model(**self._inputs(samples[start : start + chunk])).logits[0]
            first = 0 if i == 0 else half
            last = (
                logits.shape[0] if i == len(starts) - 1 else chunk // self.samples_per_frame - half
            )
            pieces.append(logits[first:last])
        return torch.cat(pieces, dim=0)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
