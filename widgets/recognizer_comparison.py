"""One clip, several recognisers side by side: what each heard, where it differs from the
reference, its CTC emissions where it has them, and how long it took."""

from __future__ import annotations

import html
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import ipywidgets as w

import lab
from lab.audio import Audio
from lab.errors import LabError
from lab.results import Recognition, Scores
from lab.roundtrip import resolve_recognizer
from lab.text import check_script
from widgets._common import GuardedButton, StatusLine, busy, set_visible, untrained_badge
from widgets.audio_input import AudioInput
from widgets.audio_player import AudioPlayer
from widgets.emission_view import EmissionView
from widgets.transcript_diff import TranscriptDiff

SENTENCE, OWN_AUDIO = "Synthesise a sentence", "Upload or record"
LOAD_NOTE_S = 0.05
"""Model loading shorter than this is not worth a mention beside the recognition time."""


class RecognizerColumn(w.VBox):
    """One recogniser's results; reused between runs so its figures update in place.

    With a reference the words show as a :class:`TranscriptDiff` (click a word to hear it in
    ``player``); without one, as plain text.
    """

    def __init__(self, name: str, player: AudioPlayer | None = None) -> None:
        self.name = name
        self.title = w.HTML(f"<b>{html.escape(_label(name))}</b>")
        self.timing = w.HTML()
        self.transcript = w.HTML()
        self.diff = TranscriptDiff(player)
        self.emissions = EmissionView(player)
        self.recognition: Recognition | None = None
        self.result_scores: Scores | None = None
        set_visible(self.diff, False)
        super().__init__(
            [self.title, self.timing, self.transcript, self.diff, self.emissions],
            layout=w.Layout(flex="1 1 0", min_width="22em", padding="0 0.5em"),
        )

    def show(
        self, recognition: Recognition, scores: Scores | None, seconds: float, load_s: float
    ) -> None:
        self.recognition, self.result_scores = recognition, scores
        with self.hold_sync():
            self.title.value = (
                f"<b>{html.escape(_label(self.name))}</b> {untrained_badge(recognition.untrained)}"
            )
            load = f" (+ {load_s:.1f} s loading the model)" if load_s > LOAD_NOTE_S else ""
            self.timing.value = f"recognised in {seconds:.2f} s{load}"
            said = recognition.text.strip() or "(nothing recognised)"
            self.transcript.value = f"<i>{html.escape(said)}</i>"
        if scores is None:
            set_visible(self.diff, False)
        else:
            self.diff.show(scores, recognition, untrained=recognition.untrained)
        self.emissions.show(recognition)


class RecognizerComparison(w.VBox):
    """Pick a clip (synthesised from a sentence, uploaded, or recorded) and compare recognisers.

    ``columns`` maps each recogniser of the last run to its :class:`RecognizerColumn`.
    """

    def __init__(
        self,
        recognizers: Sequence[str | Path] = ("pocketsphinx",),
        *,
        synthesizer: Any = None,
        text: str = "Speech recognition is getting better every year.",
        microphone: bool = True,
        **kwargs: Any,
    ) -> None:
        if not recognizers:
            raise ValueError("Offer at least one recogniser.")
        self.synthesizer = synthesizer
        self.audio: Audio | None = None
        self.columns: dict[str, RecognizerColumn] = {}

        names = [str(r) for r in recognizers]
        self.source = w.ToggleButtons(options=[SENTENCE, OWN_AUDIO], value=SENTENCE)
        self.text = w.Text(value=text, description="Sentence", layout=w.Layout(width="40em"))
        self.audio_input = AudioInput(microphone=microphone)
        self.reference = w.Text(
            description="Reference",
            placeholder="what the clip says (optional: gives WER and a diff)",
            layout=w.Layout(width="40em"),
        )
        self.recognizers = w.SelectMultiple(
            options=[(_label(n), n) for n in names],
            value=tuple(names),
            description="Recognisers",
            rows=min(6, len(names)),
        )
        self.compare_button = GuardedButton(
            description="Compare", button_style="primary", icon="play"
        )
        self.status = StatusLine()
        self.player = AudioPlayer(label="clip")
        self.grid = w.HBox(layout=w.Layout(flex_flow="row wrap", align_items="flex-start"))
        set_visible(self.audio_input, False)
        set_visible(self.reference, False)
        set_visible(self.player, False)
        super().__init__(
            [
                self.source,
                self.text,
                self.audio_input,
                self.reference,
                w.HBox([self.recognizers, self.compare_button]),
                self.status,
                self.player,
                self.grid,
            ],
            **kwargs,
        )
        self.add_class("speechlab-recognizer-comparison")
        self.source.observe(self._on_source, names="value")
        self.compare_button.on_click(lambda _: self.compare())

    def _on_source(self, change: dict) -> None:
        own = change["new"] == OWN_AUDIO
        set_visible(self.text, not own)
        set_visible(self.audio_input, own)
        set_visible(self.reference, own)

    # --- running --------------------------------------------------------------------------
    def compare(self) -> None:
        """Recognise the chosen clip with every selected recogniser and show them side by side."""
        controls = (self.compare_button, self.text, self.recognizers, self.source, self.reference)
        self.audio_input.disabled = True
        try:
            with busy(self.status, *controls, message="Preparing the clip…") as job:
                audio, reference = self._clip(job)
                names = list(self.recognizers.value)
                if not names:
                    raise LabError("Choose at least one recogniser.")
                self.audio = audio
                self.player.set_audio(audio)
                set_visible(self.player, True)
                self._arrange(names)
                for name in names:
                    job.progress(f"Recognising with {_label(name)}…")
                    started = time.perf_counter()
                    recognizer = resolve_recognizer(name)
                    load_s = time.perf_counter() - started
                    started = time.perf_counter()
                    recognition = recognizer.recognize(audio)
                    seconds = time.perf_counter() - started
                    scores = lab.score(reference, recognition) if reference else None
                    self.columns[name].show(recognition, scores, seconds, load_s)
        finally:
            self.audio_input.disabled = False
        if not job.failed:
            note = "" if reference else " Type the reference text to see word errors."
            self.status.ok(f"{len(names)} recognisers on {audio.duration_s:.1f} s of audio.{note}")

    def _clip(self, job: Any) -> tuple[Audio, str]:
        if self.source.value == SENTENCE:
            check_script(self.text.value)
            job.progress("Synthesising…")
            synthesis = lab.synthesize(self.text.value, self.synthesizer)
            return synthesis.audio, synthesis.text
        if self.audio_input.value is None:
            raise LabError("Upload a file or record a clip first.")
        return self.audio_input.value, self.reference.value.strip()

    def _arrange(self, names: list[str]) -> None:
        """Keep the columns of recognisers still selected (their figures update in place)."""
        self.columns = {n: self.columns.get(n) or RecognizerColumn(n, self.player) for n in names}
        self.grid.children = tuple(self.columns[n] for n in names)


def _label(name: str) -> str:
    return Path(name).name if ("/" in name or "\\" in name) else name
