"""Where a model looked: SpeechT5 cross-attention (text tokens over decoder time) or a CTC
recognizer's self-attention (frames over frames), one layer and head at a time.

The head shown reaches the browser as a colour-mapped PNG (percent of its largest weight, one
pixel per pooled step and token), a small part of the bytes of a heatmap's JSON grid. Hovering the
picture tells where it is, not the weight: it carries colours, not values.
"""

from __future__ import annotations

import html
from typing import Any

import ipywidgets as widgets
import numpy as np
import plotly.graph_objects as go

from lab.attention import diagonality, head_scores
from lab.results import Recognition, Synthesis
from widgets._common import (
    colour_bar,
    colour_image,
    pool,
    pooled_extent,
    set_visible,
    untrained_badge,
)

MEAN = "mean"
BEST = "best"
CROSS = "synthesis"
SELF = "recognition"
MAX_SELF_ATTENTION = 300
"""Self-attention is square: at most this many frames a side reach the browser."""
MAX_STEPS = 600
COLOURSCALE = "Viridis"
PERCENT_STEP = 2
"""Weights are shown in steps of this many percent of the head's largest weight."""


def _token_label(token: str) -> str:
    return "␣" if token in (" ", "▁") else token.replace("▁", "␣")


class AttentionMap(widgets.VBox):
    """Heatmap of one attention head (or the mean of a layer's heads, or the most diagonal head),
    with its diagonality score (:func:`lab.attention.diagonality`)."""

    def __init__(self, *, height: int = 360, **kwargs: Any) -> None:
        self._sources: dict[str, dict[str, Any]] = {}
        self.title = widgets.HTML("<b>Attention</b>")
        self.source = widgets.ToggleButtons(
            options=[("synthesizer cross-attention", CROSS), ("recognizer self-attention", SELF)],
            value=CROSS,
        )
        self.layer = widgets.Dropdown(description="layer", options=[("1", 0)], value=0)
        self.head = widgets.Dropdown(
            description="head",
            options=[("average of all heads", MEAN), ("most diagonal head", BEST)],
            value=BEST,
        )
        for control in (self.layer, self.head):
            control.layout.width = "230px"
        self.score = widgets.HTML()
        self.figure = go.FigureWidget(
            [go.Image(name="attention"), colour_bar(COLOURSCALE, 0, 100, "% of max")],
            layout={
                "height": height,
                "margin": {"l": 70, "r": 10, "t": 10, "b": 40},
                "xaxis": {"title": {"text": "time (s)"}},
            },
        )
        self.image, self.scale_bar = self.figure.data
        """The picture (``source`` a PNG; rows are tokens, or attended frames) and its colour bar."""
        self.levels: np.ndarray | None = None
        """Steps of :data:`PERCENT_STEP` % of the largest weight, of every pixel shown."""
        self.matrix: np.ndarray | None = None
        """The (steps, tokens) matrix shown now, at full resolution."""
        self.shown_layer = self.shown_head = 0
        self.diagonality: float | None = None
        self.source.observe(self._on_source, names="value")
        self.layer.observe(self._redraw, names="value")
        self.head.observe(self._redraw, names="value")
        controls = widgets.HBox([self.layer, self.head, self.score])
        super().__init__([self.title, self.source, controls, self.figure], **kwargs)
        set_visible(self, False)

    # --- data ----------------------------------------------------------------------------
    @property
    def available(self) -> bool:
        return bool(self._sources)

    def show(
        self, synthesis: Synthesis | None = None, recognition: Recognition | None = None
    ) -> None:
        """Take the attention these results carry; hide the view when they carry none."""
        sources: dict[str, dict[str, Any]] = {}
        if synthesis is not None and synthesis.cross_attention is not None:
            attention = synthesis.cross_attention
            steps_per_s = synthesis.steps_per_second or 1.0
            sources[CROSS] = {
                "attention": attention,
                "step_s": 1.0 / steps_per_s,
                "labels": [_token_label(t) for t in synthesis.tokens],
                "model": synthesis.model,
                "untrained": synthesis.untrained,
                "y_title": "text token",
            }
        if recognition is not None and recognition.attentions is not None:
            sources[SELF] = {
                "attention": recognition.attentions,
                "step_s": recognition.frame_s or 0.02,
                "labels": None,
                "model": recognition.model,
                "untrained": recognition.untrained,
                "y_title": "attended time (s)",
            }
        for source in sources.values():
            source["scores"] = None  # computed when first shown
        self._sources = sources
        set_visible(self, bool(sources))
        if not sources:
            self.matrix = None
            return
        set_visible(self.source, len(sources) == 2)
        if self.source.value in sources:
            self._on_source({"new": self.source.value})
        else:
            self.source.value = next(iter(sources))  # its observer draws

    def _on_source(self, change: dict[str, Any]) -> None:
        source = self._sources.get(change["new"])
        if source is None:
            return
        layers, heads = source["attention"].shape[:2]
        options = [("average of all heads", MEAN), ("most diagonal head", BEST)]
        options += [(f"head {h + 1}", h) for h in range(heads)]
        layer_options = [(str(i + 1), i) for i in range(layers)]
        keep_head = self.head.value if self.head.value in (MEAN, BEST) else BEST
        self.layer.unobserve(self._redraw, names="value")
        self.head.unobserve(self._redraw, names="value")
        try:
            self.layer.options = layer_options
            self.layer.value = min(self.layer.value or 0, layers - 1)
            self.head.options = options
            self.head.value = keep_head
        finally:
            self.layer.observe(self._redraw, names="value")
            self.head.observe(self._redraw, names="value")
        self._redraw()

    def _scores(self, source: dict[str, Any]) -> np.ndarray:
        if source["scores"] is None:
            attention = source["attention"]
            if source["labels"] is None:  # square self-attention: score what is shown
                attention = pool(pool(attention, MAX_SELF_ATTENTION, 2), MAX_SELF_ATTENTION, 3)
            source["scores"] = head_scores(attention)
        return source["scores"]

    def _redraw(self, change: dict[str, Any] | None = None) -> None:
        source = self._sources.get(self.source.value)
        if source is None:
            return
        attention = source["attention"]
        head = self.head.value
        if head == BEST:
            scores = self._scores(source)
            layer, head_index = np.unravel_index(int(np.argmax(scores)), scores.shape)
            layer, head_index = int(layer), int(head_index)
            self.layer.unobserve(self._redraw, names="value")
            self.layer.value = layer
            self.layer.observe(self._redraw, names="value")
            matrix = attention[layer, head_index]
            which = f"layer {layer + 1}, head {head_index + 1} (most diagonal)"
        else:
            layer = int(self.layer.value)
            if head == MEAN:
                head_index = -1
                matrix = attention[layer].mean(axis=0)
                which = f"layer {layer + 1}, average of {attention.shape[1]} heads"
            else:
                head_index = int(head)
                matrix = attention[layer, head_index]
                which = f"layer {layer + 1}, head {head_index + 1}"
        self.layer.disabled = head == BEST
        self.matrix = np.asarray(matrix)
        self.shown_layer, self.shown_head = layer, head_index
        self._draw(source, self.matrix)
        square = source["labels"] is None
        shown = self.matrix
        if square:
            shown = pool(pool(shown, MAX_SELF_ATTENTION, 0), MAX_SELF_ATTENTION, 1)
        self.diagonality = diagonality(shown)
        self.score.value = (
            f"diagonality <b>{self.diagonality:.2f}</b> "
            '<span title="share of attention near the best monotonic path, times the share of '
            'tokens it reaches (1 = reads every token once, in order)">ⓘ</span>'
        )
        badge = untrained_badge(source["untrained"])
        kind = "cross-attention" if not square else "self-attention"
        self.title.value = (
            f"<b>Attention</b> {html.escape(source['model'])} {kind}, {which} {badge}"
        ).strip()

    def _draw(self, source: dict[str, Any], matrix: np.ndarray) -> None:
        steps, keys = matrix.shape
        step_s = source["step_s"]
        square = source["labels"] is None
        limit_x = MAX_SELF_ATTENTION if square else MAX_STEPS
        limit_y = MAX_SELF_ATTENTION if square else keys
        shown = pool(pool(matrix, limit_x, 0), limit_y, 1)  # (steps', keys')
        peak = float(shown.max()) or 1.0
        image, self.levels = colour_image(  # rows: tokens (or attended frames)
            shown.T, 0.0, peak, COLOURSCALE, 100 // PERCENT_STEP
        )
        x0, dx = pooled_extent(steps, step_s, limit_x)
        # an image would otherwise force square pixels
        yaxis: dict[str, Any] = {"title": {"text": source["y_title"]}, "scaleanchor": False}
        if square:
            y0, dy = pooled_extent(keys, step_s, limit_y)
            hover = "query %{x:.2f} s · key %{y:.2f} s<extra></extra>"
            yaxis.update(tickmode="auto", autorange=True)  # attended time goes up
        else:
            y0, dy = 0.0, 1.0
            labels = source["labels"]
            hover = "%{x:.2f} s · token %{y}<extra></extra>"
            yaxis.update(
                tickmode="array",
                tickvals=list(range(keys)),
                # tick text is read as HTML: a bare "</s>" breaks the whole layout
                ticktext=[html.escape(label, quote=False) for label in labels[:keys]],
                autorange="reversed",  # the first token on top
            )
        with self.figure.batch_update():
            self.image.update(source=image, x0=x0, dx=dx, y0=y0, dy=dy, hovertemplate=hover)
            self.figure.layout.yaxis = yaxis
            self.figure.layout.xaxis.title.text = "query time (s)" if square else "decoder time (s)"
