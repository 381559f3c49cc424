"""A small listening test: clips in a random order, 1-5 naturalness and "type what you heard".

Every rating goes to SQLite (:mod:`lab.listening`) the moment it is saved, so closing the page or
killing the kernel loses at most the rating being entered; a rater can resume a session later.
The reference text is never shown to the rater.
"""

from __future__ import annotations

import base64
import html
from collections.abc import Sequence
from pathlib import Path

import ipywidgets as w

from lab.errors import LabError
from lab.listening import NATURALNESS_LABELS, SCREENING_RULES, Clip, ListeningStore, Session
from widgets._common import GuardedButton, StatusLine, set_visible
from widgets.audio_player import AudioPlayer

CSV_FILENAME = "listening_ratings.csv"


def csv_link(text: str, filename: str, label: str) -> str:
    """An HTML link that downloads ``text`` as a CSV file (ipywidgets has no download button)."""
    payload = base64.b64encode(text.encode("utf-8")).decode("ascii")
    return (
        f'<a download="{html.escape(filename)}" href="data:text/csv;charset=utf-8;base64,{payload}"'
        f' class="speechlab-download">{html.escape(label)}</a>'
    )


class ListeningTest(w.VBox):
    """Rate clips one by one; ratings live in ``store`` (a :class:`lab.listening.ListeningStore`).

    ``ListeningTest("ratings.sqlite", clips)`` adds the clips (first version of an id wins) and
    shows the start form. ``ask_naturalness`` / ``ask_transcript`` choose the questions;
    ``show_results=False`` hides the MOS table and CSV link from raters.
    """

    def __init__(
        self,
        store: ListeningStore | str | Path,
        clips: Sequence[Clip] = (),
        *,
        seed: int | None = None,
        ask_naturalness: bool = True,
        ask_transcript: bool = True,
        show_results: bool = True,
        **kwargs: object,
    ) -> None:
        if not (ask_naturalness or ask_transcript):
            raise ValueError("Ask at least one question: naturalness or transcript.")
        self.store = store if isinstance(store, ListeningStore) else ListeningStore(store)
        if clips:
            self.store.add_clips(clips)
        self.seed = seed
        self.ask_naturalness = ask_naturalness
        self.ask_transcript = ask_transcript
        self.show_results = show_results
        self.session: Session | None = None
        self.current_clip_id: str | None = None

        self.rater = w.Text(placeholder="your name or a code", description="Rater")
        self.start_button = GuardedButton(description="Start", button_style="primary", icon="play")
        self.resume = w.Dropdown(description="or resume", options=[("—", None)])
        self.resume_button = GuardedButton(description="Resume", icon="history")
        self.progress = w.IntProgress(min=0, max=1, value=0, layout=w.Layout(width="16em"))
        self.progress_label = w.Label()
        self.player = AudioPlayer()
        self.naturalness = w.ToggleButtons(
            options=[(f"{k} {v}", k) for k, v in NATURALNESS_LABELS.items()],
            value=None,
            description="Naturalness",
            style={"button_width": "6.5em"},
        )
        self.heard = w.Textarea(
            placeholder="Type the words you heard", layout=w.Layout(width="36em", height="4em")
        )
        self.save_button = GuardedButton(
            description="Save and next", button_style="success", icon="check"
        )
        self.status = StatusLine(layout=w.Layout(min_height="1.6em"))
        self.results = w.HTML()

        questions: list[w.Widget] = []
        if ask_naturalness:
            questions.append(self.naturalness)
        if ask_transcript:
            questions.append(w.VBox([w.Label("What did you hear?"), self.heard]))
        self.rating_panel = w.VBox(
            [
                w.HBox([self.progress, self.progress_label]),
                self.player,
                *questions,
                self.save_button,
            ],
            layout=w.Layout(display="none"),
        )
        self.start_panel = w.VBox(
            [
                w.HBox([self.rater, self.start_button]),
                w.HBox([self.resume, self.resume_button]),
            ]
        )
        super().__init__([self.start_panel, self.rating_panel, self.status, self.results], **kwargs)
        self.add_class("speechlab-listening-test")
        self.start_button.on_click(lambda _: self.start(self.rater.value))
        self.resume_button.on_click(lambda _: self._resume_chosen())
        self.save_button.on_click(lambda _: self.save())
        self._refresh_resume_options()
        self._show_results()

    # --- actions (also callable from code) ------------------------------------------------
    def start(self, rater: str) -> None:
        """Start a new session for ``rater`` over every clip in the store."""
        try:
            session = self.store.start_session(rater, seed=self.seed)
        except LabError as exc:
            self._say(str(exc), error=True)
            return
        self._open(session)

    def resume_session(self, session_id: int) -> None:
        try:
            session = self.store.session(session_id)
        except LabError as exc:
            self._say(str(exc), error=True)
            return
        self._open(session)

    def save(self) -> None:
        """Store the answer to the current clip and move on."""
        if self.session is None or self.current_clip_id is None:
            self._say("Start or resume a session first.", error=True)
            return
        naturalness = self.naturalness.value if self.ask_naturalness else None
        heard = self.heard.value if self.ask_transcript else None
        if self.ask_naturalness and naturalness is None:
            self._say("Choose a naturalness score from 1 to 5 before saving.", error=True)
            return
        if self.ask_transcript and not (heard or "").strip():
            self._say("Type what you heard (or your best guess) before saving.", error=True)
            return
        if self.ask_transcript and not any(ch.isalnum() for ch in heard or ""):
            self._say(
                "Type the words you heard in letters (or your best guess; 'nothing' if you heard "
                "none), not only punctuation or emoji.",
                error=True,
            )
            return
        self.save_button.disabled = True
        try:
            self.store.rate(self.session.session_id, self.current_clip_id, naturalness, heard)
        except LabError as exc:
            self._say(str(exc), error=True)
            return
        finally:
            self.save_button.disabled = False
        self._say("Saved.", error=False)
        self._next()

    # --- internals ------------------------------------------------------------------------
    def _resume_chosen(self) -> None:
        if self.resume.value is None:
            self._say("Choose a session to resume.", error=True)
            return
        self.resume_session(int(self.resume.value))

    def _open(self, session: Session) -> None:
        self.session = session
        set_visible(self.start_panel, False)
        set_visible(self.rating_panel, True)
        self.results.value = ""
        self._say(f"Session {session.session_id} for {session.rater}.", error=False)
        self._next()

    def _next(self) -> None:
        assert self.session is not None
        done, total = self.store.progress(self.session.session_id)
        clip_id = self.store.next_clip_id(self.session.session_id)
        self.current_clip_id = clip_id
        with self.hold_sync():
            self.progress.max = max(total, 1)
            self.progress.value = done
            if clip_id is None:
                self.progress_label.value = f"All {total} clips rated: thank you."
                set_visible(self.rating_panel, False)
                set_visible(self.start_panel, True)
                self.player.set_audio(None)
                self.session = None
                self._refresh_resume_options()
                self._show_results()
                return
            self.progress_label.value = f"Clip {done + 1} of {total}"
            self.player.set_audio(self.store.clip(clip_id).audio)
            self.naturalness.value = None
            self.heard.value = ""

    def _refresh_resume_options(self) -> None:
        options: list[tuple[str, int | None]] = [("—", None)]
        for session in self.store.sessions():
            done, total = self.store.progress(session.session_id)
            if done < total:
                options.append(
                    (f"#{session.session_id} {session.rater} ({done}/{total})", session.session_id)
                )
        self.resume.options = options
        self.resume.value = None

    def _show_results(self) -> None:
        summary = self.store.summary() if self.show_results else []
        if not summary:
            self.results.value = ""
            return
        rows = "".join(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>".format(
                html.escape(s.system or "—"),
                s.ratings,
                "—"
                if s.mos is None
                else f"{s.mos:.2f}" + ("" if s.mos_ci95 is None else f" ± {s.mos_ci95:.2f}"),
                "—"
                if s.z_mean is None
                else f"{s.z_mean:+.2f}" + ("" if s.z_ci95 is None else f" ± {s.z_ci95:.2f}"),
                "—" if s.wer is None else f"{s.wer:.1%}",
            )
            for s in summary
        )
        table = (
            "<table class='speechlab-mos'><tr><th>system</th><th>ratings</th>"
            "<th>MOS (t-based 95 %)</th><th>rater z-score</th><th>typed WER</th></tr>"
            f"{rows}</table>"
        )
        left_out = self.store.screen_raters()
        screening = f"<p class='speechlab-screening'>{html.escape(SCREENING_RULES)}"
        if left_out:
            screening += " Left out: " + html.escape(", ".join(sorted(left_out))) + "."
        screening += "</p>"
        self.results.value = (
            table
            + screening
            + csv_link(self.store.to_csv(), CSV_FILENAME, "Download ratings (CSV)")
        )

    def _say(self, sentence: str, *, error: bool) -> None:
        if error:
            self.status.error(sentence)
        else:
            self.status.ok(sentence)
