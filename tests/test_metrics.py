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
    s = score(
        "the birch canoe slid on the smooth planks", "the birch canoe slit on smooth planks today"
    )
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
    perfect, close, far = (
        score(ref, ref),
        score(ref, "the birch canoe slid on smooth planks"),
        score(ref, "a bird can slide"),
    )
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
    result = corpus_scores(
        ["cat", "one two three four five six seven eight nine"],
        ["bat", "one two three four five six seven eight nine"],
    )
    assert result["wer"] == pytest.approx(0.1)


def test_missing_language_model_leaves_a_note_not_an_error(tmp_path):
    s = score("the cat sat", "the cat sat", language_model=tmp_path / "no-such-model")
    assert s.perplexity_reference is None
    assert any("Perplexity skipped" in n for n in s.notes)
    assert not math.isnan(s.wer)


@pytest.fixture(scope="module")
def tiny_language_model(tmp_path_factory):
    """A small GPT-2 with a word-level tokenizer trained here, saved like a hub checkpoint."""
    import torch
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers
    from transformers import GPT2Config, GPT2LMHeadModel, PreTrainedTokenizerFast

    corpus = ["the cat sat on the mat", "the dog sat on the log", "a cat and a dog"] * 20
    tok = Tokenizer(models.WordLevel(unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.train_from_iterator(corpus, trainers.WordLevelTrainer(special_tokens=["<unk>", "<eos>"]))
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="<unk>", eos_token="<eos>")
    torch.manual_seed(0)
    config = GPT2Config(
        vocab_size=tok.get_vocab_size(),
        n_positions=32,
        n_embd=16,
        n_layer=1,
        n_head=2,
        bos_token_id=1,
        eos_token_id=1,
    )
    model = GPT2LMHeadModel(config)
    # a few steps of training so that word order matters to the model
    optimiser = torch.optim.Adam(model.parameters(), lr=0.05)
    batch = tokenizer(corpus[:2], return_tensors="pt").input_ids  # two 6-word sentences
    for _ in range(60):
        loss = model(batch, labels=batch).loss
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    folder = tmp_path_factory.mktemp("lm")
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def test_perplexity_is_lower_for_the_fluent_sentence(tiny_language_model):
    s = score(
        "the cat sat on the mat", "mat the on sat cat the", language_model=tiny_language_model
    )
    assert s.perplexity_reference is not None and s.perplexity_hypothesis is not None
    assert s.perplexity_reference < s.perplexity_hypothesis
    assert s.notes == ()
