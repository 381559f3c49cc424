from __future__ import annotations

import numpy as np
import pytest

from lab.attention import diagonality, focus_rate, monotonic_path, most_diagonal_head


def diagonal_attention(steps: int, tokens: int, width: float = 0.6, seed: int = 0) -> np.ndarray:
    """Rows peaked on a token that moves forward at a steady rate, plus a little seeded noise."""
    rng = np.random.default_rng(seed)
    centre = np.linspace(0, tokens - 1, steps)[:, None]
    m = np.exp(-0.5 * ((np.arange(tokens)[None, :] - centre) / width) ** 2)
    m += 0.02 * rng.random((steps, tokens))
    return m / m.sum(axis=1, keepdims=True)


def random_attention(steps: int, tokens: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).dirichlet(np.ones(tokens), size=steps)


def test_path_follows_a_diagonal_in_a_non_square_matrix():
    m = diagonal_attention(41, 13)
    path = monotonic_path(m)
    assert path.shape == (41,)
    assert path[0] == 0 and path[-1] == 12
    assert np.all(np.diff(path) >= 0)
    expected = np.round(np.linspace(0, 12, 41)).astype(int)
    assert np.abs(path - expected).max() <= 1


def test_diagonal_scores_high_and_random_scores_low():
    diagonal = diagonality(diagonal_attention(60, 19))
    random = diagonality(random_attention(60, 19, seed=3))
    assert diagonal > 0.85
    assert random < 0.4
    assert diagonal > 2 * random


def test_attention_stuck_on_one_token_is_not_diagonal_even_though_it_is_sharp():
    stuck = np.full((50, 15), 0.001)
    stuck[:, 4] = 1.0
    assert focus_rate(stuck) > 0.9
    assert diagonality(stuck) < 0.3


def test_reversed_order_scores_low():
    m = diagonal_attention(40, 16)
    assert diagonality(m[:, ::-1]) < 0.3 < 0.85 < diagonality(m)


def test_more_tokens_than_steps_still_scores_a_fast_diagonal():
    m = diagonal_attention(12, 30, width=1.0)
    assert diagonality(m) > 0.7


def test_most_diagonal_head_is_found_among_random_heads():
    rng = np.random.default_rng(7)
    layers, heads, steps, tokens = 3, 4, 45, 17
    attention = rng.dirichlet(np.ones(tokens), size=(layers, heads, steps))
    attention[2, 1] = diagonal_attention(steps, tokens)
    choice = most_diagonal_head(attention)
    assert (choice.layer, choice.head) == (2, 1)
    assert choice.score == pytest.approx(diagonality(attention[2, 1]))


def test_rejects_wrong_shapes():
    with pytest.raises(ValueError):
        diagonality(np.ones(5))
    with pytest.raises(ValueError):
        most_diagonal_head(np.ones((3, 4, 5)))
