from __future__ import annotations

import numpy as np
import pytest
from widget_fixtures import decode_png, image_columns_s, recognition, synthesis

from lab.attention import diagonality
from widgets._common import is_visible, payload_bytes
from widgets.attention_map import BEST, MEAN, PERCENT_STEP, AttentionMap

TEXT = "the cat sat"  # 11 characters + </s> = 12 tokens against 47 decoder steps


def test_hidden_until_results_carry_attention():
    view = AttentionMap()
    assert not is_visible(view)
    view.show(synthesis=None, recognition=recognition([("hi", 0.0, 0.2)]))
    assert not is_visible(view) and not view.available


def test_most_diagonal_head_is_chosen_and_drawn_tokens_by_time():
    synth = synthesis(TEXT, steps=47, diagonal_head=(1, 2))
    view = AttentionMap()
    view.show(synth)
    assert is_visible(view)
    assert view.head.value == BEST
    assert (view.shown_layer, view.shown_head) == (1, 2)
    assert view.layer.value == 1 and view.layer.disabled
    pixels, palette = decode_png(view.image.source)
    assert pixels.shape == (12, 47)  # tokens are rows, decoder steps are columns
    assert pixels.max() * PERCENT_STEP == 100 and len(palette) == 100 // PERCENT_STEP + 1
    # the planted diagonal: each step's brightest pixel moves down the tokens
    brightest = pixels.argmax(axis=0)
    assert brightest[0] == 0 and brightest[-1] == 11 and np.all(np.diff(brightest) >= 0)
    assert (view.image.y0, view.image.dy) == (0, 1)
    assert view.figure.layout.yaxis.autorange == "reversed"  # the first token on top
    # steps to seconds: one SpeechT5 decoder step is two 16 ms mel frames
    assert image_columns_s(view.image)[1] == pytest.approx(0.032, abs=1e-6)
    # tick text is HTML to plotly: "</s>" is escaped, or it would break the layout
    assert list(view.figure.layout.yaxis.ticktext) == [
        "t",
        "h",
        "e",
        "␣",
        "c",
        "a",
        "t",
        "␣",
        "s",
        "a",
        "t",
        "&lt;/s&gt;",
    ]
    assert "layer 2, head 3" in view.title.value
    assert view.diagonality == pytest.approx(diagonality(synth.cross_attention[1, 2]))
    assert view.diagonality > 0.8
    assert f"{view.diagonality:.2f}" in view.score.value


def test_choosing_a_head_and_the_average_redraws_in_place():
    synth = synthesis(TEXT, steps=47)
    view = AttentionMap()
    view.show(synth)
    figure, image = view.figure, view.image
    best_picture = view.image.source
    view.head.value = 0
    view.layer.value = 0
    assert not view.layer.disabled
    assert (view.shown_layer, view.shown_head) == (0, 0)
    assert np.allclose(view.matrix, synth.cross_attention[0, 0])
    assert view.image.source != best_picture
    assert view.diagonality < 0.5  # a random head
    view.head.value = MEAN
    assert np.allclose(view.matrix, synth.cross_attention[0].mean(axis=0))
    assert "average of 3 heads" in view.title.value
    assert view.figure is figure and view.image is image


def test_recognizer_self_attention_is_time_by_time_and_pooled():
    rec = recognition([("hi", 0.0, 0.3)], frames=450, attentions=True, untrained=True)
    view = AttentionMap()
    view.show(recognition=rec)
    assert is_visible(view) and not is_visible(view.source)  # one source: no chooser
    pixels, _ = decode_png(view.image.source)
    assert pixels.shape == (300, 300)  # 450 frames a side, pooled to what is shown
    last_row_s = view.image.y0 + view.image.dy * 299
    assert last_row_s == pytest.approx(449 * 0.02, abs=0.01)  # centre of the last pooled frames
    assert image_columns_s(view.image)[-1] == pytest.approx(last_row_s)
    assert view.figure.layout.yaxis.autorange is True  # attended time goes up
    assert "untrained" in view.title.value
    naive = 450 * 450 * 18  # float32 values written out as JSON numbers
    assert payload_bytes(view.figure) < naive / 10


def test_both_sources_offer_a_chooser():
    view = AttentionMap()
    rec = recognition([("hi", 0.0, 0.3)], frames=61, attentions=True)
    view.show(synthesis(TEXT), rec)
    assert is_visible(view.source)
    view.source.value = "recognition"
    assert decode_png(view.image.source)[0].shape == (61, 61)
    assert view.layer.options[-1][1] == 1 and len(view.head.options) == 2 + 3
