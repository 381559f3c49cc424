"""How fast recognition falls apart as noise rises: WER (or CER) against SNR, one line per
recogniser, drawn as the sweep's rows arrive, with the rows as a CSV download and each
recogniser's SNR at 50 % WER (with its bootstrap interval) at the end."""

from __future__ import annotations

import html
import math
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import ipywidgets as w
import numpy as np
import plotly.graph_objects as go

from lab.errors import LabError
from lab.metrics import corpus_scores
from lab.noise import SNR_NOISES
from lab.robustness import snr50
from lab.sweep import SweepRow, rows_to_csv, run_sweep
from widgets._common import StatusLine, busy, set_visible, untrained_badge
from widgets.listening_test import csv_link

DEFAULT_SENTENCES = (
    "The birch canoe slid on the smooth planks.",
    "Glue the sheet to the dark blue background.",
    "It's easy to tell the depth of a well.",
)
DEFAULT_SNRS = "clean, 20, 10, 5, 0"
CSV_FILENAME = "robustness_sweep.csv"
METRICS = {"WER": "wer", "CER": "cer"}
_COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#17becf")


def parse_snrs(text: str) -> list[float | None]:
    """'clean, 20, 10, 0' -> [None, 20.0, 10.0, 0.0]: 'clean' (or 'none', 'inf') means no noise."""
    values: list[float | None] = []
    for part in text.replace(";", ",").split(","):
        item = part.strip().lower().removesuffix("db").strip()
        if not item:
            continue
        if item in ("clean", "none", "inf"):
            values.append(None)
            continue
        try:
            value = float(item)
        except ValueError:
            raise LabError(
                f"{part.strip()!r} is not an SNR: list numbers of dB and 'clean', e.g. "
                f"'{DEFAULT_SNRS}'."
            ) from None
        if not math.isfinite(value):
            raise LabError(f"SNR values must be finite numbers of dB, got {part.strip()!r}.")
        values.append(value)
    if not values:
        raise LabError(f"List at least one SNR, e.g. '{DEFAULT_SNRS}'.")
    return list(dict.fromkeys(values))  # drop repeats, keep order


def _label(name: str) -> str:
    """Legend label: a folder's last part, a registry name as it is."""
    return Path(name).name if ("/" in name or "\\" in name) and Path(name).exists() else name


class RobustnessSweep(w.VBox):
    """Sentences × SNRs × recognisers through :func:`lab.sweep.run_sweep`.

    ``rows`` holds every :class:`lab.sweep.SweepRow` of the last run, in arrival order.
    ``workers`` is passed to ``run_sweep`` (None: one process per core; 1: in this process).
    With ``background=True`` the Run button starts the sweep on a thread, so that the page stays
    live while it runs: the Stop button ends it after the job in progress, keeping the rows
    that arrived. ``run()`` itself always runs to the end (or the stop) before returning.
    """

    def __init__(
        self,
        recognizers: Sequence[str | Path] = ("pocketsphinx",),
        *,
        synthesizer: Any = None,
        sentences: Sequence[str] = DEFAULT_SENTENCES,
        snrs: str = DEFAULT_SNRS,
        workers: int | None = None,
        background: bool = False,
        **kwargs: Any,
    ) -> None:
        if not recognizers:
            raise ValueError("Offer at least one recogniser.")
        self.synthesizer = synthesizer
        self.workers = workers
        self.background = background
        self.running = False
        """True while a sweep's rows are arriving."""
        self.thread: threading.Thread | None = None
        self._stop = threading.Event()
        self.rows: list[SweepRow] = []
        self._snr_order: list[float | None] = []
        self._recognizer_order: list[str] = []
        self._groups: dict[tuple[str, float | None], list[SweepRow]] = {}

        names = [str(r) for r in recognizers]
        self.sentences = w.Textarea(
            value="\n".join(sentences),
            description="Sentences",
            placeholder="one sentence per line",
            layout=w.Layout(width="40em", height="7em"),
        )
        self.recognizers = w.SelectMultiple(
            options=[(_label(n), n) for n in names],
            value=(names[0],),
            description="Recognisers",
            rows=min(5, len(names)),
        )
        self.snrs = w.Text(value=snrs, description="SNR (dB)")
        self.noise = w.Dropdown(options=list(SNR_NOISES), value="white", description="Noise")
        self.seed = w.BoundedIntText(value=0, min=0, max=2**31 - 1, description="Seed")
        self.metric = w.ToggleButtons(options=list(METRICS), value="WER", description="Plot")
        self.run_button = w.Button(description="Run sweep", button_style="primary", icon="play")
        self.stop_button = w.Button(description="Stop", icon="stop", button_style="warning")
        self.progress = w.IntProgress(min=0, max=1, value=0, layout=w.Layout(width="20em"))
        self.progress_label = w.Label()
        self.status = StatusLine()
        self.badge = w.HTML()
        self.download = w.HTML()
        self.snr50 = w.HTML()
        """Each recogniser's SNR at 50 % WER once a sweep with two or more SNRs ends."""
        self.figure = go.FigureWidget(
            layout=go.Layout(
                xaxis={"title": {"text": "SNR (dB)"}},
                yaxis={"title": {"text": "corpus WER"}, "rangemode": "tozero"},
                height=380,
                margin={"l": 60, "r": 10, "t": 30, "b": 50},
                legend={"title": {"text": "recogniser"}},
            )
        )
        set_visible(self.progress, False)
        set_visible(self.stop_button, False)
        super().__init__(
            [
                w.HBox(
                    [self.sentences, w.VBox([self.recognizers, self.snrs, self.noise, self.seed])]
                ),
                w.HBox(
                    [
                        self.run_button,
                        self.stop_button,
                        self.progress,
                        self.progress_label,
                        self.badge,
                    ]
                ),
                self.status,
                self.metric,
                self.figure,
                self.snr50,
                self.download,
            ],
            **kwargs,
        )
        self.add_class("speechlab-robustness-sweep")
        self._controls = (
            self.run_button,
            self.sentences,
            self.recognizers,
            self.snrs,
            self.noise,
            self.seed,
        )
        self.run_button.on_click(lambda _: self._on_run())
        self.stop_button.on_click(lambda _: self.stop())
        self.metric.observe(lambda _: self._redraw_all(), names="value")

    # --- running --------------------------------------------------------------------------
    def _on_run(self) -> None:
        if not self.background:
            self.run()
            return
        # click messages are handled one at a time; one made before the running sweep disabled
        # the button finds its thread alive
        if self.thread is not None and self.thread.is_alive():
            return
        self.thread = threading.Thread(target=self.run, name="speechlab-sweep", daemon=True)
        self.thread.start()

    def stop(self) -> None:
        """End the running sweep after the job in progress; the rows so far are kept."""
        if not self.running:
            return
        self._stop.set()
        self.stop_button.disabled = True
        self.status.busy("Stopping after the job in progress…")

    def run(self) -> None:
        """Run the sweep; the plot and progress bar update after every row."""
        started = time.perf_counter()
        self._stop.clear()
        stopped = False
        with busy(self.status, *self._controls, message="Preparing the sweep…") as job:
            sentences = [s.strip() for s in self.sentences.value.splitlines() if s.strip()]
            snrs = parse_snrs(self.snrs.value)
            recognizers = list(self.recognizers.value)
            if not recognizers:
                raise LabError("Choose at least one recogniser.")
            if not sentences:
                raise LabError("Type at least one sentence, one per line.")
            total = len(sentences) * len(snrs) * len(recognizers)
            self._start(recognizers, snrs, total)
            job.progress(f"Synthesising and recognising {total} jobs…")
            rows = run_sweep(
                sentences,
                recognizers,
                snrs,
                synthesizer=self.synthesizer,
                noise=self.noise.value,
                seed=int(self.seed.value),
                workers=self.workers,
            )
            self.stop_button.disabled = False
            set_visible(self.stop_button, True)
            self.running = True
            try:
                for row in rows:
                    self._add(row, total, started)
                    if self._stop.is_set():
                        stopped = len(self.rows) < total
                        break
            finally:
                rows.close()  # a stopped sweep lets its pool go now, not when collected
                self.running = False
                set_visible(self.stop_button, False)
                self._offer_csv()
                self._show_snr50()
        if stopped:
            self.status.show(
                f"Stopped: {len(self.rows)} of {total} jobs in "
                f"{time.perf_counter() - started:.1f} s; their rows are plotted and in the CSV.",
                "info",
            )
        elif not job.failed:
            self.status.ok(f"Done: {len(self.rows)} jobs in {time.perf_counter() - started:.1f} s.")

    def _start(self, recognizers: list[str], snrs: list[float | None], total: int) -> None:
        self.rows = []
        self._groups = {}
        self._recognizer_order = recognizers
        self._snr_order = sorted(snrs, key=lambda s: math.inf if s is None else s)
        x, labels = self._x_axis()
        with self.figure.batch_update():
            self.figure.data = ()
            for i, name in enumerate(recognizers):
                self.figure.add_scatter(
                    x=x,
                    y=[None] * len(x),
                    mode="lines+markers",
                    name=_label(name),
                    connectgaps=True,
                    line={"color": _COLOURS[i % len(_COLOURS)]},
                    hovertemplate="%{text}<br>%{y:.1%}<extra>" + _label(name) + "</extra>",
                    text=labels,
                )
            self.figure.layout.xaxis.tickvals = x
            self.figure.layout.xaxis.ticktext = labels
            self.figure.layout.yaxis.title.text = f"corpus {self.metric.value}"
        with self.hold_sync():
            self.progress.max = total
            self.progress.value = 0
            self.progress_label.value = f"0 of {total} jobs"
            self.download.value = ""
            self.snr50.value = ""
            self.badge.value = ""
        set_visible(self.progress, True)

    def _x_axis(self) -> tuple[list[float], list[str]]:
        """Numeric x for each SNR; clean audio sits one step right of the highest SNR."""
        numbers = [s for s in self._snr_order if s is not None]
        step = 10.0 if len(numbers) < 2 else max(5.0, (max(numbers) - min(numbers)) / len(numbers))
        clean_x = (max(numbers) + step) if numbers else 0.0
        x = [clean_x if s is None else float(s) for s in self._snr_order]
        labels = ["clean" if s is None else f"{s:g} dB" for s in self._snr_order]
        return x, labels

    def _add(self, row: SweepRow, total: int, started: float) -> None:
        self.rows.append(row)
        self._groups.setdefault((row.recognizer, row.snr_db), []).append(row)
        with self.figure.batch_update():
            self._redraw_trace(self._recognizer_order.index(row.recognizer))
        with self.hold_sync():
            self.progress.value = len(self.rows)
            self.progress_label.value = (
                f"{len(self.rows)} of {total} jobs, {time.perf_counter() - started:.0f} s"
            )
            if row.untrained:
                self.badge.value = untrained_badge(True)

    # --- drawing --------------------------------------------------------------------------
    def corpus_values(self, recognizer: str) -> list[float | None]:
        """Corpus WER/CER (the plotted metric) at each SNR of the last run, None where no row
        has arrived yet."""
        key = METRICS[self.metric.value]
        out: list[float | None] = []
        for snr in self._snr_order:
            group = self._groups.get((recognizer, snr))
            if not group:
                out.append(None)
            else:
                scores = corpus_scores([r.text for r in group], [r.hypothesis for r in group])
                out.append(scores[key])
        return out

    def _redraw_trace(self, index: int) -> None:
        values = self.corpus_values(self._recognizer_order[index])
        self.figure.data[index].y = np.array(
            [np.nan if v is None else v for v in values], dtype=np.float64
        )

    def _redraw_all(self) -> None:
        with self.figure.batch_update():
            for i in range(len(self.figure.data)):
                self._redraw_trace(i)
            self.figure.layout.yaxis.title.text = f"corpus {self.metric.value}"

    def _offer_csv(self) -> None:
        if self.rows:
            ordered = sorted(self.rows, key=lambda r: r.key)
            self.download.value = csv_link(
                rows_to_csv(ordered), CSV_FILENAME, f"Download {len(ordered)} rows (CSV)"
            )

    def _show_snr50(self) -> None:
        try:
            found = snr50(self.rows, resamples=500)
        except LabError:  # fewer than two SNRs: no curve to cross
            found = []
        if not found:
            self.snr50.value = ""
            return
        items = []
        for r in found:
            name = html.escape(_label(r.recognizer))
            if r.snr_db is None:
                items.append(f"<li>{name}: {html.escape(r.note)}</li>")
                continue
            low = "below the swept range" if r.ci_low is None else f"{r.ci_low:.1f}"
            high = "above the swept range" if r.ci_high is None else f"{r.ci_high:.1f}"
            items.append(
                f"<li>{name}: <b>{r.snr_db:.1f} dB</b> (95 % interval {low} to {high}, "
                f"{r.sentences} sentences)</li>"
            )
        self.snr50.value = (
            f"<div class='speechlab-snr50'>SNR at 50 % WER in {html.escape(self.noise.value)} "
            f"noise (lower is more robust; interval: sentences drawn again with replacement):"
            f"<ul>{''.join(items)}</ul></div>"
        )
