from __future__ import annotations

import io

import numpy as np
import plotly.graph_objects as go
import pytest
import soundfile as sf
from widget_fixtures import decode_png

import lab
from lab.features import log_mel_spectrogram
from widgets._common import is_visible, measure_wire, payload_bytes
from widgets.roundtrip_lab import RoundTripLab

SENTENCE = "Speech recognition is getting better every year."


def wav_seconds(data: bytes) -> float:
    info = sf.info(io.BytesIO(data))
    return info.frames / info.samplerate


class Spy:
    """Counts calls to one method of a backend instance, passing them through."""

    def __init__(self, monkeypatch, instance, method: str) -> None:
        self.calls = 0
        original = getattr(instance, method)

        def counting(*args, **kwargs):
            self.calls += 1
            return original(*args, **kwargs)

        monkeypatch.setattr(instance, method, counting)


@pytest.fixture(scope="module")
def bundled():
    from lab.models import get_recognizer, get_synthesizer

    return get_synthesizer("piper"), get_recognizer("pocketsphinx")


@pytest.fixture(scope="module")
def tiny_ctc(tiny):
    from lab.backends.ctc import CTCRecognizer

    return CTCRecognizer.from_pretrained(tiny.wav2vec2)


def test_run_with_the_bundled_pair_fills_players_diff_and_spectrogram(bundled):
    lab.clear_cache()
    piper, sphinx = bundled
    app = RoundTripLab(text=SENTENCE, synthesizers=[piper], recognizers=[sphinx])
    assert app.result is None and not app.run_button.disabled
    result = app.run()
    assert result is app.result and result is not None
    assert wav_seconds(app.clean_player.value) == pytest.approx(
        result.synthesis.audio.duration_s, abs=0.01
    )
    assert app.noisy_player.label == "heard (clean)"
    words = [c.hypothesis.description for c in app.diff.words.children]
    assert [w for w in words if w != "—"] == result.scores.hypothesis_words
    assert f"{result.scores.wer:.1%}" in app.scores.value
    assert list(app.spectrogram.word_bars.text) == [w.text for w in result.recognition.words]
    assert app.status.kind == "ok" and "WER" in app.status.value
    # PocketSphinx has no emissions and Piper no attention: those views are hidden, not broken
    assert not is_visible(app.emission) and not is_visible(app.attention)
    assert not is_visible(app.untrained) and not is_visible(app.notice)
    assert not app.run_button.disabled


def test_moving_the_snr_slider_recognises_again_without_synthesising(bundled, monkeypatch):
    lab.clear_cache()
    piper, sphinx = bundled
    synth_calls = Spy(monkeypatch, piper, "synthesize")
    rec_calls = Spy(monkeypatch, sphinx, "recognize")
    app = RoundTripLab(text=SENTENCE, synthesizers=[piper], recognizers=[sphinx])
    app.run()
    clean_wav, heard_wav = app.clean_player.value, app.noisy_player.value
    picture_before = app.spectrogram.image.source
    figure = app.spectrogram.figure
    with measure_wire() as meter:
        app.snr_slider.value = 5.0
    assert synth_calls.calls == 1 and rec_calls.calls == 2
    assert app.result.snr_db == 5.0
    assert app.noisy_player.value != heard_wav and app.clean_player.value == clean_wav
    assert app.noisy_player.label == "heard (white noise, 5 dB)"
    assert app.spectrogram.figure is figure  # updated in place
    assert app.spectrogram.image.source != picture_before
    assert "synthesis reused" in app.status.value
    assert "AudioPlayer" in meter.by_widget
    # the clean audio did not travel again: only the heard one did
    assert meter.by_widget["AudioPlayer"] < 1.3 * len(heard_wav)
    app.noise_type.value = "pink"
    assert synth_calls.calls == 1 and rec_calls.calls == 3 and app.result.noise == "pink"


def test_controls_are_disabled_and_progress_shown_while_it_runs(bundled):
    piper, sphinx = bundled
    app = RoundTripLab(
        text="A short test of the status line.", synthesizers=[piper], recognizers=[sphinx]
    )
    seen = []
    app.status.observe(
        lambda change: seen.append(
            (app.status.message, app.run_button.disabled, app.snr_slider.disabled)
        ),
        names="value",
    )
    app.run_button.click()
    busy = [s for s in seen if s[0].startswith(("Recognising", "Scoring", "Synthesising"))]
    assert busy and all(
        run_disabled and slider_disabled for _, run_disabled, slider_disabled in busy
    )
    assert not app.run_button.disabled and not app.snr_slider.disabled


def test_a_lab_error_reads_as_one_sentence_in_the_status_line(bundled):
    piper, sphinx = bundled
    app = RoundTripLab(text="   ", synthesizers=[piper], recognizers=[sphinx])
    assert app.run() is None
    assert app.status.kind == "error"
    assert app.status.message == "The text is empty: type a sentence to synthesise."
    assert "Traceback" not in app.status.value
    assert not app.run_button.disabled


def test_switching_recognizer_recognises_again_and_shows_neural_views(
    bundled, tiny_ctc, monkeypatch
):
    lab.clear_cache()
    piper, sphinx = bundled
    synth_calls = Spy(monkeypatch, piper, "synthesize")
    app = RoundTripLab(
        text=SENTENCE, synthesizers=[piper], recognizers=[sphinx, tiny_ctc], self_attention=True
    )
    app.run()
    assert not is_visible(app.emission)
    app.recognizer.value = 1
    assert synth_calls.calls == 1
    assert app.result.recognition.model == tiny_ctc.name
    assert is_visible(app.emission) and is_visible(app.attention)
    frames = app.result.recognition.emissions.shape[0]
    assert decode_png(app.emission.image.source)[0].shape[1] == frames
    assert decode_png(app.attention.image.source)[0].shape == (frames, frames)  # self-attention
    # random weights are labelled wherever their results show
    assert is_visible(app.untrained) and "untrained" in app.untrained.value
    assert "untrained" in app.emission.title.value and "untrained" in app.diff.title.value
    app.recognizer.value = 0
    assert not is_visible(app.emission) and not is_visible(app.untrained)


def test_tiny_speecht5_shows_cross_attention_with_its_voice(tiny, tiny_ctc):
    from lab.backends.speecht5 import SpeechT5Synthesizer

    speecht5 = SpeechT5Synthesizer.from_pretrained(
        tiny.speecht5, tiny.hifigan, minlenratio=2.0, maxlenratio=2.0
    )
    app = RoundTripLab(
        text="Hello there.", synthesizers=[speecht5], recognizers=[tiny_ctc], voices=[tiny.voice]
    )
    assert app.voice.options[0] == ("voice", tiny.voice)
    result = app.run()
    assert result is not None, app.status.message
    assert is_visible(app.attention) and not is_visible(app.attention.source)
    tokens = len(result.synthesis.tokens)
    steps = result.synthesis.cross_attention.shape[2]
    assert decode_png(app.attention.image.source)[0].shape == (tokens, steps)
    assert "untrained" in app.attention.title.value
    assert "diagonality" in app.attention.score.value


def test_offline_default_pair_shows_its_notice(monkeypatch):
    import lab.models

    notice = "The pretrained models are not available offline; the bundled pair stands in."
    monkeypatch.setattr(
        lab.models, "default_pair", lambda *a, **k: ("piper", "pocketsphinx", notice)
    )
    app = RoundTripLab()
    assert is_visible(app.notice) and "not available offline" in app.notice.value
    assert app.synthesizer.label == "piper" and app.recognizer.label == "pocketsphinx"


LONG_TEXT = (
    "The birch canoe slid on the smooth planks. Glue the sheet to the dark blue background. "
    "It is easy to tell the depth of a well. These days a chicken leg is a rare dish. "
    "Rice is often served in round bowls."
)


def naive_heatmap_bytes(matrix: np.ndarray) -> int:
    """A figure that sends the array as it comes: full resolution, float32 values as JSON."""
    return payload_bytes(go.FigureWidget(go.Heatmap(z=np.asarray(matrix, dtype=np.float32))))


def test_one_update_on_a_ten_second_clip_is_ten_times_smaller_than_naive_heatmaps(
    bundled, tiny_ctc
):
    piper, _ = bundled
    app = RoundTripLab(
        text=LONG_TEXT, synthesizers=[piper], recognizers=[tiny_ctc], self_attention=True
    )
    with measure_wire() as meter:
        result = app.run()
    assert result is not None, app.status.message
    seconds = result.audio.duration_s
    assert 9.0 < seconds < 13.0
    ours = meter.by_widget["FigureWidget"]

    recognition = result.recognition
    naive_parts = {
        "spectrogram": naive_heatmap_bytes(log_mel_spectrogram(result.audio).values.T),
        "emissions": naive_heatmap_bytes(recognition.emissions.T),
        "attention": naive_heatmap_bytes(
            recognition.attentions[app.attention.shown_layer, max(app.attention.shown_head, 0)]
        ),
    }
    naive = sum(naive_parts.values())
    naive_audio = len(result.synthesis.audio.to_wav_bytes()) + len(result.audio.to_wav_bytes())
    audio = meter.by_widget.get("AudioPlayer", 0)
    ours_parts = {
        "spectrogram": payload_bytes(app.spectrogram.figure),
        "emissions": payload_bytes(app.emission.figure),
        "attention": payload_bytes(app.attention.figure),
    }
    print(
        f"\nRoundTripLab update, {seconds:.1f} s clip: figures {ours / 1e3:.0f} kB ("
        + ", ".join(f"{k} {v / 1e3:.0f} kB" for k, v in ours_parts.items())
        + ") "
        f"(naive full-resolution float heatmaps {naive / 1e3:.0f} kB: "
        + ", ".join(f"{k} {v / 1e3:.0f} kB" for k, v in naive_parts.items())
        + f"; {naive / ours:.1f}× smaller); audio for both players {audio / 1e3:.0f} kB; "
        f"all widget messages {meter.total_bytes / 1e3:.0f} kB in {meter.messages} messages "
        f"(naive with both clips as WAV {(naive + naive_audio) / 1e3:.0f} kB)"
    )
    assert ours * 10 <= naive
    # everything the update sent, audio and controls included, against heatmaps plus WAV audio
    assert audio > 0 and meter.total_bytes * 10 <= naive + naive_audio
