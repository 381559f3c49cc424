"""The spectrogram of what the recognizer heard, with its recognised words and a playhead.

The spectrogram reaches the browser as a colour-mapped PNG (2 dB steps, one pixel per pooled
frame and bin), a tenth of the bytes of a heatmap's JSON grid. Hovering it tells the time and
the band, not the decibels: the picture carries colours, not values.
"""

from __future__ import annotations

import html
from typing import Any

import ipywidgets as widgets
import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from lab.audio import Audio
from lab.features import Spectrogram, spectrogram
from lab.results import Recognition, RoundTrip, Scores, Segment
from widgets._common import (
    KIND_COLOURS,
    KIND_LABELS,
    MAX_COLUMNS,
    colour_bar,
    colour_image,
    pool,
    pooled_extent,
    untrained_badge,
)
from widgets.audio_player import AudioPlayer

IMAGE, WORDS, SCALE = 0, 1, 2
COLOURSCALE = "Magma"
DB_STEP = 2
"""The picture shows decibels in steps of this size: one colour a step (41 for 80 dB)."""
Y_TICKS = 8
"""Frequency labels on the spectrogram's axis."""
PLAYHEAD = 0
"""Index of the playhead among the layout shapes; word outlines follow it."""


class SpectrogramView(widgets.VBox):
    """Log-mel (or linear) spectrogram over seconds; recognised words coloured by error kind;
    clicking a word plays it; a playhead follows the attached :class:`AudioPlayer`."""

    def __init__(
        self,
        player: AudioPlayer | None = None,
        *,
        scale: str = "mel",
        max_columns: int = MAX_COLUMNS,
        height: int = 320,
        **kwargs: Any,
    ) -> None:
        self.scale = scale
        self.max_columns = max_columns
        self.player: AudioPlayer | None = None
        self.words: tuple[Segment, ...] = ()
        self.word_kinds: list[str] = []
        self.spectrogram: Spectrogram | None = None
        self.title = widgets.HTML()
        figure = make_subplots(
            rows=2, cols=1, shared_xaxes=True, row_heights=[0.16, 0.84], vertical_spacing=0.03
        )
        figure.add_trace(
            go.Image(hovertemplate="%{x:.2f} s · band %{y:.0f}<extra></extra>", name="spectrogram"),
            row=2,
            col=1,
        )
        figure.add_trace(
            go.Bar(
                x=[],
                base=[],
                y=[],
                orientation="h",
                textposition="inside",
                insidetextanchor="middle",
                textfont={"color": "white"},
                hovertemplate="%{text}: %{customdata}<extra></extra>",
                name="words",
                showlegend=False,
            ),
            row=1,
            col=1,
        )
        figure.add_trace(colour_bar(COLOURSCALE, -80.0, 0.0, "dB", len=0.8, y=0.42), row=2, col=1)
        figure.update_layout(
            height=height,
            margin={"l": 60, "r": 10, "t": 10, "b": 40},
            shapes=[_playhead_shape(0.0)],
            bargap=0.15,
        )
        figure.update_xaxes(title_text="time (s)", row=2, col=1)
        figure.update_yaxes(showticklabels=False, fixedrange=True, row=1, col=1)
        figure.update_yaxes(
            title_text="mel bands" if scale == "mel" else "frequency",
            scaleanchor=False,  # an image would otherwise force square pixels
            autorange=False,
            tickmode="array",
            row=2,
            col=1,
        )
        self.figure = go.FigureWidget(figure)
        self.image = self.figure.data[IMAGE]
        """The spectrogram picture: ``source`` is a PNG, row 0 the lowest band."""
        self.word_bars = self.figure.data[WORDS]
        self.scale_bar = self.figure.data[SCALE]
        self.levels: np.ndarray | None = None
        """Steps of :data:`DB_STEP` decibels above the floor, of every pixel shown (bands, columns)."""
        self.word_bars.on_click(self._on_word_click)
        self.image.on_click(self._on_image_click)
        super().__init__([self.title, self.figure], **kwargs)
        if player is not None:
            self.attach_player(player)

    # --- data ----------------------------------------------------------------------------
    def show(
        self,
        audio: Audio,
        recognition: Recognition | None = None,
        scores: Scores | None = None,
        *,
        untrained: bool = False,
        caption: str = "",
    ) -> None:
        """Draw ``audio``'s spectrogram and the recognised words, in place."""
        spec = spectrogram(audio, self.scale)
        self.spectrogram = spec
        values = pool(spec.values, self.max_columns, axis=0)  # (columns, bins)
        floor, peak = round(spec.floor_db), round(spec.peak_db)
        steps = min(max(round((peak - floor) / DB_STEP), 1), 255)
        source, self.levels = colour_image(values.T, floor, peak, COLOURSCALE, steps)
        x0, dx = pooled_extent(spec.n_frames, spec.frame_s, self.max_columns)
        # rows evenly spaced as the mel scale spaces them, a few labelled in Hz
        bins = len(spec.frequencies_hz)
        ticks = np.unique(np.linspace(0, bins - 1, Y_TICKS).round().astype(int))
        hz_labels = [f"{spec.frequencies_hz[b]:.0f} Hz" for b in ticks]

        self.words = recognition.words if recognition is not None else ()
        kinds = scores.hypothesis_word_kinds() if scores is not None else []
        if len(kinds) != len(self.words):
            kinds = ["equal" if scores is not None else "unscored"] * len(self.words)
        self.word_kinds = kinds
        colours = [KIND_COLOURS.get(k, "#607d8b") for k in kinds]
        starts = np.array([w.start_s for w in self.words], dtype=np.float32)
        durations = np.array([max(w.end_s - w.start_s, 1e-3) for w in self.words], dtype=np.float32)
        details = [
            f"{KIND_LABELS.get(k, k)}, {w.start_s:.2f}-{w.end_s:.2f} s (click to play)"
            for w, k in zip(self.words, kinds, strict=True)
        ]
        outlines = [
            {
                "type": "rect",
                "xref": "x2",
                "yref": "y2 domain",
                "x0": w.start_s,
                "x1": w.end_s,
                "y0": 0,
                "y1": 1,
                "line": {"color": c, "width": 1},
                "fillcolor": "rgba(0,0,0,0)",
            }
            for w, c in zip(self.words, colours, strict=True)
        ]
        with self.figure.batch_update():
            self.image.update(source=source, x0=x0, dx=dx, y0=0, dy=1)
            self.scale_bar.marker.update(cmin=floor, cmax=peak, color=[floor])
            self.word_bars.update(
                x=durations,
                base=starts,
                y=np.zeros(len(self.words), dtype=np.int8),
                text=[w.text for w in self.words],
                marker={"color": colours},
                customdata=details,
            )
            self.figure.layout.shapes = [_playhead_shape(0.0), *outlines]
            self.figure.layout.xaxis2.range = [0.0, audio.duration_s]
            self.figure.layout.yaxis2.update(
                range=[-0.5, bins - 0.5], tickvals=ticks.tolist(), ticktext=hz_labels
            )
        badge = untrained_badge(untrained)
        self.title.value = f"<b>Spectrogram</b> {html.escape(caption)} {badge}".strip()

    def show_roundtrip(self, result: RoundTrip) -> None:
        """What the recognizer heard, with its words coloured by their alignment to the text."""
        caption = (
            "clean" if result.snr_db is None else f"{result.noise} noise at {result.snr_db:g} dB"
        )
        self.show(
            result.audio,
            result.recognition,
            result.scores,
            untrained=result.untrained,
            caption=f"of what {result.recognition.model} heard ({caption})",
        )

    # --- playback ------------------------------------------------------------------------
    def attach_player(self, player: AudioPlayer) -> None:
        """Follow ``player`` with the playhead; word clicks play through it."""
        if self.player is not None:
            self.player.unobserve(self._on_time, names="current_time")
        self.player = player
        player.observe(self._on_time, names="current_time")

    @property
    def playhead_s(self) -> float:
        return float(self.figure.layout.shapes[PLAYHEAD].x0)

    def _on_time(self, change: dict[str, Any]) -> None:
        time_s = float(change["new"])
        with self.figure.batch_update():
            self.figure.layout.shapes[PLAYHEAD].update(x0=time_s, x1=time_s)

    def play_word(self, index: int) -> None:
        """Play the ``index``-th recognised word through the attached player."""
        word = self.words[index]
        if self.player is not None:
            self.player.play_range(word.start_s, word.end_s)

    def _on_word_click(self, trace: Any, points: Any, state: Any) -> None:
        if points.point_inds:
            self.play_word(points.point_inds[0])

    def _on_image_click(self, trace: Any, points: Any, state: Any) -> None:
        if points.xs and self.player is not None:
            self.player.seek(float(points.xs[0]))


def _playhead_shape(time_s: float) -> dict[str, Any]:
    return {
        "type": "line",
        "xref": "x2",
        "yref": "paper",
        "x0": time_s,
        "x1": time_s,
        "y0": 0,
        "y1": 1,
        "line": {"color": "#00e5ff", "width": 2},
    }
