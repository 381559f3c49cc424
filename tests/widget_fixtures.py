"""Seeded, non-square lab results built directly, for view tests that need no model."""

from __future__ import annotations

import numpy as np

import lab
from lab.tiny import CTC_LABELS


def choose_file(button, content: bytes, name: str) -> None:
    """What an UploadButton's browser side sends when a visitor picks a file: the bytes as a
    binary buffer, or only the name and size when the file is over ``max_bytes``."""
    if len(content) > button.max_bytes:
        message, buffers = {"type": "too_large", "name": name, "size": len(content)}, []
    else:
        message, buffers = (
            {"type": "file", "name": name, "size": len(content)},
            [memoryview(content)],
        )
    button._handle_msg(
        {"content": {"data": {"method": "custom", "content": message}}, "buffers": buffers}
    )


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
            "alt": False,
            "ctrl": False,
            "meta": False,
            "shift": False,
            "button": 0,
            "buttons": 1,
        },
        "selector": None,
    }


def speechlike_audio(seconds: float = 2.3, sample_rate: int = 16000, seed: int = 0) -> lab.Audio:
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * sample_rate)) / sample_rate
    envelope = 0.5 + 0.5 * np.sin(2 * np.pi * 2.5 * t)
    tone = np.sin(2 * np.pi * 440 * t) + 0.5 * np.sin(2 * np.pi * 1320 * t)
    return lab.Audio(0.3 * envelope * tone + 0.01 * rng.standard_normal(t.size), sample_rate)


def recognition(
    words: list[tuple[str, float, float]],
    *,
    frames: int = 0,
    seed: int = 0,
    untrained: bool = False,
    attentions: bool = False,
) -> lab.Recognition:
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


def synthesis(
    text: str,
    *,
    steps: int = 47,
    seed: int = 0,
    untrained: bool = False,
    diagonal_head: tuple[int, int] = (1, 2),
) -> lab.Synthesis:
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
        text=text,
        tokens=tokens,
        start_s=0.0,
        end_s=audio.duration_s,
        cross_attention=attention,
        stop_probs=np.linspace(0, 1, steps).astype(np.float32),
    )
    return lab.Synthesis(
        text=text,
        audio=audio,
        model="tiny-speecht5",
        mel_frame_s=frame_s,
        sentences=(sentence,),
        untrained=untrained,
    )


def decode_png(uri: str) -> tuple[np.ndarray, np.ndarray]:
    """The (rows, columns) palette indices and the (colours, 3) palette of a palette PNG given
    as a ``data:image/png;base64,`` URI, read the way a browser reads it (all five filters)."""
    import base64
    import struct
    import zlib

    prefix = "data:image/png;base64,"
    assert uri.startswith(prefix)
    data = base64.b64decode(uri[len(prefix) :])
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    chunks: dict[bytes, bytes] = {}
    at = 8
    while at < len(data):
        (length,) = struct.unpack(">I", data[at : at + 4])
        kind, body = data[at + 4 : at + 8], data[at + 8 : at + 8 + length]
        assert struct.unpack(">I", data[at + 8 + length : at + 12 + length])[0] == zlib.crc32(
            kind + body
        )
        chunks[kind] = chunks.get(kind, b"") + body
        at += 12 + length
    width, height, depth, colour_type = struct.unpack(">IIBB", chunks[b"IHDR"][:10])
    assert (depth, colour_type) == (8, 3)
    raw = np.frombuffer(zlib.decompress(chunks[b"IDAT"]), np.uint8).reshape(height, width + 1)
    rows = np.zeros((height, width), np.int64)
    for r in range(height):
        kind, line = raw[r, 0], raw[r, 1:].astype(np.int64)
        above = rows[r - 1] if r else np.zeros(width, np.int64)
        out = np.zeros(width, np.int64)
        for c in range(width):
            left = out[c - 1] if c else 0
            upper_left = above[c - 1] if c else 0
            if kind == 0:
                predicted = 0
            elif kind == 1:
                predicted = left
            elif kind == 2:
                predicted = above[c]
            elif kind == 3:
                predicted = (left + above[c]) // 2
            else:
                p = left + above[c] - upper_left
                pa, pb, pc = abs(p - left), abs(p - above[c]), abs(p - upper_left)
                predicted = left if pa <= pb and pa <= pc else above[c] if pb <= pc else upper_left
            out[c] = (line[c] + predicted) % 256
        rows[r] = out
    palette = np.frombuffer(chunks[b"PLTE"], np.uint8).reshape(-1, 3)
    return rows.astype(np.uint8), palette


def image_columns_s(image) -> np.ndarray:
    """Seconds at the centre of each column of a plotly image trace showing a PNG."""
    width = decode_png(image.source)[0].shape[1]
    return image.x0 + image.dx * np.arange(width)
