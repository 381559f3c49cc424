"""What a round trip produces: typed, frozen dataclasses holding numpy arrays.

A sweep on a cluster and a widget in a notebook read the same objects. Each result converts to a
JSON-ready dict (arrays as nested lists with their dtype) and back, and :class:`RoundTrip` saves to
a folder as ``roundtrip.json`` plus WAV files.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from lab.audio import Audio


@dataclass(frozen=True)
class Segment:
    """A stretch of audio carrying one word or character, times in seconds."""

    text: str
    start_s: float
    end_s: float
    score: float
    """Mean probability of the aligned frames (0-1); NaN where a backend gives none."""


@dataclass(frozen=True, eq=False)
class SentenceSynthesis:
    """One sentence of a (possibly split) text, with where it sits in the stitched audio."""

    text: str
    tokens: tuple[str, ...]
    start_s: float
    end_s: float
    cross_attention: np.ndarray | None = None
    """(layers, heads, decoder steps, tokens) for this sentence."""
    stop_probs: np.ndarray | None = None
    """(decoder steps,) probability that speech ends at each step."""


@dataclass(frozen=True, eq=False)
class Synthesis:
    text: str
    audio: Audio
    model: str
    voice: str | None = None
    mel: np.ndarray | None = None
    """(frames, mel bins) log-mel spectrogram the vocoder turned into audio."""
    mel_frame_s: float | None = None
    """Seconds per mel frame."""
    sentences: tuple[SentenceSynthesis, ...] = ()
    untrained: bool = False
    elapsed_s: float = 0.0

    @property
    def tokens(self) -> tuple[str, ...]:
        return tuple(t for s in self.sentences for t in s.tokens)

    @property
    def steps_per_second(self) -> float | None:
        """Decoder steps per second of audio (SpeechT5: one step makes two mel frames)."""
        if self.mel_frame_s is None:
            return None
        return 1.0 / (2 * self.mel_frame_s)

    @property
    def cross_attention(self) -> np.ndarray | None:
        """(layers, heads, steps, tokens) over the whole text.

        One sentence: its attention. Several: a block-diagonal stitch of each sentence's attention
        (a sentence never attends to another's tokens).
        """
        parts = [s.cross_attention for s in self.sentences if s.cross_attention is not None]
        if not parts or len(parts) != len(self.sentences):
            return None
        if len(parts) == 1:
            return parts[0]
        layers, heads = parts[0].shape[:2]
        steps = sum(p.shape[2] for p in parts)
        tokens = sum(p.shape[3] for p in parts)
        out = np.zeros((layers, heads, steps, tokens), dtype=parts[0].dtype)
        s0 = t0 = 0
        for p in parts:
            out[:, :, s0 : s0 + p.shape[2], t0 : t0 + p.shape[3]] = p
            s0 += p.shape[2]
            t0 += p.shape[3]
        return out

    @property
    def stop_probs(self) -> np.ndarray | None:
        parts = [s.stop_probs for s in self.sentences if s.stop_probs is not None]
        if not parts or len(parts) != len(self.sentences):
            return None
        return np.concatenate(parts)

    @property
    def has_attention(self) -> bool:
        return bool(self.sentences) and all(s.cross_attention is not None for s in self.sentences)


@dataclass(frozen=True, eq=False)
class Recognition:
    text: str
    model: str
    words: tuple[Segment, ...] = ()
    chars: tuple[Segment, ...] = ()
    emissions: np.ndarray | None = None
    """(frames, vocab) CTC log-probabilities."""
    vocab: tuple[str, ...] | None = None
    """Label of each emission column ("|" is the word boundary, "<pad>" the CTC blank)."""
    frame_s: float | None = None
    """Seconds per emission frame (20 ms for wav2vec2/HuBERT)."""
    path: np.ndarray | None = None
    """(frames,) token id chosen at each frame by the CTC decoder."""
    confidence: float | None = None
    """Mean log-probability of the chosen CTC path (0 is certain)."""
    attentions: np.ndarray | None = None
    """(layers, heads, frames, frames) encoder self-attention, only when asked for."""
    hidden_states: np.ndarray | None = None
    """(layers + 1, frames, dim) encoder hidden states, only when asked for."""
    untrained: bool = False
    elapsed_s: float = 0.0


@dataclass(frozen=True)
class AlignmentChunk:
    """One run of the word alignment between reference and hypothesis (jiwer's chunks)."""

    kind: str
    """'equal', 'substitute', 'insert' or 'delete'."""
    ref_start: int
    ref_end: int
    hyp_start: int
    hyp_end: int


@dataclass(frozen=True)
class Scores:
    reference: str
    """Reference text after scoring normalisation."""
    hypothesis: str
    wer: float
    cer: float
    bleu: float
    """Sentence BLEU, 0-100."""
    chrf: float
    """chrF, 0-100."""
    hits: int
    substitutions: int
    deletions: int
    insertions: int
    alignment: tuple[AlignmentChunk, ...] = ()
    confidence: float | None = None
    """The recogniser's own confidence (mean log-prob of its CTC path), where it has one."""
    perplexity_reference: float | None = None
    perplexity_hypothesis: float | None = None
    ngram_perplexity_reference: float | None = None
    """Perplexity of the reference under PocketSphinx's bundled 3-gram LM (see lab.quality)."""
    ngram_perplexity_hypothesis: float | None = None
    """The same for the hypothesis: a recogniser's fluent-but-wrong guesses score low here too."""
    notes: tuple[str, ...] = ()
    """Notices about the scoring, e.g. why perplexity is missing."""

    @property
    def reference_words(self) -> list[str]:
        return self.reference.split()

    @property
    def hypothesis_words(self) -> list[str]:
        return self.hypothesis.split()

    def word_errors(self) -> list[tuple[str, str | None, str | None]]:
        """(kind, reference word, hypothesis word) for each aligned position, in order."""
        ref, hyp = self.reference_words, self.hypothesis_words
        out: list[tuple[str, str | None, str | None]] = []
        for c in self.alignment:
            if c.kind in ("equal", "substitute"):
                for r, h in zip(
                    ref[c.ref_start : c.ref_end], hyp[c.hyp_start : c.hyp_end], strict=True
                ):
                    out.append((c.kind, r, h))
            elif c.kind == "delete":
                out.extend(("delete", r, None) for r in ref[c.ref_start : c.ref_end])
            else:
                out.extend(("insert", None, h) for h in hyp[c.hyp_start : c.hyp_end])
        return out

    def hypothesis_word_kinds(self) -> list[str]:
        """Error kind of each recognised word: 'equal', 'substitute' or 'insert'."""
        kinds = ["equal"] * len(self.hypothesis_words)
        for c in self.alignment:
            if c.kind in ("substitute", "insert"):
                for i in range(c.hyp_start, c.hyp_end):
                    kinds[i] = c.kind
        return kinds


@dataclass(frozen=True, eq=False)
class RoundTrip:
    text: str
    synthesis: Synthesis
    audio: Audio
    """What the recognizer heard: the synthesised audio, with noise added when snr_db is set."""
    recognition: Recognition
    scores: Scores
    snr_db: float | None = None
    noise: str = "white"
    seed: int = 0
    timings: dict[str, float] = field(default_factory=dict)
    """Seconds spent in each step: synthesis (0 when cached), noise, recognition, scoring."""

    @property
    def untrained(self) -> bool:
        return self.synthesis.untrained or self.recognition.untrained

    # --- serialisation ------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return _encode(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RoundTrip:
        return _decode(cls, data)

    def to_json(self, **kwargs: Any) -> str:
        return json.dumps(self.to_dict(), **kwargs)

    @classmethod
    def from_json(cls, text: str) -> RoundTrip:
        return cls.from_dict(json.loads(text))

    def save(self, folder: str | Path) -> Path:
        """Write roundtrip.json, synthesized.wav and heard.wav into a folder."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        self.synthesis.audio.save(folder / "synthesized.wav")
        self.audio.save(folder / "heard.wav")
        (folder / "roundtrip.json").write_text(self.to_json(indent=1))
        return folder

    @classmethod
    def load(cls, folder: str | Path) -> RoundTrip:
        return cls.from_json((Path(folder) / "roundtrip.json").read_text())


# --- generic dataclass <-> JSON ------------------------------------------------------------
def _encode(value: Any) -> Any:
    if isinstance(value, Audio):
        return {
            "__audio__": True,
            "sample_rate": value.sample_rate,
            "samples": _encode(value.samples),
        }
    if isinstance(value, np.ndarray):
        return {
            "__ndarray__": True,
            "dtype": str(value.dtype),
            "shape": list(value.shape),
            "data": value.ravel().tolist(),
        }
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _encode(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, (list, tuple)):
        return [_encode(v) for v in value]
    if isinstance(value, dict):
        return {k: _encode(v) for k, v in value.items()}
    if isinstance(value, (np.floating, np.integer)):
        return value.item()
    if isinstance(value, float) and value != value:
        return "NaN"
    return value


def _decode_value(tp: Any, value: Any) -> Any:
    if isinstance(value, dict) and value.get("__ndarray__"):
        return np.asarray(value["data"], dtype=value["dtype"]).reshape(value["shape"])
    if isinstance(value, dict) and value.get("__audio__"):
        return Audio(_decode_value(None, value["samples"]), value["sample_rate"])
    if value == "NaN":
        return float("nan")
    return value


_NESTED: dict[str, type] = {}


def _decode(cls: type, data: dict[str, Any]) -> Any:
    kwargs: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        if f.name not in data:
            continue
        raw = data[f.name]
        nested = _NESTED.get(f"{cls.__name__}.{f.name}")
        if nested is not None and isinstance(raw, dict) and not raw.get("__ndarray__"):
            kwargs[f.name] = _decode(nested, raw)
        elif nested is not None and isinstance(raw, list):
            kwargs[f.name] = tuple(_decode(nested, r) for r in raw)
        elif isinstance(raw, list):
            kwargs[f.name] = tuple(_decode_value(None, r) for r in raw)
        else:
            kwargs[f.name] = _decode_value(None, raw)
    return cls(**kwargs)


_NESTED.update(
    {
        "RoundTrip.synthesis": Synthesis,
        "RoundTrip.recognition": Recognition,
        "RoundTrip.scores": Scores,
        "Synthesis.sentences": SentenceSynthesis,
        "Recognition.words": Segment,
        "Recognition.chars": Segment,
        "Scores.alignment": AlignmentChunk,
    }
)
