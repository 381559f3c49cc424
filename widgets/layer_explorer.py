"""How a wav2vec2/HuBERT representation changes from layer to layer.

Left: a heatmap, layers × time, of how similar each layer's frame is to the final layer's frame
at the same moment (cosine). Right: one layer's frames projected to two dimensions (PCA), each
dot coloured by the character aligned to it. Moving the layer slider moves the dots in place.

The similarities reach the browser as a colour-mapped PNG (steps of 0.01, one pixel per layer and
pooled frame), a small part of the bytes of a heatmap's JSON grid. Hovering the picture tells the
time, not the similarity: it carries colours, not values.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import ipywidgets as w
import numpy as np
import plotly.graph_objects as go

import lab
from lab.errors import LabError
from lab.layers import (
    NO_CHAR,
    frame_chars,
    frame_times,
    layer_names,
    project_layer,
    similarity_to_final,
)
from lab.results import Recognition, RoundTrip
from widgets._common import (
    MAX_COLUMNS,
    StatusLine,
    busy,
    colour_bar,
    colour_image,
    pool,
    pooled_extent,
    set_visible,
    untrained_badge,
)

DEFAULT_RECOGNIZERS: tuple[str, ...] = ("wav2vec2-base-960h", "hubert-large-ls960-ft")
NO_CHAR_LABEL = "(no character)"
COLOURSCALE = "RdBu_r"
SIMILARITY_STEP = 0.01
"""The picture shows cosine similarity (-1 to 1) in steps of this size: one colour a step."""
MAX_POINTS = 3000
"""Most frames drawn in the projection (one minute at 20 ms); longer clips are subsampled."""
_PALETTE = (
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#bcbd22",
    "#17becf", "#393b79", "#637939", "#8c6d31", "#843c39", "#7b4173", "#3182bd", "#e6550d",
    "#31a354", "#756bb1", "#636363", "#fd8d3c", "#74c476", "#9e9ac8", "#e7969c", "#6baed6",
    "#fdae6b", "#a1d99b", "#bcbddc", "#d6616b", "#ce6dbd", "#de9ed6",
)  # fmt: skip


class LayerExplorer(w.VBox):
    """Type a sentence, run it through a synthesizer and a CTC recogniser, and look at the
    recogniser's layers; or call :meth:`show` with a Recognition / RoundTrip made elsewhere
    (it needs ``output_hidden_states=True``)."""

    def __init__(
        self,
        result: Recognition | RoundTrip | None = None,
        *,
        text: str = "Speech recognition is getting better every year.",
        recognizers: Sequence[str | Path] = DEFAULT_RECOGNIZERS,
        synthesizer: Any = None,
        **kwargs: Any,
    ) -> None:
        self.synthesizer = synthesizer
        self.recognition: Recognition | None = None
        self._frames_of_trace: list[np.ndarray] = []
        """Frame indices drawn by each projection trace (one trace per aligned character)."""

        self.text = w.Text(value=text, description="Sentence", layout=w.Layout(width="40em"))
        self.recognizer = w.Dropdown(
            options=[str(r) for r in recognizers], description="Recogniser"
        )
        self.run_button = w.Button(description="Run", button_style="primary", icon="play")
        self.layer = w.IntSlider(
            min=0, max=0, value=0, description="Layer", continuous_update=False
        )
        self.layer_label = w.Label()
        self.badge = w.HTML()
        self.status = StatusLine()

        self.heatmap = go.FigureWidget(
            data=[
                go.Image(hovertemplate="%{x:.2f} s<extra></extra>", name="similarity"),
                colour_bar(COLOURSCALE, -1.0, 1.0, "cos", len=0.9),
            ],
            layout=go.Layout(
                title={"text": "Similarity to the final layer"},
                xaxis={"title": {"text": "time (s)"}},
                # an image would otherwise force square pixels
                yaxis={"title": {"text": "layer"}, "scaleanchor": False, "tickmode": "array"},
                height=360,
                margin={"l": 70, "r": 10, "t": 40, "b": 40},
                shapes=[_layer_box(0)],
            ),
        )
        self.similarity_image = self.heatmap.data[0]
        """The picture: ``source`` is a PNG, row 0 (at the bottom) the features."""
        self.levels: np.ndarray | None = None
        """Steps of :data:`SIMILARITY_STEP` above -1 of every pixel shown (layers, columns)."""
        self.projection = go.FigureWidget(
            layout=go.Layout(
                title={"text": "Frames of layer 0 (PCA)"},
                xaxis={"title": {"text": "PC 1"}, "zeroline": False},
                yaxis={"title": {"text": "PC 2"}, "zeroline": False},
                height=360,
                margin={"l": 50, "r": 10, "t": 40, "b": 40},
                legend={"title": {"text": "aligned char"}},
            )
        )
        self.figures = w.HBox([self.heatmap, self.projection])
        set_visible(self.figures, False)
        set_visible(self.layer, False)
        super().__init__(
            [
                w.HBox([self.text, self.recognizer, self.run_button]),
                self.status,
                w.HBox([self.layer, self.layer_label, self.badge]),
                self.figures,
            ],
            **kwargs,
        )
        self.add_class("speechlab-layer-explorer")
        self.run_button.on_click(lambda _: self.run())
        self.layer.observe(lambda change: self._show_layer(change["new"]), names="value")
        if result is not None:
            self.show(result)

    # --- actions --------------------------------------------------------------------------
    def run(self) -> None:
        """Synthesise the sentence, recognise it with hidden states, and show the layers."""
        with busy(self.status, self.run_button, self.text, self.recognizer, self.layer) as job:
            result = lab.roundtrip(
                self.text.value,
                self.synthesizer,
                self.recognizer.value,
                output_hidden_states=True,
                progress=job.progress,
            )
        if not job.failed:
            self.show(result)

    def show(self, result: Recognition | RoundTrip) -> None:
        """Draw the layers of a recognition (or of a round trip's recognition)."""
        recognition = result.recognition if isinstance(result, RoundTrip) else result
        self.recognition = recognition
        try:
            similarity = similarity_to_final(recognition)
            times = frame_times(recognition)
        except LabError as exc:
            set_visible(self.figures, False)
            set_visible(self.layer, False)
            self.badge.value = ""
            self.status.error(str(exc))
            return
        names = layer_names(similarity.shape[0])
        frame_s = float(times[1] - times[0]) if times.size > 1 else float(times[0] * 2)
        pooled = pool(similarity, MAX_COLUMNS, axis=1)
        self._build_projection_traces(frame_chars(recognition), times)
        levels = round(2.0 / SIMILARITY_STEP)
        source, self.levels = colour_image(pooled, -1.0, 1.0, COLOURSCALE, levels)
        x0, dx = pooled_extent(similarity.shape[1], frame_s)
        with self.heatmap.batch_update():
            self.similarity_image.update(source=source, x0=x0, dx=dx, y0=0, dy=1)
            self.heatmap.layout.yaxis.update(
                range=[-0.5, len(names) - 0.5],
                tickvals=list(range(len(names))),
                ticktext=list(names),
            )
        with self.layer.hold_trait_notifications():
            self.layer.max = similarity.shape[0] - 1
            if self.layer.value > self.layer.max:
                self.layer.value = self.layer.max
        self.badge.value = untrained_badge(recognition.untrained)
        set_visible(self.figures, True)
        set_visible(self.layer, True)
        self._show_layer(self.layer.value)
        mean = similarity.mean(axis=1)
        self.status.ok(
            f"{recognition.model}: {similarity.shape[0] - 1} layers, {similarity.shape[1]} frames; "
            f"mean similarity to the final layer {mean[0]:.2f} for the features, "
            f"{mean[len(mean) // 2]:.2f} at {names[len(mean) // 2]}."
        )

    # --- drawing --------------------------------------------------------------------------
    def _build_projection_traces(self, chars: tuple[str, ...], times: np.ndarray) -> None:
        """One trace per character (legend entries to toggle); rebuilt only for a new recognition."""
        keep = _subsample(len(chars), MAX_POINTS)
        labels = sorted({chars[i] for i in keep}, key=lambda c: (c == NO_CHAR, c))
        self._frames_of_trace = []
        traces = []
        for i, char in enumerate(labels):
            idx = np.array([k for k in keep if chars[k] == char], dtype=np.int64)
            self._frames_of_trace.append(idx)
            traces.append(
                go.Scattergl(
                    x=np.zeros(idx.size, np.float32),
                    y=np.zeros(idx.size, np.float32),
                    mode="markers",
                    name=NO_CHAR_LABEL if char == NO_CHAR else char,
                    marker={
                        "size": 5 if char == NO_CHAR else 8,
                        "color": "#c7c7c7" if char == NO_CHAR else _PALETTE[i % len(_PALETTE)],
                    },
                    customdata=times[idx].astype(np.float32),
                    hovertemplate=f"{char or 'none'} at %{{customdata:.2f}} s<extra></extra>",
                )
            )
        with self.projection.batch_update():
            self.projection.data = ()
            self.projection.add_traces(traces)

    def _show_layer(self, layer: int) -> None:
        if self.recognition is None or self.recognition.hidden_states is None:
            return
        projection = project_layer(self.recognition, layer)
        names = layer_names(self.recognition.hidden_states.shape[0])
        with self.projection.batch_update(), self.heatmap.batch_update():
            for trace, frames in zip(self.projection.data, self._frames_of_trace, strict=True):
                points = projection.points[frames]
                trace.x = points[:, 0]
                trace.y = points[:, 1]
            share = projection.explained_variance
            self.projection.layout.title.text = (
                f"Frames of {names[layer]} (PCA: {share[0]:.0%} + {share[1]:.0%} of variance)"
            )
            self.heatmap.layout.shapes = [_layer_box(layer)]
        self.layer_label.value = names[layer]


def _layer_box(layer: int) -> dict[str, Any]:
    """An outline around the chosen layer's row of the heatmap."""
    return {
        "type": "rect",
        "xref": "paper",
        "yref": "y",
        "x0": 0,
        "x1": 1,
        "y0": layer - 0.5,
        "y1": layer + 0.5,
        "line": {"color": "black", "width": 2},
        "fillcolor": "rgba(0,0,0,0)",
    }


def _subsample(n: int, max_points: int) -> list[int]:
    if n <= max_points:
        return list(range(n))
    return [int(i) for i in np.linspace(0, n - 1, max_points).round().astype(np.int64)]
