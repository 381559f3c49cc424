from __future__ import annotations

import pytest

from lab import InvalidTextError, check_text, normalize_for_scoring, split_sentences
from lab.text import MAX_TEXT_CHARS, prepare_for_speech


@pytest.mark.parametrize(
    "text, expected",
    [
        ("The Birch Canoe slid.", "the birch canoe slid"),
        ("THE BIRCH CANOE SLID", "the birch canoe slid"),
        ("3 cats", "three cats"),
        ("three cats", "three cats"),
        ("a well-known fact", "a well known fact"),
        ("on the 21st of May", "on the twenty first of may"),
        ("1,000 people", "one thousand people"),
        ("3.5% growth", "three point five percent growth"),
        ("  lots   of\tspace  ", "lots of space"),
        ("DON'T", "dont"),
    ],
)
def test_scoring_normalisation_makes_both_sides_agree(text, expected):
    assert normalize_for_scoring(text) == expected


@pytest.mark.parametrize(
    "text, match",
    [
        ("", "empty"),
        ("   \n\t ", "empty"),
        ("?!... ---", "no letters or digits"),
        ("🙂🙂🙂", "no letters or digits"),
        ("a" * (MAX_TEXT_CHARS + 1), "limit is 10,000"),
    ],
)
def test_text_that_cannot_be_spoken_is_refused(text, match):
    with pytest.raises(InvalidTextError, match=match):
        check_text(text)


def test_non_latin_and_emoji_mixed_text_passes_the_check():
    assert check_text(" 東京 is big 🙂 ") == "東京 is big 🙂"
    assert check_text("שלום עולם") == "שלום עולם"


def test_speech_text_spells_numbers():
    assert prepare_for_speech("I have 2 dogs.") == "I have two dogs."


@pytest.mark.parametrize("max_chars", [20, 50, 200])
def test_split_keeps_every_word_in_order_and_pieces_short(max_chars):
    text = (
        "The birch canoe slid on the smooth planks. Glue the sheet to the dark blue background, "
        "then it is easy to tell the depth of a well! These days a chicken leg is a rare dish? "
        + "Supercalifragilisticexpialidociousandthensome "
        * 2
    )
    pieces = split_sentences(text, max_chars)
    assert all(0 < len(p) <= max_chars for p in pieces)
    assert "".join(pieces).replace(" ", "") == text.replace(" ", "")


def test_split_on_sentence_ends_first():
    assert split_sentences("One. Two! Three?", 100) == ["One.", "Two!", "Three?"]


def test_five_thousand_characters_split_into_many_short_sentences():
    text = "The quick brown fox jumps over the lazy dog. " * 112
    assert len(text) > 5000
    pieces = split_sentences(text, 150)
    assert len(pieces) == 112
