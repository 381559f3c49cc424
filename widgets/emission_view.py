"""What a CTC recognizer heard frame by frame: log-probabilities of each character, the path it
chose, and where forced alignment put each character and word, with per-word confidence."""

from __future__ import annotations

import html
from typing import Any

import ipywidgets as widgets
import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from lab.results import Recognition
from widgets._common import MAX_COLUMNS, pool, round_to, set_visible, time_axis, untrained_badge
from widgets.audio_player import AudioPlayer

HEATMAP, PATH, CHARS, WORDS = 0, 1, 2, 3
LOGPROB_FLOOR = -20.0
"""Log-probabilities below this (e^-20) look the same: the colour scale starts here."""
HIDDEN_LABELS = ("<s>", "</s>", "<unk>")
_LABEL_NAMES = {"<pad>": "blank", "|": "␣ word break"}


def _confidence_colour(score: float) -> str:
    if not np.isfinite(score):
        return "#607d8b"
    red = int(round(255 * (1 - score)))
    green = int(round(160 * score))
    return f"rgb({red},{green},60)"


class EmissionView(widgets.VBox):
    """CTC log-probabilities (characters × time), greedy path, aligned characters and words."""

    def __init__(
        self, player: AudioPlayer | None = None, *, max_columns: int = MAX_COLUMNS,
        height: int = 420, **kwargs: Any,
    ) -> None:
        self.player = player
        self.max_columns = max_columns
        self.rows: list[int] = []
        """Vocabulary id shown on each heatmap row, top to bottom."""
        self.recognition: Recognition | None = None
        self.title = widgets.HTML("<b>CTC emissions</b>")
        self.summary = widgets.HTML()
        figure = make_subplots(
            rows=2, cols=1, shared_xaxes=True, row_heights=[0.14, 0.86], vertical_spacing=0.03
        )
        figure.add_trace(
            go.Heatmap(
                z=[[0]], colorscale="Blues", zmin=LOGPROB_FLOOR, zmax=0,
                colorbar={"title": {"text": "log p"}, "len": 0.8, "y": 0.42},
                hovertemplate="%{x:.2f} s · %{y} · log p %{z}<extra></extra>", name="log p",
            ),
            row=2, col=1,
        )
        figure.add_trace(
            go.Scatter(
                x=[], y=[], mode="markers", name="chosen path",
                marker={"color": "#ff6f00", "size": 4, "symbol": "square"},
                hovertemplate="path: %{y} at %{x:.2f} s<extra></extra>",
            ),
            row=2, col=1,
        )
        figure.add_trace(
            go.Scatter(
                x=[], y=[], mode="lines", name="forced alignment",
                line={"color": "#d50000", "width": 3}, connectgaps=False,
                hovertemplate="%{y}<extra></extra>",
            ),
            row=2, col=1,
        )
        figure.add_trace(
            go.Bar(
                x=[], base=[], y=[], orientation="h", name="word confidence",
                textposition="inside", insidetextanchor="middle", textfont={"color": "white"},
                hovertemplate="%{text}<extra></extra>", showlegend=False,
            ),
            row=1, col=1,
        )
        figure.update_layout(
            height=height, margin={"l": 90, "r": 10, "t": 10, "b": 40}, bargap=0.15,
            legend={"orientation": "h", "y": -0.12},
        )
        figure.update_xaxes(title_text="time (s)", row=2, col=1)
        figure.update_yaxes(showticklabels=False, fixedrange=True, row=1, col=1)
        figure.update_yaxes(type="category", row=2, col=1)
        self.figure = go.FigureWidget(figure)
        self.heatmap, self.path_trace, self.char_trace, self.word_bars = self.figure.data
        self.word_bars.on_click(self._on_word_click)
        super().__init__([self.title, self.summary, self.figure], **kwargs)
        set_visible(self, False)

    @property
    def available(self) -> bool:
        return self.recognition is not None

    def show(self, recognition: Recognition | None) -> None:
        """Draw the emissions of ``recognition``; hide the view when it has none."""
        if recognition is None or recognition.emissions is None or recognition.vocab is None:
            self.recognition = None
            set_visible(self, False)
            return
        self.recognition = recognition
        set_visible(self, True)
        vocab = recognition.vocab
        frame_s = recognition.frame_s or 0.02
        emissions = np.asarray(recognition.emissions)  # (frames, vocab)
        frames = emissions.shape[0]
        self.rows = [i for i, label in enumerate(vocab) if label not in HIDDEN_LABELS]
        labels = [_LABEL_NAMES.get(vocab[i], vocab[i]) for i in self.rows]
        row_of = {vocab_id: labels[r] for r, vocab_id in enumerate(self.rows)}

        shown = pool(emissions[:, self.rows], self.max_columns, axis=0)  # (columns, rows)
        z = round_to(shown.T, LOGPROB_FLOOR, 0.0, 0.5)
        x = time_axis(frames, frame_s, self.max_columns)

        path_x: np.ndarray = np.zeros(0, dtype=np.float32)
        path_y: list[str] = []
        if recognition.path is not None:
            blank = vocab.index("<pad>") if "<pad>" in vocab else 0
            chosen = np.asarray(recognition.path)
            keep = np.flatnonzero((chosen != blank) & np.isin(chosen, self.rows))
            path_x = ((keep + 0.5) * frame_s).astype(np.float32)
            path_y = [row_of[int(chosen[k])] for k in keep]

        char_x: list[float | None] = []
        char_y: list[str | None] = []
        for char in recognition.chars:
            label = _LABEL_NAMES.get(char.text, char.text)
            if label not in labels:
                continue
            char_x += [round(char.start_s, 3), round(char.end_s, 3), None]
            char_y += [label, label, None]

        words = recognition.words
        scores = np.array([w.score for w in words], dtype=np.float64)
        with self.figure.batch_update():
            self.heatmap.update(z=z, x=x, y=labels)
            self.path_trace.update(x=path_x, y=path_y)
            self.char_trace.update(x=char_x, y=char_y)
            self.word_bars.update(
                x=np.array([max(w.end_s - w.start_s, 1e-3) for w in words], dtype=np.float32),
                base=np.array([w.start_s for w in words], dtype=np.float32),
                y=np.zeros(len(words), dtype=np.int8),
                text=[
                    f"{w.text} {w.score:.0%}" if np.isfinite(w.score) else w.text for w in words
                ],
                marker={"color": [_confidence_colour(s) for s in scores]},
            )
            self.figure.layout.shapes = [
                {
                    "type": "line", "xref": "x2", "yref": "y2 domain",
                    "x0": t, "x1": t, "y0": 0, "y1": 1,
                    "line": {"color": "#455a64", "width": 1, "dash": "dot"},
                }
                for t in sorted({round(b, 3) for w in words for b in (w.start_s, w.end_s)})
            ]
            self.figure.layout.xaxis2.range = [0.0, frames * frame_s]
        self.word_confidence = scores
        finite = scores[np.isfinite(scores)]
        parts = [f"{len(words)} words"]
        if finite.size:
            parts.append(f"mean word confidence {finite.mean():.0%}")
            worst = words[int(np.nanargmin(scores))]
            parts.append(f"least sure of “{html.escape(worst.text)}” ({np.nanmin(scores):.0%})")
        if recognition.confidence is not None:
            parts.append(f"path log p {recognition.confidence:.2f} per frame")
        self.summary.value = " · ".join(parts)
        badge = untrained_badge(recognition.untrained)
        self.title.value = f"<b>CTC emissions</b> {html.escape(recognition.model)} {badge}".strip()

    def _on_word_click(self, trace: Any, points: Any, state: Any) -> None:
        if points.point_inds and self.player is not None and self.recognition is not None:
            word = self.recognition.words[points.point_inds[0]]
            self.player.play_range(word.start_s, word.end_s)
