"""Seeded, non-square lab results built directly, for view tests that need no model."""

from __future__ import annotations

import numpy as np

import lab
from lab.tiny import CTC_LABELS


def click(figure, trace_index: int, point_index: int, x: float = 0.0, y: float = 0.0) -> None:
    """What the browser sends when a point of a FigureWidget trace is clicked."""
    figure._js2py_pointsCallback = {
        "event_type": "plotly_click",
        "points": {
            "trace_indexes": [trace_index],
            "point_indexes": [point_index],
            "xs": [x],
            "ys": [y],
        },
        "device_state": {
            "alt": False, "ctrl": False, "meta": False, "shift": False, "button": 0, "buttons": 1
        },
        "selector": None,
    }


def speechlike_audio(seconds: float = 2.3, sample_rate: int = 16000, seed: int = 0) -> lab.Audio:
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * sample_rate)) / sample_rate
    envelope = 0.5 + 0.5 * np.sin(2 * np.pi * 2.5 * t)
    tone = np.sin(2 * np.pi * 440 * t) + 0.5 * np.sin(2 * np.pi * 1320 * t)
    return lab.Audio(0.3 * envelope * tone + 0.01 * rng.standard_normal(t.size), sample_rate)


def recognition(words: list[tuple[str, float, float]], *, frames: int = 0, seed: int = 0,
                untrained: bool = False, attentions: bool = False) -> lab.Recognition:
    """A CTC-like Recognition: the words, char segments, seeded emissions and a greedy path."""
    segments = tuple(lab.Segment(w, s, e, 0.5 + 0.1 * i) for i, (w, s, e) in enumerate(words))
    chars = []
    for w, s, e in words:
        step = (e - s) / len(w)
        chars.extend(
            lab.Segment(c.upper(), s + i * step, s + (i + 1) * step, 0.7) for i, c in enumerate(w)
        )
    rng = np.random.default_rng(seed)
    emissions = path = None
    if frames:
        logits = rng.standard_normal((frames, len(CTC_LABELS))).astype(np.float32) * 3
        emissions = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
        path = emissions.argmax(axis=1).astype(np.int64)
    attn = None
    if attentions and frames:
        attn = rng.dirichlet(np.ones(frames), size=(2, 3, frames)).astype(np.float32)
    return lab.Recognition(
        text=" ".join(w for w, _, _ in words),
        model="tiny-ctc",
        words=segments,
        chars=tuple(chars),
        emissions=emissions,
        vocab=CTC_LABELS if frames else None,
        frame_s=0.02 if frames else None,
        path=path,
        confidence=-0.7 if frames else None,
        attentions=attn,
        untrained=untrained,
    )


def synthesis(text: str, *, steps: int = 47, seed: int = 0, untrained: bool = False,
              diagonal_head: tuple[int, int] = (1, 2)) -> lab.Synthesis:
    """A SpeechT5-like Synthesis with (2 layers, 3 heads, steps, tokens) cross-attention and one
    planted diagonal head."""
    tokens = tuple(text) + ("</s>",)
    rng = np.random.default_rng(seed)
    attention = rng.dirichlet(np.ones(len(tokens)), size=(2, 3, steps)).astype(np.float32)
    centre = np.linspace(0, len(tokens) - 1, steps)[:, None]
    diagonal = np.exp(-0.5 * ((np.arange(len(tokens))[None, :] - centre) / 0.7) ** 2)
    attention[diagonal_head] = diagonal / diagonal.sum(axis=1, keepdims=True)
    frame_s = 256 / 16000
    audio = speechlike_audio(steps * 2 * frame_s, seed=seed)
    sentence = lab.SentenceSynthesis(
        text=text, tokens=tokens, start_s=0.0, end_s=audio.duration_s,
        cross_attention=attention, stop_probs=np.linspace(0, 1, steps).astype(np.float32),
    )
    return lab.Synthesis(
        text=text, audio=audio, model="tiny-speecht5", mel_frame_s=frame_s,
        sentences=(sentence,), untrained=untrained,
    )
