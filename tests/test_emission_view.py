from __future__ import annotations

import numpy as np
import pytest
from widget_fixtures import click, decode_png, image_columns_s, recognition, speechlike_audio

from lab.tiny import CTC_LABELS
from widgets._common import is_visible, payload_bytes
from widgets.audio_player import AudioPlayer
from widgets.emission_view import LOGPROB_FLOOR, LOGPROB_STEP, EmissionView

WORDS = [("big", 0.1, 0.4), ("dog", 0.5, 0.9)]


def test_hidden_for_recognizers_without_emissions():
    view = EmissionView()
    view.show(recognition(WORDS))  # no emissions, like PocketSphinx
    assert not is_visible(view) and not view.available


def test_picture_is_characters_by_frames_in_half_nats():
    rec = recognition(WORDS, frames=57, seed=4)
    view = EmissionView()
    view.show(rec)
    assert is_visible(view)
    pixels, palette = decode_png(view.image.source)
    shown_labels = [c for c in CTC_LABELS if c not in ("<s>", "</s>", "<unk>")]
    assert pixels.shape == (len(shown_labels), 57)  # characters are rows, frames are columns
    axis = view.figure.layout.yaxis2
    assert list(axis.ticktext)[:2] == ["blank", "␣ word break"]
    assert list(axis.ticktext)[2:] == shown_labels[2:]
    assert list(axis.tickvals) == list(range(len(shown_labels)))  # row r drawn at y = r
    assert (view.image.y0, view.image.dy) == (0, 1)
    # the pixel for character "E" at frame 7 shows that log-probability, in 0.5 steps
    e_row = list(axis.ticktext).index("E")
    expected = max(rec.emissions[7, CTC_LABELS.index("E")], LOGPROB_FLOOR)
    assert LOGPROB_FLOOR + pixels[e_row, 7] * LOGPROB_STEP == pytest.approx(expected, abs=0.25)
    # likelier is darker on the Blues scale
    assert len(palette) == 41 and palette[-1].sum() < palette[0].sum()
    assert image_columns_s(view.image)[1] == pytest.approx(0.02)


def test_path_alignment_and_word_confidence_are_drawn():
    rec = recognition(WORDS, frames=57, seed=4)
    view = EmissionView()
    view.show(rec)
    blank = CTC_LABELS.index("<pad>")
    specials = [CTC_LABELS.index(s) for s in ("<s>", "</s>", "<unk>")]
    expected_points = int(np.sum((rec.path != blank) & ~np.isin(rec.path, specials)))
    assert len(view.path_trace.x) == expected_points
    b_row = view.labels.index("B")
    char_y = np.asarray(view.char_trace.y)
    assert list(char_y[:2]) == [b_row, b_row] and np.isnan(char_y[2])  # "B" 0.1-0.2 s, a gap
    assert list(view.char_trace.text[:2]) == ["B", "B"]
    chosen = [view.labels[view.rows.index(int(v))] for v in rec.path if v in view.rows]
    assert list(view.path_trace.text) == [c for c in chosen if c != "blank"]
    assert np.asarray(view.char_trace.x)[:2] == pytest.approx([0.1, 0.2])
    assert list(view.word_bars.text) == ["big 50%", "dog 60%"]
    assert "least sure of “big” (50%)" in view.summary.value
    assert sorted({s.x0 for s in view.figure.layout.shapes}) == [0.1, 0.4, 0.5, 0.9]


def test_long_emissions_are_pooled_and_small_and_untrained_is_labelled():
    rec = recognition(WORDS, frames=1500, seed=1, untrained=True)
    view = EmissionView()
    figure = view.figure
    view.show(rec)
    assert decode_png(view.image.source)[0].shape[1] == 600
    assert image_columns_s(view.image)[-1] == pytest.approx(1499 * 0.02, abs=0.02)  # last frame
    assert "untrained" in view.title.value
    naive = 1500 * len(CTC_LABELS) * 18
    assert payload_bytes(view.figure) < naive / 10
    view.show(recognition(WORDS, frames=40, seed=2))
    assert view.figure is figure and decode_png(view.image.source)[0].shape[1] == 40


def test_clicking_a_word_plays_it():
    player = AudioPlayer(speechlike_audio(1.2))
    sent = []
    player.send = sent.append
    view = EmissionView(player)
    view.show(recognition(WORDS, frames=57))
    click(view.figure, trace_index=3, point_index=1)
    assert sent == [{"type": "play_range", "start_s": 0.5, "end_s": 0.9}]
