"""The lab most people open first: type a sentence, synthesise it, add noise, recognise it back,
and see where and why the words changed."""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import ipywidgets as widgets

import lab
from lab.noise import NOISE_KINDS
from lab.results import RoundTrip
from lab.text import check_script
from widgets._common import GuardedButton, StatusLine, busy, set_visible, untrained_badge
from widgets.attention_map import AttentionMap
from widgets.audio_player import AudioPlayer
from widgets.emission_view import EmissionView
from widgets.spectrogram_view import SpectrogramView
from widgets.transcript_diff import TranscriptDiff

DEFAULT_TEXT = "Speech recognition is getting better every year."
CLEAN = "clean"
SNR_OPTIONS: tuple[tuple[str, Any], ...] = (
    ("-5 dB", -5.0),
    ("0 dB", 0.0),
    ("5 dB", 5.0),
    ("10 dB", 10.0),
    ("15 dB", 15.0),
    ("20 dB", 20.0),
    ("30 dB", 30.0),
    ("40 dB", 40.0),
    ("clean", CLEAN),
)
"""Signal-to-noise ratios the slider offers, noisiest first; 'clean' adds no noise."""


def _label(model: Any) -> str:
    if isinstance(model, (str, Path)):
        return Path(model).name if Path(model).is_absolute() else str(model)
    return str(getattr(model, "name", type(model).__name__))


def _voice_label(voice: Any) -> str:
    if isinstance(voice, Path) or (isinstance(voice, str) and voice.endswith(".npy")):
        return Path(voice).stem
    return str(getattr(voice, "name", voice))


def _offered(kind: str, default: str) -> list[Any]:
    """The default model first, then the other registry models of ``kind`` usable here."""
    from lab.models import get_allowlist, list_models

    allowed = get_allowlist()
    names = [default]
    for info in list_models():
        usable = (info.cached or info.bundled) and (allowed is None or info.name in allowed)
        if info.kind == kind and usable and info.name not in names:
            names.append(info.name)
    return names


class RoundTripLab(widgets.VBox):
    """Text → synthesizer (+ voice) → noise at an SNR → recognizer → scores and views.

    ``synthesizers`` / ``recognizers``: registry names, hub ids, folders or backend instances
    (None: :func:`lab.models.default_pair` first, then the other models available here).
    ``voices``: voice names or ``.npy`` paths for every synthesizer, or a mapping from a
    synthesizer's label to its voices (None: ask each synthesizer once it is loaded).

    Moving the SNR slider, changing the noise type or the recognizer re-runs recognition on the
    last synthesis; only Run synthesises. Children are attributes so scripts and tests can drive
    the lab: ``text``, ``synthesizer``, ``voice``, ``snr_slider``, ``noise_type``, ``recognizer``,
    ``self_attention``, ``run_button``, ``status``, ``notice``, ``players``, ``views``.
    """

    def __init__(
        self,
        text: str = DEFAULT_TEXT,
        synthesizers: Sequence[Any] | None = None,
        recognizers: Sequence[Any] | None = None,
        voices: Sequence[Any] | Mapping[str, Sequence[Any]] | None = None,
        *,
        seed: int = 0,
        self_attention: bool = False,
        **kwargs: Any,
    ) -> None:
        notice = None
        if synthesizers is None or recognizers is None:
            from lab.models import RECOGNIZER, SYNTHESIZER, default_pair

            default_synth, default_rec, notice = default_pair()
            if synthesizers is None:
                synthesizers = _offered(SYNTHESIZER, default_synth)
            if recognizers is None:
                recognizers = _offered(RECOGNIZER, default_rec)
        if not synthesizers or not recognizers:
            raise ValueError("RoundTripLab needs at least one synthesizer and one recognizer")
        self.seed = seed
        self._synth_choices = list(synthesizers)
        self._rec_choices = list(recognizers)
        self._voices = voices
        self._loaded: dict[tuple[str, int], Any] = {}
        self.result: RoundTrip | None = None
        """The round trip shown now."""
        self._request: dict[str, Any] | None = None
        """Text, synthesizer and voice of the last Run: what slider moves recognise again."""

        self.text = widgets.Textarea(
            value=text,
            placeholder="Type a sentence to synthesise",
            layout=widgets.Layout(width="100%", height="4em"),
        )
        self.synthesizer = widgets.Dropdown(
            description="synthesizer",
            options=[(_label(s), i) for i, s in enumerate(self._synth_choices)],
        )
        self.voice = widgets.Dropdown(description="voice", options=[("default", None)])
        self.recognizer = widgets.Dropdown(
            description="recognizer",
            options=[(_label(r), i) for i, r in enumerate(self._rec_choices)],
        )
        self.snr_slider = widgets.SelectionSlider(
            description="SNR", options=SNR_OPTIONS, value=CLEAN, continuous_update=False
        )
        self.noise_type = widgets.ToggleButtons(
            options=list(NOISE_KINDS),
            value="white",
            description="noise",
            style={"button_width": "60px"},
        )
        self.self_attention = widgets.Checkbox(
            value=self_attention, description="recognizer self-attention", indent=False
        )
        self.run_button = GuardedButton(description="Run", button_style="primary", icon="play")
        self.status = StatusLine("Type a sentence and press Run.")
        self.notice = widgets.HTML(
            f'<div class="speechlab-notice" style="background:#e3f2fd;padding:4px 8px">'
            f"{html.escape(notice)}</div>"
            if notice
            else ""
        )
        set_visible(self.notice, bool(notice))
        self.untrained = widgets.HTML()
        set_visible(self.untrained, False)
        self.clean_player = AudioPlayer(label="synthesised")
        self.noisy_player = AudioPlayer(label="heard")
        self.players = (self.clean_player, self.noisy_player)
        self.spectrogram = SpectrogramView(self.noisy_player)
        self.attention = AttentionMap()
        self.emission = EmissionView(self.noisy_player)
        self.diff = TranscriptDiff(self.noisy_player)
        self.views = (self.spectrogram, self.attention, self.emission, self.diff)
        self.scores = self.diff.scores
        self.timings = widgets.HTML()
        self._controls = (
            self.run_button,
            self.synthesizer,
            self.voice,
            self.recognizer,
            self.snr_slider,
            self.noise_type,
            self.self_attention,
        )
        self._fill_voices()

        self.run_button.on_click(lambda _button: self.run())
        self.synthesizer.observe(self._fill_voices, names="value")
        for control in (self.snr_slider, self.noise_type, self.recognizer, self.self_attention):
            control.observe(self._recognise_again, names="value")

        settings = widgets.VBox(
            [
                widgets.HBox([self.synthesizer, self.voice]),
                widgets.HBox([self.snr_slider, self.noise_type]),
                widgets.HBox([self.recognizer, self.self_attention]),
            ]
        )
        super().__init__(
            [
                self.notice,
                self.text,
                settings,
                widgets.HBox([self.run_button, self.status]),
                self.untrained,
                widgets.HBox(list(self.players)),
                self.diff,
                self.spectrogram,
                self.emission,
                self.attention,
                self.timings,
            ],
            **kwargs,
        )

    # --- models --------------------------------------------------------------------------
    def _model(self, kind: str, index: int) -> Any:
        key = (kind, index)
        if key not in self._loaded:
            from lab.models import get_recognizer, get_synthesizer

            choices, load = (
                (self._synth_choices, get_synthesizer)
                if kind == "synthesizer"
                else (self._rec_choices, get_recognizer)
            )
            if isinstance(choices[index], (str, Path)):
                self.status.busy(f"Loading {_label(choices[index])}…")
            self._loaded[key] = load(choices[index])
        return self._loaded[key]

    def _fill_voices(self, change: dict[str, Any] | None = None) -> None:
        index = self.synthesizer.value
        label = _label(self._synth_choices[index])
        voices: Sequence[Any] | None = None
        if isinstance(self._voices, Mapping):
            voices = self._voices.get(label)
        elif self._voices is not None:
            voices = self._voices
        elif ("synthesizer", index) in self._loaded or not isinstance(
            self._synth_choices[index], (str, Path)
        ):
            try:
                voices = self._model("synthesizer", index).voices()
            except lab.LabError as exc:
                self.status.error(str(exc))
        options: list[tuple[str, Any]] = [(_voice_label(v), v) for v in voices or ()]
        if not options:
            options = [("default", None)]
        current = self.voice.value
        self.voice.options = options
        values = [v for _, v in options]
        self.voice.value = current if current in values else values[0]

    # --- running -------------------------------------------------------------------------
    @property
    def snr_db(self) -> float | None:
        value = self.snr_slider.value
        return None if value == CLEAN else float(value)

    def run(self) -> RoundTrip | None:
        """Synthesise the text (or reuse the cached synthesis), add noise, recognise, score."""
        with busy(self.status, *self._controls, message="Starting…") as job:
            check_script(self.text.value)
            synth = self._model("synthesizer", self.synthesizer.value)
            request = {"text": self.text.value, "synth": synth, "voice": self.voice.value}
            result = self._roundtrip(job, request)
            # only a run that worked changes what slider moves recognise again
            self._request = request
        if job.failed:
            return None
        if self.voice.options == (("default", None),):
            self._fill_voices()
        return result

    def _recognise_again(self, change: dict[str, Any]) -> None:
        if self._request is None:
            return
        with busy(self.status, *self._controls, message="Recognising again…") as job:
            self._roundtrip(job)

    def _roundtrip(self, job: Any, request: dict[str, Any] | None = None) -> RoundTrip:
        request = request or self._request
        assert request is not None
        rec = self._model("recognizer", self.recognizer.value)
        want_attention = bool(self.self_attention.value and getattr(rec, "has_attention", False))
        result = lab.roundtrip(
            request["text"],
            request["synth"],
            rec,
            snr_db=self.snr_db,
            noise=self.noise_type.value,
            seed=self.seed,
            voice=request["voice"],
            output_attentions=want_attention,
            progress=job.progress,
        )
        job.progress("Drawing…")
        self._show(result)
        reused = result.timings.get("synthesis", 0.0) == 0.0
        heard = result.scores.hypothesis or "nothing"
        message = f"WER {result.scores.wer:.0%} · {result.recognition.model} heard “{heard}”"
        if reused:
            message += " (synthesis reused)"
        if self.text.value.strip() != result.text:
            message += " · the text has changed: press Run to synthesise it"
        self.status.ok(message)
        return result

    def _show(self, result: RoundTrip) -> None:
        previous = self.result
        self.result = result
        with self.hold_sync():
            if previous is None or previous.synthesis is not result.synthesis:
                self.clean_player.set_audio(result.synthesis.audio)
                self.clean_player.label = f"synthesised ({result.synthesis.model})"
            self.noisy_player.set_audio(result.audio)
            self.noisy_player.label = (
                "heard (clean)"
                if result.snr_db is None
                else f"heard ({result.noise} noise, {result.snr_db:g} dB)"
            )
            self.diff.show(
                result.scores, result.recognition, untrained=result.recognition.untrained
            )
            self.spectrogram.show_roundtrip(result)
            self.emission.show(result.recognition)
            self.attention.show(result.synthesis, result.recognition)
            untrained = [r.model for r in (result.synthesis, result.recognition) if r.untrained]
            set_visible(self.untrained, bool(untrained))
            self.untrained.value = (
                f"{untrained_badge(True)} {html.escape(' and '.join(untrained))} "
                "has random weights: its output shows the machinery, not what a trained model does."
                if untrained
                else ""
            )
            steps = ", ".join(f"{k} {v:.2f} s" for k, v in result.timings.items())
            self.timings.value = f"<small>{html.escape(steps)}</small>"
