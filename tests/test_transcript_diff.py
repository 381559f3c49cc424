from __future__ import annotations

import pytest
from widget_fixtures import recognition, speechlike_audio

import lab
from widgets._common import KIND_COLOURS
from widgets.audio_player import AudioPlayer
from widgets.transcript_diff import TranscriptDiff

REFERENCE = "the quick brown fox jumps"
HEARD = [
    ("the", 0.1, 0.3),
    ("quack", 0.35, 0.7),
    ("fox", 0.9, 1.2),
    ("jumps", 1.3, 1.7),
    ("up", 1.8, 2.0),
]


@pytest.fixture
def diff():
    rec = recognition(HEARD)
    player = AudioPlayer(speechlike_audio(2.3))
    sent: list[dict] = []
    player.send = sent.append
    view = TranscriptDiff(player)
    view.show(lab.score(REFERENCE, rec), rec)
    return view, sent


def test_each_aligned_position_shows_reference_over_recognised_word(diff):
    view, _ = diff
    assert [c.hypothesis.description for c in view.words.children] == [
        "the",
        "quack",
        "—",
        "fox",
        "jumps",
        "up",
    ]
    kinds = [kind for kind, _, _ in view.positions]
    assert kinds == ["equal", "substitute", "delete", "equal", "equal", "insert"]
    brown = view.words.children[2]
    assert "brown" in brown.reference.value and "line-through" in brown.reference.value
    quack = view.words.children[1].hypothesis
    assert quack.style.button_color == KIND_COLOURS["substitute"]
    assert "“quick” heard as “quack”" in quack.tooltip
    assert view.words.children[5].hypothesis.style.button_color == KIND_COLOURS["insert"]


def test_scores_are_shown_beside_the_words(diff):
    view, _ = diff
    scores = lab.score(REFERENCE, " ".join(w for w, _, _ in HEARD))
    assert f"{scores.wer:.1%}" in view.scores.value  # 3 errors / 5 words = 60.0%
    assert "60.0%" in view.scores.value
    assert "1 sub · 1 ins · 1 del" in view.scores.value
    assert "BLEU" in view.scores.value and "chrF" in view.scores.value


def test_clicking_a_word_plays_its_segment(diff):
    view, sent = diff
    view.words.children[1].hypothesis.click()
    view.words.children[5].hypothesis.click()
    assert sent == [
        {"type": "play_range", "start_s": 0.35, "end_s": 0.7},
        {"type": "play_range", "start_s": 1.8, "end_s": 2.0},
    ]


def test_clicking_a_deleted_word_plays_the_gap_it_left(diff):
    view, sent = diff
    view.words.children[2].hypothesis.click()
    assert sent == [{"type": "play_range", "start_s": 0.7, "end_s": 0.9}]


def test_new_results_reuse_the_word_widgets():
    view = TranscriptDiff()
    rec = recognition(HEARD)
    view.show(lab.score(REFERENCE, rec), rec, untrained=True)
    first = view.words.children[0]
    assert "untrained" in view.title.value
    short = recognition([("fox", 0.1, 0.4)])
    view.show(lab.score("a fox", short), short)
    assert view.words.children[0] is first
    assert [c.hypothesis.description for c in view.words.children] == ["—", "fox"]
    assert "untrained" not in view.title.value
    # no player: nothing to play, so the words are not clickable
    assert view.words.children[1].hypothesis.disabled


def test_words_without_times_are_not_clickable():
    player = AudioPlayer(speechlike_audio(1.0))
    view = TranscriptDiff(player)
    view.show(lab.score("one two", "one two"))  # a plain string: no segments
    assert all(c.hypothesis.disabled for c in view.words.children)
