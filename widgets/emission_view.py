"""What a CTC recognizer heard frame by frame: log-probabilities of each character, the path it
chose, and where forced alignment put each character and word, with per-word confidence.

The log-probabilities reach the browser as a colour-mapped PNG (half-nat steps, one pixel per
pooled frame and character), a small part of the bytes of a heatmap's JSON grid. Hovering the
picture tells the time and the character, not the log-probability: it carries colours, not
values.
"""

from __future__ import annotations

import html
from typing import Any

import ipywidgets as widgets
import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from lab.results import Recognition
from widgets._common import (
    MAX_COLUMNS,
    colour_bar,
    colour_image,
    pool,
    pooled_extent,
    set_visible,
    untrained_badge,
)
from widgets.audio_player import AudioPlayer

IMAGE, PATH, CHARS, WORDS, SCALE = 0, 1, 2, 3, 4
LOGPROB_FLOOR = -20.0
"""Log-probabilities below this (e^-20) look the same: the colour scale starts here."""
LOGPROB_STEP = 0.5
"""Log-probabilities are shown in steps of this many nats: one colour per step."""
COLOURSCALE = "Blues"
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
        self,
        player: AudioPlayer | None = None,
        *,
        max_columns: int = MAX_COLUMNS,
        height: int = 420,
        **kwargs: Any,
    ) -> None:
        self.player = player
        self.max_columns = max_columns
        self.rows: list[int] = []
        """Vocabulary id shown on each picture row, bottom (row 0) to top."""
        self.labels: list[str] = []
        """What each row shows (characters; 'blank', '␣ word break'), bottom to top."""
        self.levels: np.ndarray | None = None
        """Half-nat steps above :data:`LOGPROB_FLOOR` of every pixel shown (rows, columns)."""
        self.recognition: Recognition | None = None
        self.title = widgets.HTML("<b>CTC emissions</b>")
        self.summary = widgets.HTML()
        figure = make_subplots(
            rows=2, cols=1, shared_xaxes=True, row_heights=[0.14, 0.86], vertical_spacing=0.03
        )
        figure.add_trace(
            go.Image(hovertemplate="%{x:.2f} s<extra></extra>", name="log p"), row=2, col=1
        )
        figure.add_trace(
            go.Scatter(
                x=[],
                y=[],
                mode="markers",
                name="chosen path",
                marker={"color": "#ff6f00", "size": 4, "symbol": "square"},
                hovertemplate="path: %{text} at %{x:.2f} s<extra></extra>",
            ),
            row=2,
            col=1,
        )
        figure.add_trace(
            go.Scatter(
                x=[],
                y=[],
                mode="lines",
                name="forced alignment",
                line={"color": "#d50000", "width": 3},
                connectgaps=False,
                hovertemplate="%{text}<extra></extra>",
            ),
            row=2,
            col=1,
        )
        figure.add_trace(
            go.Bar(
                x=[],
                base=[],
                y=[],
                orientation="h",
                name="word confidence",
                textposition="inside",
                insidetextanchor="middle",
                textfont={"color": "white"},
                hovertemplate="%{text}<extra></extra>",
                showlegend=False,
            ),
            row=1,
            col=1,
        )
        figure.add_trace(
            colour_bar(COLOURSCALE, LOGPROB_FLOOR, 0.0, "log p", len=0.8, y=0.42), row=2, col=1
        )
        figure.update_layout(
            height=height,
            margin={"l": 90, "r": 10, "t": 10, "b": 40},
            bargap=0.15,
            legend={"orientation": "h", "y": -0.12},
        )
        figure.update_xaxes(title_text="time (s)", row=2, col=1)
        figure.update_yaxes(showticklabels=False, fixedrange=True, row=1, col=1)
        figure.update_yaxes(
            scaleanchor=False, autorange=False, tickmode="array", row=2, col=1
        )  # an image would otherwise force square pixels
        self.figure = go.FigureWidget(figure)
        self.image, self.path_trace, self.char_trace, self.word_bars, self.scale_bar = (
            self.figure.data
        )
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
        self.labels = labels
        row_of = {vocab_id: r for r, vocab_id in enumerate(self.rows)}
        row_of_label = {label: r for r, label in enumerate(labels)}

        shown = pool(emissions[:, self.rows], self.max_columns, axis=0)  # (columns, rows)
        levels = round(-LOGPROB_FLOOR / LOGPROB_STEP)
        source, self.levels = colour_image(shown.T, LOGPROB_FLOOR, 0.0, COLOURSCALE, levels)
        x0, dx = pooled_extent(frames, frame_s, self.max_columns)

        path_x: np.ndarray = np.zeros(0, dtype=np.float32)
        path_y: np.ndarray = np.zeros(0, dtype=np.int16)
        if recognition.path is not None:
            blank = vocab.index("<pad>") if "<pad>" in vocab else 0
            chosen = np.asarray(recognition.path)
            keep = np.flatnonzero((chosen != blank) & np.isin(chosen, self.rows))
            path_x = ((keep + 0.5) * frame_s).astype(np.float32)
            path_y = np.array([row_of[int(chosen[k])] for k in keep], dtype=np.int16)

        # one line per character, NaN between them: a gap, and all of it binary buffers
        char_x: list[float] = []
        char_y: list[float] = []
        char_text: list[str] = []
        for char in recognition.chars:
            label = _LABEL_NAMES.get(char.text, char.text)
            if label not in row_of_label:
                continue
            char_x += [char.start_s, char.end_s, np.nan]
            char_y += [row_of_label[label], row_of_label[label], np.nan]
            char_text += [label, label, ""]

        words = recognition.words
        scores = np.array([w.score for w in words], dtype=np.float64)
        with self.figure.batch_update():
            self.image.update(source=source, x0=x0, dx=dx, y0=0, dy=1)
            self.path_trace.update(x=path_x, y=path_y, text=[labels[r] for r in path_y])
            self.char_trace.update(
                x=np.array(char_x, dtype=np.float32),
                y=np.array(char_y, dtype=np.float32),
                text=char_text,
            )
            self.word_bars.update(
                x=np.array([max(w.end_s - w.start_s, 1e-3) for w in words], dtype=np.float32),
                base=np.array([w.start_s for w in words], dtype=np.float32),
                y=np.zeros(len(words), dtype=np.int8),
                text=[f"{w.text} {w.score:.0%}" if np.isfinite(w.score) else w.text for w in words],
                marker={"color": [_confidence_colour(s) for s in scores]},
            )
            self.figure.layout.shapes = [
                {
                    "type": "line",
                    "xref": "x2",
                    "yref": "y2 domain",
                    "x0": t,
                    "x1": t,
                    "y0": 0,
                    "y1": 1,
                    "line": {"color": "#455a64", "width": 1, "dash": "dot"},
                }
                for t in sorted({round(b, 3) for w in words for b in (w.start_s, w.end_s)})
            ]
            self.figure.layout.xaxis2.range = [0.0, frames * frame_s]
            self.figure.layout.yaxis2.update(
                range=[-0.5, len(labels) - 0.5],
                tickvals=list(range(len(labels))),
                ticktext=[html.escape(label, quote=False) for label in labels],  # read as HTML
            )
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
