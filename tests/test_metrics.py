from __future__ import annotations

import math

import pytest

from lab import InvalidTextError, Recognition, corpus_scores, score

# (reference, hypothesis, wer, cer, (hits, substitutions, deletions, insertions))
TABLE = [
    ("the cat sat", "the cat sat", 0.0, 0.0, (3, 0, 0, 0)),
    ("the cat sat", "the bat sat", 1 / 3, 1 / 11, (2, 1, 0, 0)),
    ("the cat sat", "the sat", 1 / 3, 4 / 11, (2, 0, 1, 0)),
    ("the cat sat", "the cat sat down", 1 / 3, 5 / 11, (3, 0, 0, 1)),
    ("the cat sat", "", 1.0, 1.0, (0, 0, 3, 0)),
    ("The Cat, sat!", "THE CAT SAT", 0.0, 0.0, (3, 0, 0, 0)),
    ("I have 3 dogs", "i have three dogs", 0.0, 0.0, (4, 0, 0, 0)),
    # characters: a->c, b->d, then " e f" inserted: 6 edits over 3 characters
    ("a b", "c d e f", 2.0, 2.0, (0, 2, 0, 2)),
]


@pytest.mark.parametrize("ref, hyp, wer, cer, ops", TABLE)
def test_wer_cer_and_operation_counts(ref, hyp, wer, cer, ops):
    s = score(ref, hyp)
    assert s.wer == pytest.approx(wer)
    assert s.cer == pytest.approx(cer)
    assert (s.hits, s.substitutions, s.deletions, s.insertions) == ops


def test_alignment_marks_each_word():
    s = score("the birch canoe slid on the smooth planks", "the birch canoe slit on smooth planks today")
    assert s.word_errors() == [
        ("equal", "the", "the"),
        ("equal", "birch", "birch"),
        ("equal", "canoe", "canoe"),
        ("substitute", "slid", "slit"),
        ("equal", "on", "on"),
        ("delete", "the", None),
        ("equal", "smooth", "smooth"),
        ("equal", "planks", "planks"),
        ("insert", None, "today"),
    ]
    assert s.hypothesis_word_kinds() == ["equal"] * 3 + ["substitute"] + ["equal"] * 3 + ["insert"]


def test_bleu_and_chrf_rank_a_closer_hypothesis_higher():
    ref = "the birch canoe slid on the smooth planks"
    perfect, close, far = score(ref, ref), score(ref, "the birch canoe slid on smooth planks"), score(ref, "a bird can slide")
    assert perfect.bleu == pytest.approx(100.0)
    assert perfect.chrf == pytest.approx(100.0)
    assert perfect.bleu > close.bleu > far.bleu
    assert perfect.chrf > close.chrf > far.chrf


def test_recognition_confidence_is_carried():
    rec = Recognition(text="THE CAT", model="m", confidence=-0.25)
    s = score("the cat", rec)
    assert s.wer == 0 and s.confidence == -0.25


def test_reference_without_words_is_refused():
    with pytest.raises(InvalidTextError, match="no words"):
        score("?!", "anything")


def test_corpus_wer_counts_errors_over_all_words():
    # 1 error in 1 word and 0 errors in 9 words: corpus WER is 1/10, not the mean of 1.0 and 0.0
    result = corpus_scores(["cat", "one two three four five six seven eight nine"],
                           ["bat", "one two three four five six seven eight nine"])
    assert result["wer"] == pytest.approx(0.1)


def test_missing_language_model_leaves_a_note_not_an_error(tmp_path):
    s = score("the cat sat", "the cat sat", language_model=tmp_path / "no-such-model")
    assert s.perplexity_reference is None
    assert any("Perplexity skipped" in n for n in s.notes)
    assert not math.isnan(s.wer)
