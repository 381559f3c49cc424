from __future__ import annotations

import numpy as np
import pytest
from widget_fixtures import decode_png, image_columns_s

from lab.layers import project_layer, similarity_to_final
from lab.results import Recognition, Segment
from widgets._common import MAX_COLUMNS, is_visible, payload_bytes
from widgets.layer_explorer import NO_CHAR_LABEL, SIMILARITY_STEP, LayerExplorer


def _recognition(layers: int = 4, frames: int = 30, dim: int = 8, seed: int = 0) -> Recognition:
    rng = np.random.default_rng(seed)
    states = rng.standard_normal((layers + 1, frames, dim)).astype(np.float32)
    chars = (Segment("H", 0.10, 0.20, 0.9), Segment("I", 0.30, 0.36, 0.9))
    return Recognition(text="HI", model="toy-ctc", chars=chars, hidden_states=states, frame_s=0.02)


def test_show_draws_similarity_heatmap_and_char_coloured_projection():
    rec = _recognition()
    view = LayerExplorer(rec)
    assert is_visible(view.figures) and view.status.kind == "ok"
    picture = view.similarity_image
    pixels, palette = decode_png(picture.source)
    assert pixels.shape == (5, 30)  # layers + 1 rows, one column per frame
    shown = -1.0 + pixels * SIMILARITY_STEP
    np.testing.assert_allclose(shown, similarity_to_final(rec), atol=0.006)
    assert np.all(pixels[-1] == 200)  # the final layer is itself: cos 1, the last colour
    assert len(palette) == 201
    axis = view.heatmap.layout.yaxis
    assert list(axis.ticktext) == ["features", "layer 1", "layer 2", "layer 3", "layer 4"]
    assert list(axis.tickvals) == [0, 1, 2, 3, 4] and (picture.y0, picture.dy) == (0, 1)
    columns = image_columns_s(picture)
    assert columns[0] == pytest.approx(0.0) and columns[1] == pytest.approx(0.02)
    names = [t.name for t in view.projection.data]
    assert names == ["H", "I", NO_CHAR_LABEL]
    sizes = {t.name: len(t.x) for t in view.projection.data}
    # frame centres 0.01, 0.03, ...: H covers 0.11-0.19 (5 frames), I 0.31-0.35 (3 frames)
    assert sizes == {"H": 5, "I": 3, NO_CHAR_LABEL: 22}
    assert view.layer.max == 4 and view.layer_label.value == "features"


def test_layer_slider_moves_points_in_place():
    rec = _recognition()
    view = LayerExplorer(rec)
    traces_before = list(view.projection.data)
    view.layer.value = 3
    assert list(view.projection.data) == traces_before  # same traces, new coordinates
    expected = project_layer(rec, 3)
    h = view.projection.data[0]
    np.testing.assert_allclose(np.column_stack([h.x, h.y]), expected.points[5:10], atol=1e-6)
    assert view.layer_label.value == "layer 3"
    assert view.projection.layout.title.text.startswith("Frames of layer 3 (PCA:")
    box = view.heatmap.layout.shapes[0]
    assert (box.y0, box.y1) == (2.5, 3.5)


def test_recognition_without_hidden_states_says_so_in_one_sentence():
    view = LayerExplorer(_recognition())
    view.show(Recognition(text="hello", model="pocketsphinx"))
    assert not is_visible(view.figures)
    assert view.status.kind == "error"
    assert view.status.message == (
        "pocketsphinx gives no hidden states: choose a wav2vec2 or HuBERT recogniser and "
        "recognise with output_hidden_states=True."
    )


def test_long_clip_is_pooled_to_screen_columns_and_payload_stays_small():
    rec = _recognition(layers=12, frames=3000, dim=16, seed=1)  # one minute at 20 ms
    view = LayerExplorer(rec)
    pixels, _ = decode_png(view.similarity_image.source)
    assert pixels.shape == (13, MAX_COLUMNS)
    # five frames a column: the last column is centred on frame 2997
    assert image_columns_s(view.similarity_image)[-1] == pytest.approx(2997 * 0.02)
    assert sum(len(t.x) for t in view.projection.data) == 3000
    heat_bytes = payload_bytes(view.heatmap)
    assert heat_bytes < 20_000, heat_bytes  # 13 × 600 cells, as JSON numbers about 40 kB


def test_run_uses_the_lab_round_trip_with_a_tiny_wav2vec2(tiny):
    view = LayerExplorer(
        text="The birch canoe slid on the smooth planks.",
        recognizers=[str(tiny.wav2vec2), "pocketsphinx"],
        synthesizer="piper",
    )
    assert not is_visible(view.figures)
    view.run_button.click()
    assert view.status.kind == "ok", view.status.message
    assert not view.run_button.disabled
    rec = view.recognition
    assert rec is not None and rec.hidden_states is not None
    pixels, _ = decode_png(view.similarity_image.source)
    assert pixels.shape == (3, rec.hidden_states.shape[1])
    assert "untrained" in view.badge.value
    drawn = sum(len(t.x) for t in view.projection.data)
    assert drawn == rec.hidden_states.shape[1]

    view.recognizer.value = "pocketsphinx"
    view.run_button.click()
    assert view.status.kind == "error"
    assert view.status.message.startswith("pocketsphinx gives no hidden states")
    assert not is_visible(view.figures)


def test_lab_error_from_run_is_shown_and_controls_come_back():
    view = LayerExplorer(recognizers=["pocketsphinx"], synthesizer="piper")
    view.text.value = "  ?!  "
    view.run_button.click()
    assert view.status.kind == "error"
    assert "no letters or digits" in view.status.message
    assert not view.run_button.disabled and not view.text.disabled
