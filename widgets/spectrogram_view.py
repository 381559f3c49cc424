"""The spectrogram of what the recognizer heard, with its recognised words and a playhead."""

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
    pool,
    round_to,
    time_axis,
    untrained_badge,
)
from widgets.audio_player import AudioPlayer

HEATMAP, WORDS = 0, 1
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
            go.Heatmap(
                z=[[0.0]],
                colorscale="Magma",
                colorbar={"title": {"text": "dB"}, "len": 0.8, "y": 0.42},
                hovertemplate="%{x:.2f} s · %{y} · %{z} dB<extra></extra>",
                name="spectrogram",
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
            type="category",
            nticks=8,
            row=2,
            col=1,
        )
        self.figure = go.FigureWidget(figure)
        self.heatmap = self.figure.data[HEATMAP]
        self.word_bars = self.figure.data[WORDS]
        self.word_bars.on_click(self._on_word_click)
        self.heatmap.on_click(self._on_heatmap_click)
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
        z = round_to(values.T, spec.floor_db, spec.peak_db, 1.0)  # (bins, columns), whole dB
        x = time_axis(spec.n_frames, spec.frame_s, self.max_columns)
        # one category per bin: evenly spaced rows labelled in Hz, as the mel scale spaces them
        hz_labels = [f"{f:.0f} Hz" for f in spec.frequencies_hz]

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
            self.heatmap.update(
                z=z,
                x=x,
                y=hz_labels,
                zmin=round(spec.floor_db),
                zmax=round(spec.peak_db),
            )
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
        badge = untrained_badge(untrained)
        self.title.value = f"<b>Spectrogram</b> {html.escape(caption)} {badge}".strip()

    def show_roundtrip(self, result: RoundTrip) -> None:
        """What the recognizer heard, with its words coloured by their alignment to the text."""
        caption = "clean" if result.snr_db is None else f"{result.noise} noise at {result.snr_db:g} dB"
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

    def _on_heatmap_click(self, trace: Any, points: Any, state: Any) -> None:
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
