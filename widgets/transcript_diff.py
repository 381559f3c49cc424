"""Reference and recognised words side by side, errors coloured, scores beside them."""

from __future__ import annotations

import html
from typing import Any

import ipywidgets as widgets

from lab.results import Recognition, Scores, Segment
from widgets._common import (
    KIND_COLOURS,
    KIND_LABELS,
    hypothesis_word_segments,
    set_visible,
    untrained_badge,
)
from widgets.audio_player import AudioPlayer


class _Column(widgets.VBox):
    """One aligned position: the reference word above, the recognised word (a button) below."""

    def __init__(self, on_click: Any) -> None:
        self.reference = widgets.HTML()
        self.hypothesis = widgets.Button(layout=widgets.Layout(width="auto", height="28px"))
        self.hypothesis.on_click(lambda _button: on_click(self))
        self.index = -1
        super().__init__(
            [self.reference, self.hypothesis],
            layout=widgets.Layout(margin="0 4px 6px 0", align_items="center"),
        )


class TranscriptDiff(widgets.VBox):
    """Word alignment of reference and recognised text (jiwer): substitutions, insertions and
    deletions coloured; WER, CER, BLEU and chrF beside it. Clicking a word plays it."""

    def __init__(self, player: AudioPlayer | None = None, **kwargs: Any) -> None:
        self.player = player
        self.positions: list[tuple[str, str | None, str | None]] = []
        """(kind, reference word, recognised word) per aligned position, as shown."""
        self.position_times: list[tuple[float, float] | None] = []
        self._columns: list[_Column] = []
        self.title = widgets.HTML("<b>Transcript</b>")
        self.words = widgets.HBox(layout=widgets.Layout(flex_flow="row wrap", flex="1 1 auto"))
        self.scores = widgets.HTML(layout=widgets.Layout(min_width="170px"))
        self.legend = widgets.HTML(
            " ".join(
                f'<span style="color:{KIND_COLOURS[k]}">■ {KIND_LABELS[k]}</span>'
                for k in ("equal", "substitute", "insert", "delete")
            )
        )
        super().__init__(
            [self.title, widgets.HBox([self.words, self.scores]), self.legend], **kwargs
        )

    def show(
        self, scores: Scores, recognition: Recognition | None = None, *, untrained: bool = False
    ) -> None:
        """Show the alignment in ``scores``; word times come from ``recognition``'s segments."""
        self.positions = scores.word_errors()
        segments: list[Segment | None] = (
            hypothesis_word_segments(recognition, scores)
            if recognition is not None
            else [None] * len(scores.hypothesis_words)
        )
        self.position_times = self._times(self.positions, segments)
        while len(self._columns) < len(self.positions):
            self._columns.append(_Column(self._on_column_click))
        with self.hold_sync():
            for index, (column, (kind, ref, hyp)) in enumerate(
                zip(self._columns, self.positions, strict=False)
            ):
                column.index = index
                colour = KIND_COLOURS[kind]
                shown_ref = html.escape(ref) if ref is not None else "&nbsp;"
                style = "" if kind == "equal" else f"color:{colour};font-weight:bold"
                strike = ";text-decoration:line-through" if kind == "delete" else ""
                column.reference.value = f'<span style="{style}{strike}">{shown_ref}</span>'
                button = column.hypothesis
                button.description = hyp if hyp is not None else "—"
                button.style.button_color = "#e8f5e9" if kind == "equal" else colour
                button.style.text_color = "black" if kind == "equal" else "white"
                times = self.position_times[index]
                detail = KIND_LABELS[kind]
                if kind == "substitute":
                    detail += f": “{ref}” heard as “{hyp}”"
                if times is not None:
                    detail += f" · {times[0]:.2f}-{times[1]:.2f} s, click to play"
                button.tooltip = detail
                button.disabled = times is None or self.player is None
            self.words.children = tuple(self._columns[: len(self.positions)])
            self.scores.value = _scores_table(scores)
            badge = untrained_badge(untrained)
            self.title.value = (
                f"<b>Transcript</b> reference above, recognised below {badge}".strip()
            )
        set_visible(self, True)

    @staticmethod
    def _times(
        positions: list[tuple[str, str | None, str | None]], segments: list[Segment | None]
    ) -> list[tuple[float, float] | None]:
        """Recognised words get their segment's times; a deleted word gets the gap where it
        should have been (end of the recognised word before it to the start of the next)."""
        times: list[tuple[float, float] | None] = []
        hyp_index = 0
        for kind, _ref, _hyp in positions:
            if kind == "delete":
                times.append(None)
                continue
            segment = segments[hyp_index] if hyp_index < len(segments) else None
            times.append(None if segment is None else (segment.start_s, segment.end_s))
            hyp_index += 1
        for i, (kind, _ref, _hyp) in enumerate(positions):
            if kind != "delete":
                continue
            before = next((t for t in reversed(times[:i]) if t is not None), None)
            after = next((t for t in times[i + 1 :] if t is not None), None)
            if before is not None or after is not None:
                start = before[1] if before is not None else max(0.0, after[0] - 0.3)  # type: ignore[index]
                end = after[0] if after is not None else start + 0.3
                times[i] = (start, max(end, start))
        return times

    def play_position(self, index: int) -> None:
        """Play the words at aligned position ``index`` (for a deletion, the gap it left)."""
        times = self.position_times[index]
        if times is not None and self.player is not None:
            self.player.play_range(*times)

    def _on_column_click(self, column: _Column) -> None:
        self.play_position(column.index)


def _scores_table(scores: Scores) -> str:
    rows = [
        ("WER", f"{scores.wer:.1%}"),
        ("CER", f"{scores.cer:.1%}"),
        ("BLEU", f"{scores.bleu:.1f}"),
        ("chrF", f"{scores.chrf:.1f}"),
        (
            "errors",
            f"{scores.substitutions} sub · {scores.insertions} ins · {scores.deletions} del",
        ),
    ]
    if scores.confidence is not None:
        rows.append(("confidence", f"{scores.confidence:.2f}"))
    cells = "".join(f"<tr><td>{name}</td><td><b>{value}</b></td></tr>" for name, value in rows)
    notes = "".join(f"<div><small>{html.escape(n)}</small></div>" for n in scores.notes)
    return f'<table class="speechlab-scores">{cells}</table>{notes}'
