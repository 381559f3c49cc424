from __future__ import annotations

import numpy as np
import pytest
from widget_fixtures import click, recognition, speechlike_audio

import lab
from widgets._common import KIND_COLOURS, MAX_COLUMNS, payload_bytes
from widgets.audio_player import AudioPlayer
from widgets.spectrogram_view import SpectrogramView

WORDS = [("the", 0.1, 0.3), ("cat", 0.35, 0.8), ("sat", 0.9, 1.4), ("down", 1.5, 2.1)]


@pytest.fixture
def shown():
    audio = speechlike_audio(2.3)
    rec = recognition(WORDS)
    scores = lab.score("the cat sat", rec)  # "down" is an insertion
    player = AudioPlayer(audio)
    view = SpectrogramView(player)
    view.show(audio, rec, scores)
    return view, player, audio


def test_heatmap_is_bins_by_time_in_whole_decibels(shown):
    view, _, audio = shown
    z = np.asarray(view.heatmap.z)
    assert z.shape == (80, 231)  # 80 mel bins (rows) by 2.3 s of 10 ms frames (columns)
    assert np.asarray(view.heatmap.x)[-1] == pytest.approx(2.3, abs=0.011)
    assert len(view.heatmap.y) == 80 and view.heatmap.y[0].endswith("Hz")
    assert z.dtype.kind == "i"
    assert z.max() - z.min() == pytest.approx(80, abs=1)  # the 80 dB range kept


def test_words_are_drawn_at_their_times_coloured_by_error_kind(shown):
    view, _, _ = shown
    bars = view.word_bars
    assert list(bars.text) == ["the", "cat", "sat", "down"]
    assert np.allclose(bars.base, [0.1, 0.35, 0.9, 1.5])
    assert np.allclose(np.asarray(bars.base) + np.asarray(bars.x), [0.3, 0.8, 1.4, 2.1])
    assert list(bars.marker.color) == [KIND_COLOURS["equal"]] * 3 + [KIND_COLOURS["insert"]]
    outlines = view.figure.layout.shapes[1:]
    assert [(s.x0, s.x1) for s in outlines] == [(s, e) for _, s, e in WORDS]


def test_clicking_a_word_plays_that_word(shown, monkeypatch):
    view, player, _ = shown
    sent = []
    monkeypatch.setattr(player, "send", sent.append)
    click(view.figure, trace_index=1, point_index=2)
    assert sent == [{"type": "play_range", "start_s": 0.9, "end_s": 1.4}]


def test_clicking_the_spectrogram_seeks_there(shown, monkeypatch):
    view, player, _ = shown
    sent = []
    monkeypatch.setattr(player, "send", sent.append)
    click(view.figure, trace_index=0, point_index=0, x=1.25)
    assert sent == [{"type": "seek", "time_s": 1.25}]


def test_playhead_follows_the_player(shown):
    view, player, _ = shown
    assert view.playhead_s == 0.0
    player.set_state({"current_time": 1.1})  # the browser reporting its position
    assert view.playhead_s == pytest.approx(1.1)
    assert view.figure.layout.shapes[0].x1 == pytest.approx(1.1)


def test_long_audio_is_pooled_to_the_columns_shown_and_stays_small():
    audio = speechlike_audio(12.0, seed=3)
    view = SpectrogramView()
    view.show(audio)
    z = np.asarray(view.heatmap.z)
    assert z.shape == (80, MAX_COLUMNS)
    assert np.all(np.diff(np.asarray(view.heatmap.x)) > 0)
    assert payload_bytes(view.figure) < 250_000  # 1200 frames × 80 bins as float JSON: ~1.8 MB


def test_updates_in_place_and_labels_untrained_results():
    view = SpectrogramView(scale="linear")
    figure, heatmap = view.figure, view.heatmap
    view.show(speechlike_audio(1.0), untrained=True)
    assert "untrained" in view.title.value
    assert np.asarray(view.heatmap.z).shape[0] == 257  # linear bins at 16 kHz
    view.show(speechlike_audio(0.5))
    assert view.figure is figure and view.heatmap is heatmap
    assert "untrained" not in view.title.value
    assert len(view.word_bars.x) == 0
