"""What the views share: a status line, a busy context for buttons, colours for word errors, and
helpers that shrink arrays to the pixels shown before they cross the wire (as colour-mapped PNG
pictures) and measure them."""

from __future__ import annotations

import base64
import html
import json
import re
import struct
import time
import zlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

import ipywidgets as widgets
import numpy as np

from lab.errors import LabError
from lab.results import Recognition, Scores, Segment
from lab.text import normalize_for_scoring

MAX_COLUMNS = 600
"""Widest heatmap sent to the browser, in columns: about the pixels a notebook cell shows."""

KIND_COLOURS: dict[str, str] = {
    "equal": "#2e7d32",
    "substitute": "#ef6c00",
    "insert": "#c62828",
    "delete": "#6a1b9a",
}
KIND_LABELS: dict[str, str] = {
    "equal": "correct",
    "substitute": "substituted",
    "insert": "inserted",
    "delete": "deleted",
}

_STATUS_COLOURS = {"info": "#455a64", "busy": "#1565c0", "ok": "#2e7d32", "error": "#c62828"}


_ABSOLUTE_PATH = re.compile(r"(?<![\w.])(?:~|[A-Za-z]:)?(?:[/\\][^\s/\\:;,'\"()]+){2,}[/\\]?")


def hide_paths(message: str) -> str:
    """The message with absolute paths cut to their last part: a served page tells visitors
    which file, never where on the server it lives."""

    def last_part(match: re.Match[str]) -> str:
        parts = [p for p in re.split(r"[/\\]", match.group(0)) if p and p != "~"]
        return parts[-1] if parts else match.group(0)

    return _ABSOLUTE_PATH.sub(last_part, message)


# --- status line and busy buttons ------------------------------------------------------------
class StatusLine(widgets.HTML):
    """One line of text saying what is happening, what went wrong, or what came out."""

    def __init__(self, message: str = "", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.kind = "info"
        self.message = ""
        self.show(message)

    def show(self, message: str, kind: str = "info") -> None:
        message = hide_paths(message)
        self.kind = kind
        self.message = message
        icon = {"busy": "⏳ ", "error": "⚠ ", "ok": "✓ "}.get(kind, "")
        colour = _STATUS_COLOURS.get(kind, _STATUS_COLOURS["info"])
        text = html.escape(message)
        self.value = f'<span style="color:{colour}">{icon}{text}</span>' if message else ""

    def busy(self, message: str) -> None:
        self.show(message, "busy")

    def ok(self, message: str) -> None:
        self.show(message, "ok")

    def error(self, message: str) -> None:
        self.show(message, "error")


class Job:
    """Handed out by :func:`busy`: report progress; after the block, ``failed`` says how it went."""

    def __init__(self, status: StatusLine) -> None:
        self.status = status
        self.failed = False
        self.error: BaseException | None = None

    def progress(self, message: str) -> None:
        self.status.busy(message)

    __call__ = progress


@contextmanager
def busy(status: StatusLine, *controls: widgets.Widget, message: str = "Working…") -> Iterator[Job]:
    """Disable ``controls`` and show ``message`` while the block runs.

    A :class:`lab.LabError` ends the block with its one-sentence message in the status line and
    ``job.failed`` set, never a traceback. Any other exception is shown the same way and raised
    again, since it is a bug worth seeing.
    """
    previous = [getattr(c, "disabled", False) for c in controls]
    for control in controls:
        control.disabled = True
    job = Job(status)
    status.busy(message)
    try:
        yield job
    except LabError as exc:
        job.failed, job.error = True, exc
        status.error(str(exc) or type(exc).__name__)
    except Exception as exc:
        job.failed, job.error = True, exc
        # its text may quote server paths or internals: a visitor sees the kind, the log the rest
        status.error(
            f"Something went wrong ({type(exc).__name__}); the details are in the server log: "
            "try again or change the input."
        )
        raise
    finally:
        for control, was_disabled in zip(controls, previous, strict=True):
            control.disabled = was_disabled


class GuardedButton(widgets.Button):
    """A button that runs its handlers once per deliberate click.

    A kernel handles widget messages one after another, so clicks made while a run is busy wait
    in its queue and would each start one more run as soon as it ends. Every click message
    carries the time the browser sent it; a click sent before the previous run (measured from
    the browser's own click, so clock differences cancel) had finished is dropped and counted
    in ``ignored_clicks``. Clicks from code (``click()``) carry no time and always run, unless a
    handler is running already.
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.ignored_clicks = 0
        self._sent_at: datetime | None = None
        self._busy_until: datetime | None = None
        self._running = False

    def _handle_msg(self, msg: dict[str, Any]) -> None:
        self._sent_at = _message_time(msg)
        try:
            super()._handle_msg(msg)
        finally:
            self._sent_at = None

    def click(self) -> None:
        sent_at, self._sent_at = self._sent_at, None
        queued = (
            sent_at is not None
            and self._busy_until is not None
            and _comparable(sent_at, self._busy_until)
            and sent_at < self._busy_until
        )
        if self._running or queued:
            self.ignored_clicks += 1
            return
        started = time.monotonic()
        self._running = True
        try:
            super().click()
        finally:
            self._running = False
            if sent_at is not None:
                self._busy_until = sent_at + timedelta(seconds=time.monotonic() - started)


def _message_time(msg: dict[str, Any]) -> datetime | None:
    value = (msg.get("header") or {}).get("date")
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
    return value if isinstance(value, datetime) else None


def _comparable(a: datetime, b: datetime) -> bool:
    return (a.tzinfo is None) == (b.tzinfo is None)


def set_visible(widget: widgets.Widget, visible: bool) -> None:
    widget.layout.display = None if visible else "none"


def is_visible(widget: widgets.Widget) -> bool:
    return widget.layout.display != "none"


def untrained_badge(untrained: bool) -> str:
    """An HTML badge that marks results of random-weight models, or '' for trained ones."""
    if not untrained:
        return ""
    return (
        '<span class="speechlab-untrained" style="background:#fff3e0;color:#e65100;'
        'border:1px solid #e65100;border-radius:3px;padding:0 4px;font-weight:bold">'
        "untrained</span>"
    )


# --- binding recognised words to their times -------------------------------------------------
def hypothesis_word_segments(recognition: Recognition, scores: Scores) -> list[Segment | None]:
    """The recognised word segment behind each word of ``scores.hypothesis_words``.

    Scoring normalises text (numbers spelled out, hyphens split), so one segment may give several
    scored words; each of them gets that segment. ``None`` where the recognizer gave no times.
    """
    hypothesis = scores.hypothesis_words
    out: list[Segment | None] = []
    for segment in recognition.words:
        out.extend([segment] * len(normalize_for_scoring(segment.text).split()))
    if len(out) != len(hypothesis):
        return [None] * len(hypothesis)
    return out


# --- shrinking arrays for the wire -----------------------------------------------------------
def pool(values: np.ndarray, max_size: int, axis: int = 0, how: str = "mean") -> np.ndarray:
    """Shrink ``axis`` to at most ``max_size`` entries by averaging (or taking the max of) runs of
    neighbours; arrays already small enough come back unchanged."""
    values = np.asarray(values)
    n = values.shape[axis]
    if n <= max_size:
        return values
    starts = np.linspace(0, n, max_size + 1).astype(np.int64)[:-1]
    moved = np.moveaxis(values.astype(np.float64), axis, 0)
    if how == "max":
        out = np.maximum.reduceat(moved, starts, axis=0)
    elif how == "mean":
        counts = np.diff(np.append(starts, n)).reshape((-1,) + (1,) * (moved.ndim - 1))
        out = np.add.reduceat(moved, starts, axis=0) / counts
    else:
        raise ValueError(f"how must be 'mean' or 'max', got {how!r}")
    return np.moveaxis(out, 0, axis)


def pooled_positions(n: int, max_size: int) -> np.ndarray:
    """Centre (in source index units) of each entry :func:`pool` makes of ``n`` entries."""
    if n <= max_size:
        return np.arange(n, dtype=np.float64)
    starts = np.linspace(0, n, max_size + 1).astype(np.int64)
    return (starts[:-1] + starts[1:] - 1) / 2.0


def quantize(values: np.ndarray, lo: float, hi: float, levels: int = 100) -> np.ndarray:
    """Map ``lo``…``hi`` to the integers 0…``levels`` (uint8): a short JSON number per cell."""
    if not 1 <= levels <= 255:
        raise ValueError("levels must be between 1 and 255")
    span = hi - lo if hi > lo else 1.0
    scaled = (np.clip(np.asarray(values, dtype=np.float64), lo, hi) - lo) / span * levels
    return np.rint(scaled).astype(np.uint8)


def round_to(values: np.ndarray, lo: float, hi: float, step: float = 1.0) -> np.ndarray:
    """Clip to ``lo``…``hi`` and round to multiples of ``step``: int16 when ``step`` is whole,
    otherwise float64 values whose JSON form is short (e.g. -3.5, not -3.4999998)."""
    clipped = np.clip(np.asarray(values, dtype=np.float64), lo, hi)
    rounded = np.rint(clipped / step) * step
    if float(step).is_integer():
        return rounded.astype(np.int16)
    decimals = max(0, -int(np.floor(np.log10(step))))
    return np.round(rounded, decimals)


def time_axis(n: int, step_s: float, max_size: int = MAX_COLUMNS) -> np.ndarray:
    """Seconds at the centre of each pooled column, as float32 (sent as a binary buffer)."""
    return (pooled_positions(n, max_size) * step_s).astype(np.float32)


# --- pictures instead of number grids --------------------------------------------------------
# plotly sends a 2-D heatmap ``z`` as a JSON list of lists (no binary buffers), about 3-18 bytes a
# cell. A palette PNG of the same cells is about one byte a cell before deflate, a fraction after.
PNG_PREFIX = "data:image/png;base64,"


def colour_palette(colorscale: str, levels: int) -> np.ndarray:
    """``levels + 1`` RGB colours (uint8) sampled evenly along a named plotly colour scale: the
    colour of each integer :func:`quantize` gives."""
    from plotly.colors import get_colorscale, sample_colorscale

    samples = sample_colorscale(get_colorscale(colorscale), list(np.linspace(0.0, 1.0, levels + 1)))
    rgb = [[round(float(c)) for c in re.findall(r"[\d.]+", colour)[:3]] for colour in samples]
    return np.asarray(rgb, dtype=np.uint8)


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    body = kind + data
    return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)


def png_bytes(indices: np.ndarray, palette: np.ndarray) -> bytes:
    """A palette PNG (8 bits a pixel) whose pixel (row, column) has colour
    ``palette[indices[row, column]]``; row 0 is the first row of the file.

    Each of the filters none, Sub and Up is tried on the whole picture and the smallest result
    kept: smooth pictures (speech spectrograms) shrink most with Up, noisy ones with none.
    """
    cells = np.ascontiguousarray(indices, dtype=np.uint8)
    if cells.ndim != 2 or cells.size == 0:
        raise ValueError(f"a PNG needs a non-empty 2-D array of indices, got shape {cells.shape}")
    palette = np.asarray(palette, dtype=np.uint8).reshape(-1, 3)
    if int(cells.max()) >= len(palette):
        raise ValueError("every index needs a palette colour")
    height, width = cells.shape
    candidates = []
    for kind in (0, 1, 2):  # none, Sub (left neighbour), Up (row above)
        if kind == 0:
            rows = cells
        elif kind == 1:
            rows = np.diff(cells, axis=1, prepend=np.uint8(0)).astype(np.uint8)
        else:
            rows = np.diff(cells, axis=0, prepend=np.zeros((1, width), np.uint8)).astype(np.uint8)
        raw = np.hstack([np.full((height, 1), kind, np.uint8), rows]).tobytes()
        candidates.append(zlib.compress(raw, 9))
    header = struct.pack(">IIBBBBB", width, height, 8, 3, 0, 0, 0)  # 8-bit, palette
    return b"".join(
        [
            b"\x89PNG\r\n\x1a\n",
            _png_chunk(b"IHDR", header),
            _png_chunk(b"PLTE", palette.tobytes()),
            _png_chunk(b"IDAT", min(candidates, key=len)),
            _png_chunk(b"IEND", b""),
        ]
    )


def png_data_uri(indices: np.ndarray, palette: np.ndarray) -> str:
    """:func:`png_bytes` as a ``data:`` URI, what a plotly ``go.Image(source=...)`` shows."""
    return PNG_PREFIX + base64.b64encode(png_bytes(indices, palette)).decode("ascii")


def colour_image(
    values: np.ndarray, lo: float, hi: float, colorscale: str, levels: int
) -> tuple[str, np.ndarray]:
    """``values`` (rows, columns) clipped to ``lo``…``hi``, cut into ``levels`` equal steps and
    coloured along ``colorscale``: the PNG data URI and the step index of every cell."""
    steps = quantize(values, lo, hi, levels)
    return png_data_uri(steps, colour_palette(colorscale, levels)), steps


def pooled_extent(n: int, step: float, max_size: int = MAX_COLUMNS) -> tuple[float, float]:
    """Centre of the first column and width of every column, in units of ``step``, once
    :func:`pool` has shrunk ``n`` entries (centred at ``i * step``) to at most ``max_size``:
    the ``x0``/``dx`` (or ``y0``/``dy``) of an image of the pooled array."""
    width = n / min(n, max_size) if n else 1.0
    return (width - 1.0) / 2.0 * step, width * step


def colour_bar(colorscale: str, lo: float, hi: float, title: str, **colorbar: Any) -> Any:
    """A trace that draws nothing but a colour bar from ``lo`` to ``hi``: pictures have none."""
    import plotly.graph_objects as go

    return go.Scatter(
        x=[None],
        y=[None],
        mode="markers",
        marker={
            "color": [lo],
            "cmin": lo,
            "cmax": hi,
            "colorscale": colorscale,
            "showscale": True,
            "colorbar": {"title": {"text": title}, **colorbar},
        },
        hoverinfo="skip",
        showlegend=False,
        name=f"{title} scale",
    )


# --- measuring what crosses the wire ---------------------------------------------------------
def _json_and_buffers(state: Any) -> int:
    from ipywidgets.widgets.widget import _remove_buffers

    stripped, _paths, buffers = _remove_buffers(state)
    text = json.dumps(stripped, separators=(",", ":"), allow_nan=True, default=str)
    return len(text.encode()) + sum(memoryview(b).nbytes for b in buffers)


def payload_bytes(widget_or_fig: Any) -> int:
    """Bytes a figure's data and layout (or a widget's synced state, or a container's children)
    take as JSON plus binary buffers, serialised the way the widget sends them."""
    import plotly.graph_objects as go
    from plotly.serializers import _py_to_js

    obj = widget_or_fig
    if isinstance(obj, (go.FigureWidget, go.Figure)):
        data = [dict(trace) for trace in obj._data]
        return _json_and_buffers(_py_to_js({"data": data, "layout": obj._layout}, None))
    if isinstance(obj, widgets.Box):
        return sum(payload_bytes(child) for child in obj.children)
    if isinstance(obj, widgets.Widget):
        return _json_and_buffers(obj.get_state())
    if hasattr(obj, "children"):
        return sum(payload_bytes(child) for child in obj.children)
    raise TypeError(f"payload_bytes needs a figure or a widget, got {type(obj).__name__}")


class WireMeter:
    """Counts the bytes of every widget message sent to the browser while it is active."""

    def __init__(self) -> None:
        self.messages = 0
        self.total_bytes = 0
        self.by_widget: dict[str, int] = {}

    def add(
        self, widget: widgets.Widget, msg: dict[str, Any], buffers: Sequence[Any] | None
    ) -> None:
        size = len(json.dumps(msg, separators=(",", ":"), allow_nan=True, default=str).encode())
        size += sum(memoryview(b).nbytes for b in buffers or ())
        self.messages += 1
        self.total_bytes += size
        name = type(widget).__name__
        self.by_widget[name] = self.by_widget.get(name, 0) + size


@contextmanager
def measure_wire() -> Iterator[WireMeter]:
    """``with measure_wire() as meter:`` counts what widgets send in the block."""
    meter = WireMeter()
    original = widgets.Widget._send

    def counting_send(self: widgets.Widget, msg: dict[str, Any], buffers: Any = None) -> None:
        meter.add(self, msg, buffers)
        original(self, msg, buffers)

    widgets.Widget._send = counting_send  # type: ignore[method-assign]
    try:
        yield meter
    finally:
        widgets.Widget._send = original  # type: ignore[method-assign]
