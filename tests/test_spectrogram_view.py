from __future__ import annotations

import numpy as np
import pytest
from widget_fixtures import click, decode_png, image_columns_s, recognition, speechlike_audio

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


def test_picture_is_bins_by_time_in_two_decibel_steps(shown):
    view, _, audio = shown
    pixels, palette = decode_png(view.image.source)
    assert pixels.shape == (80, 231)  # 80 mel bins (rows) by 2.3 s of 10 ms frames (columns)
    assert image_columns_s(view.image)[-1] == pytest.approx(2.3, abs=0.011)
    assert (view.image.y0, view.image.dy) == (0, 1)  # row 0, the lowest band, at the bottom
    assert tuple(view.figure.layout.yaxis2.range) == (-0.5, 79.5)
    ticks = view.figure.layout.yaxis2.ticktext
    assert len(ticks) == 8 and all(t.endswith("Hz") for t in ticks)
    assert list(view.figure.layout.yaxis2.tickvals) == sorted(view.figure.layout.yaxis2.tickvals)
    # one palette colour every 2 dB: the 80 dB range kept, the loudest cells brightest
    assert len(palette) == 41 and pixels.max() - pixels.min() == pytest.approx(40, abs=1)
    assert np.array_equal(pixels, view.levels)
    assert palette[-1].sum() > palette[0].sum()
    spec = view.spectrogram
    loudest_bin = int(np.argmax(spec.values.mean(axis=0)))
    quietest_bin = int(np.argmin(spec.values.mean(axis=0)))
    assert pixels[loudest_bin].mean() > pixels[quietest_bin].mean() + 10
    bar = view.scale_bar.marker
    assert (bar.cmin, bar.cmax) == (round(spec.floor_db), round(spec.peak_db))


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
    pixels, _ = decode_png(view.image.source)
    assert pixels.shape == (80, MAX_COLUMNS)
    columns = image_columns_s(view.image)
    assert np.all(np.diff(columns) > 0) and columns[-1] == pytest.approx(12.0, abs=0.02)
    assert payload_bytes(view.figure) < 60_000  # 1200 frames × 80 bins as float JSON: ~1.8 MB


def test_updates_in_place_and_labels_untrained_results():
    view = SpectrogramView(scale="linear")
    figure, image = view.figure, view.image
    view.show(speechlike_audio(1.0), untrained=True)
    assert "untrained" in view.title.value
    assert decode_png(view.image.source)[0].shape == (257, 101)  # linear bins at 16 kHz
    assert view.figure.layout.yaxis2.range[1] == 256.5
    view.show(speechlike_audio(0.5))
    assert view.figure is figure and view.image is image
    assert decode_png(view.image.source)[0].shape == (257, 51)
    assert "untrained" not in view.title.value
    assert len(view.word_bars.x) == 0
