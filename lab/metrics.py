"""Scores for one reference/hypothesis pair: jiwer for WER, CER and the word alignment; sacrebleu for
BLEU and chrF; the perplexity of both texts under PocketSphinx's bundled 3-gram language model
(on by default, offline) and optionally under a causal language model."""

from __future__ import annotations

import math
from functools import lru_cache
from pathlib import Path
from typing import Any

import jiwer
import sacrebleu

from lab.errors import InvalidTextError, LabError
from lab.results import AlignmentChunk, Recognition, Scores
from lab.text import normalize_for_scoring


def score(
    reference: str,
    hypothesis: str | Recognition,
    *,
    language_model: str | Path | None = None,
    ngram: bool = True,
) -> Scores:
    """Compare what was meant with what was heard, after :func:`lab.text.normalize_for_scoring`.

    ``hypothesis`` may be a :class:`Recognition`: its confidence is then carried into the scores.
    ``language_model`` (hub id or folder of a causal LM) adds perplexities; when it cannot be
    loaded they stay None and ``notes`` says why. ``ngram`` (on by default) adds the perplexity
    of both texts under PocketSphinx's bundled 3-gram model (loaded once per process).
    """
    confidence = None
    if isinstance(hypothesis, Recognition):
        confidence = hypothesis.confidence
        hypothesis = hypothesis.text
    ref = normalize_for_scoring(reference)
    hyp = normalize_for_scoring(hypothesis)
    if not ref:
        raise InvalidTextError(
            "The reference has no words left after normalisation: give a sentence with words."
        )
    words = jiwer.process_words(ref, hyp)
    chars = jiwer.process_characters(ref, hyp)
    alignment = tuple(
        AlignmentChunk(c.type, c.ref_start_idx, c.ref_end_idx, c.hyp_start_idx, c.hyp_end_idx)
        for c in words.alignments[0]
    )
    notes: list[str] = []
    ppl_ref = ppl_hyp = None
    if language_model is not None:
        try:
            ppl_ref = perplexity(ref, language_model)
            ppl_hyp = perplexity(hyp, language_model) if hyp else None
        except LabError as exc:
            notes.append(f"Perplexity skipped: {exc}")
    ngram_ref = ngram_hyp = None
    if ngram:
        ngram_ref, ngram_hyp = _ngram_perplexities(reference, hypothesis, notes)
    return Scores(
        reference=ref,
        hypothesis=hyp,
        wer=float(words.wer),
        cer=float(chars.cer),
        bleu=float(sacrebleu.sentence_bleu(hyp, [ref]).score),
        chrf=float(sacrebleu.sentence_chrf(hyp, [ref]).score),
        hits=int(words.hits),
        substitutions=int(words.substitutions),
        deletions=int(words.deletions),
        insertions=int(words.insertions),
        alignment=alignment,
        confidence=confidence,
        perplexity_reference=ppl_ref,
        perplexity_hypothesis=ppl_hyp,
        ngram_perplexity_reference=ngram_ref,
        ngram_perplexity_hypothesis=ngram_hyp,
        notes=tuple(notes),
    )


def _ngram_perplexities(
    reference: str, hypothesis: str, notes: list[str]
) -> tuple[float | None, float | None]:
    # the texts as written, not as normalised for WER: the LM spells "don't" with its apostrophe
    from lab.quality import lm_words, ngram_perplexity

    out: list[float | None] = []
    for text in (reference, hypothesis):
        if not lm_words(text):
            out.append(None)
            continue
        try:
            value = ngram_perplexity(text)
        except LabError as exc:
            notes.append(f"n-gram perplexity skipped: {exc}")
            return None, None
        out.append(None if math.isnan(value) else value)
    return out[0], out[1]


def corpus_scores(references: list[str], hypotheses: list[str]) -> dict[str, float]:
    """Corpus-level WER/CER (errors over all words, not a mean of sentence rates), BLEU and chrF."""
    if len(references) != len(hypotheses) or not references:
        raise ValueError("references and hypotheses must be non-empty lists of equal length")
    refs = [normalize_for_scoring(r) for r in references]
    hyps = [normalize_for_scoring(h) for h in hypotheses]
    return {
        "wer": float(jiwer.wer(refs, hyps)),
        "cer": float(jiwer.cer(refs, hyps)),
        "bleu": float(sacrebleu.corpus_bleu(hyps, [refs]).score),
        "chrf": float(sacrebleu.corpus_chrf(hyps, [refs]).score),
    }


def perplexity(text: str, language_model: str | Path) -> float:
    """exp(mean token negative log-likelihood) of ``text`` under a causal language model."""
    import torch

    model, tokenizer = _load_language_model(str(language_model))
    ids = tokenizer(text, return_tensors="pt").input_ids
    if ids.shape[1] < 2:
        raise InvalidTextError("Perplexity needs at least two tokens of text.")
    with torch.inference_mode():
        loss = model(ids, labels=ids).loss
    return float(math.exp(loss.item()))


@lru_cache(maxsize=2)
def _load_language_model(name: str) -> tuple[Any, Any]:
    from lab.errors import ModelUnavailableError

    try:
        from transformers import AutoModelForCausalLM, AutoTokenizer

        tokenizer = AutoTokenizer.from_pretrained(name)
        model = AutoModelForCausalLM.from_pretrained(name).eval()
    except OSError:
        raise ModelUnavailableError(
            f"The language model {name!r} is not available here: pass a local folder, or download "
            "it on a machine with network access."
        ) from None
    return model, tokenizer
