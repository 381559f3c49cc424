"""How a self-supervised recogniser's representation changes from layer to layer.

For a :class:`~lab.results.Recognition` with ``hidden_states`` (layers + 1, frames, dim) — the
feature projection (row 0) then each transformer layer — this module gives:

* :func:`similarity_to_final`: cosine similarity of every layer's frame to the final layer's frame
  at the same time, (layers + 1, frames);
* :func:`project_layer`: a 2-D PCA projection of one layer's frames, each labelled with the
  character aligned to it (from ``Recognition.chars``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lab.errors import LabError
from lab.results import Recognition

NO_CHAR = ""
"""Label of frames that no character segment covers (silence, CTC blanks between characters)."""


class NoHiddenStatesError(LabError, ValueError):
    """A recognition without hidden states (a backend that has none, or they were not asked for)."""


def hidden_states(recognition: Recognition) -> np.ndarray:
    """The (layers + 1, frames, dim) hidden states, or a one-sentence error saying why there are none."""
    states = recognition.hidden_states
    if states is None:
        raise NoHiddenStatesError(
            f"{recognition.model} gives no hidden states: choose a wav2vec2 or HuBERT recogniser "
            "and recognise with output_hidden_states=True."
        )
    states = np.asarray(states)
    if states.ndim != 3 or states.shape[0] < 1 or states.shape[1] < 1:
        raise NoHiddenStatesError(
            f"Hidden states of {recognition.model} have shape {states.shape}; expected "
            "(layers + 1, frames, dim) with at least one frame."
        )
    return states


def layer_names(n_layers_plus_one: int) -> tuple[str, ...]:
    """Row 0 is what the CNN feature encoder feeds the transformer; row i is transformer layer i."""
    return ("features",) + tuple(f"layer {i}" for i in range(1, n_layers_plus_one))


def similarity_to_final(recognition: Recognition) -> np.ndarray:
    """(layers + 1, frames) cosine similarity of each layer's frame to the last layer's frame.

    The last row is 1 wherever the final frame is not all zeros.
    """
    states = hidden_states(recognition).astype(np.float32, copy=False)
    final = states[-1]
    dot = np.einsum("lfd,fd->lf", states, final)
    norms = np.linalg.norm(states, axis=2) * np.linalg.norm(final, axis=1)[None, :]
    with np.errstate(invalid="ignore", divide="ignore"):
        sim = np.where(norms > 0, dot / np.maximum(norms, 1e-12), 0.0)
    return np.clip(sim, -1.0, 1.0).astype(np.float32)


def mean_similarity_to_final(recognition: Recognition) -> np.ndarray:
    """(layers + 1,) mean over frames of :func:`similarity_to_final`."""
    return similarity_to_final(recognition).mean(axis=1)


def frame_times(recognition: Recognition) -> np.ndarray:
    """(frames,) centre time in seconds of each hidden-state frame."""
    frames = hidden_states(recognition).shape[1]
    frame_s = _frame_s(recognition)
    return (np.arange(frames, dtype=np.float64) + 0.5) * frame_s


def frame_chars(recognition: Recognition) -> tuple[str, ...]:
    """The character aligned to each frame ("" where none is), from the char segments.

    A frame belongs to a segment when its centre lies in [start, end).
    """
    times = frame_times(recognition)
    labels = [NO_CHAR] * times.size
    for seg in recognition.chars:
        inside = np.nonzero((times >= seg.start_s) & (times < seg.end_s))[0]
        for i in inside:
            labels[int(i)] = seg.text
    return tuple(labels)


@dataclass(frozen=True, eq=False)
class LayerProjection:
    layer: int
    """Row of ``hidden_states``: 0 is the feature projection, i is transformer layer i."""
    points: np.ndarray
    """(frames, 2) coordinates on the first two principal components of this layer's frames."""
    chars: tuple[str, ...]
    """Character aligned to each frame ("" where none is)."""
    times_s: np.ndarray
    """(frames,) centre time of each frame."""
    explained_variance: np.ndarray
    """(2,) share of this layer's variance along each component."""


def project_layer(recognition: Recognition, layer: int) -> LayerProjection:
    """PCA of one layer's frames to two dimensions (signs fixed so the result is deterministic)."""
    states = hidden_states(recognition)
    n_rows = states.shape[0]
    if not -n_rows <= layer < n_rows:
        raise LabError(
            f"Layer {layer} does not exist: {recognition.model} has rows 0-{n_rows - 1}."
        )
    layer = layer % n_rows
    x = states[layer].astype(np.float64)
    x = x - x.mean(axis=0, keepdims=True)
    points = np.zeros((x.shape[0], 2))
    explained = np.zeros(2)
    total = float(np.square(x).sum())
    if x.shape[0] >= 2 and total > 0:
        u, s, vt = np.linalg.svd(x, full_matrices=False)
        k = min(2, s.size)
        # SVD signs are arbitrary: make the largest loading of each component positive
        signs = np.sign(vt[np.arange(k), np.abs(vt[:k]).argmax(axis=1)])
        signs[signs == 0] = 1
        points[:, :k] = u[:, :k] * s[:k] * signs
        explained[:k] = s[:k] ** 2 / total
    return LayerProjection(
        layer=layer,
        points=points.astype(np.float32),
        chars=frame_chars(recognition),
        times_s=frame_times(recognition),
        explained_variance=explained,
    )


def _frame_s(recognition: Recognition) -> float:
    if recognition.frame_s is not None and recognition.frame_s > 0:
        return float(recognition.frame_s)
    raise NoHiddenStatesError(
        f"{recognition.model} gives no frame duration, so its hidden states cannot be placed in time."
    )
