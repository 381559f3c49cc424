from __future__ import annotations

import numpy as np
import pytest

from lab.audio import Audio
from lab.errors import LabError
from lab.layers import (
    NO_CHAR,
    NoHiddenStatesError,
    frame_chars,
    frame_times,
    layer_names,
    mean_similarity_to_final,
    project_layer,
    similarity_to_final,
)
from lab.results import Recognition, Segment


def _recognition(states: np.ndarray | None, chars=(), frame_s: float | None = 0.02) -> Recognition:
    return Recognition(
        text="ab", model="toy", chars=tuple(chars), hidden_states=states, frame_s=frame_s
    )


def test_similarity_has_one_row_per_layer_and_one_column_per_frame():
    rng = np.random.default_rng(0)
    frames, dim = 7, 5  # non-square on purpose: a transposition would change the shape
    final = rng.standard_normal((frames, dim))
    orthogonal = np.stack([np.array([-v[1], v[0], 0, 0, 0]) for v in final])
    orthogonal[:, 2:] = 0
    final[:, 2:] = 0  # keep final in the first two axes so `orthogonal` is exactly orthogonal
    states = np.stack([-final, 3 * final, orthogonal, final]).astype(np.float32)
    sim = similarity_to_final(_recognition(states))
    assert sim.shape == (4, 7)
    np.testing.assert_allclose(sim[0], -1, atol=1e-6)
    np.testing.assert_allclose(sim[1], 1, atol=1e-6)
    np.testing.assert_allclose(sim[2], 0, atol=1e-6)
    np.testing.assert_allclose(sim[3], 1, atol=1e-6)
    np.testing.assert_allclose(
        mean_similarity_to_final(_recognition(states)), [-1, 1, 0, 1], atol=1e-6
    )


def test_zero_frames_give_zero_similarity_not_nan():
    states = np.zeros((3, 4, 6), dtype=np.float32)
    states[:, 1:] = 1.0
    sim = similarity_to_final(_recognition(states))
    assert np.isfinite(sim).all()
    assert (sim[:, 0] == 0).all() and np.allclose(sim[:, 1:], 1)


def test_no_hidden_states_is_one_sentence():
    with pytest.raises(NoHiddenStatesError) as info:
        similarity_to_final(_recognition(None))
    message = str(info.value)
    assert message.startswith("toy gives no hidden states")
    assert message.count(". ") == 0 and message.endswith(".")
    assert isinstance(info.value, LabError)


def test_frame_chars_follow_segments_by_frame_centre():
    states = np.ones((2, 10, 3), dtype=np.float32)
    chars = [Segment("H", 0.04, 0.08, 0.9), Segment("I", 0.10, 0.16, 0.8)]
    labels = frame_chars(_recognition(states, chars))
    # frame centres: 0.01, 0.03, 0.05, ... 0.19
    assert labels == (NO_CHAR, NO_CHAR, "H", "H", NO_CHAR, "I", "I", "I", NO_CHAR, NO_CHAR)
    np.testing.assert_allclose(frame_times(_recognition(states))[:3], [0.01, 0.03, 0.05])


def test_projection_recovers_planar_structure_deterministically():
    rng = np.random.default_rng(1)
    frames, dim = 12, 6
    plane = rng.standard_normal((frames, 2)) * np.array([3.0, 1.0])
    basis, _ = np.linalg.qr(rng.standard_normal((dim, 2)))
    layer = plane @ basis.T + 5.0  # an offset PCA must remove
    states = np.stack([rng.standard_normal((frames, dim)), layer]).astype(np.float32)
    proj = project_layer(_recognition(states), 1)
    assert proj.points.shape == (frames, 2)
    assert proj.layer == 1
    assert proj.explained_variance.sum() == pytest.approx(1.0, abs=1e-5)
    assert proj.explained_variance[0] > proj.explained_variance[1]
    # distances between frames are kept: the projection loses nothing for planar data
    original = np.linalg.norm(layer[:, None] - layer[None], axis=2)
    projected = np.linalg.norm(proj.points[:, None] - proj.points[None], axis=2)
    np.testing.assert_allclose(projected, original, atol=1e-3)
    again = project_layer(_recognition(states), -1)
    np.testing.assert_array_equal(again.points, proj.points)
    assert again.layer == 1


def test_projection_of_missing_layer_says_which_exist():
    states = np.ones((3, 4, 2), dtype=np.float32)
    with pytest.raises(LabError, match="rows 0-2"):
        project_layer(_recognition(states), 3)


def test_layer_names():
    assert layer_names(3) == ("features", "layer 1", "layer 2")


def test_tiny_wav2vec2_hidden_states_through_the_real_recognizer(tiny):
    from lab.backends.ctc import CTCRecognizer

    rec = CTCRecognizer.from_pretrained(tiny.wav2vec2)
    rng = np.random.default_rng(0)
    audio = Audio((0.1 * rng.standard_normal(16000)).astype(np.float32), 16000)
    recognition = rec.recognize(audio, output_hidden_states=True)
    layers = rec.model.config.num_hidden_layers + 1
    frames = recognition.emissions.shape[0]
    sim = similarity_to_final(recognition)
    assert sim.shape == (layers, frames)
    np.testing.assert_allclose(sim[-1], 1, atol=1e-5)
    proj = project_layer(recognition, 1)
    assert proj.points.shape == (frames, 2)
    assert len(proj.chars) == frames
    assert set(proj.chars) - {NO_CHAR} <= {c.text for c in recognition.chars}
    plain = rec.recognize(audio)
    with pytest.raises(NoHiddenStatesError, match="output_hidden_states=True"):
        project_layer(plain, 0)
