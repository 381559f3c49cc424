"""Text in and text out: checks before synthesis, normalisation before scoring, sentence splitting.

The scoring normalisation is one named pipeline applied to both sides, so a reference that says
"3 cats" and a recogniser that says "THREE CATS" agree.
"""

from __future__ import annotations

import re
import unicodedata

import jiwer

from lab.errors import InvalidTextError

MAX_TEXT_CHARS = 10_000
"""Longest text accepted for synthesis (about ten minutes of speech)."""

_ORDINAL = re.compile(r"\b(\d+)(st|nd|rd|th)\b", re.IGNORECASE)
_PERCENT = re.compile(r"(\d)\s*%")
_NUMBER = re.compile(r"(?<![\w.])(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d+))?(?![\w])")
_SENTENCE_END = re.compile(r"(?<=[.!?;:…])\s+")


def check_text(text: str) -> str:
    """Return the text stripped, or raise :class:`InvalidTextError` saying what to change."""
    if not isinstance(text, str):
        raise InvalidTextError(f"Text must be a string, got {type(text).__name__}.")
    text = unicodedata.normalize("NFKC", text).strip()
    if not text:
        raise InvalidTextError("The text is empty: type a sentence to synthesise.")
    if len(text) > MAX_TEXT_CHARS:
        raise InvalidTextError(
            f"The text has {len(text):,} characters; the limit is {MAX_TEXT_CHARS:,}: "
            "shorten it or split it into several runs."
        )
    if not any(ch.isalnum() for ch in text):
        raise InvalidTextError(
            "The text has no letters or digits to speak (only punctuation, symbols or emoji)."
        )
    return text


LATIN_SHARE = 0.5
"""Below this share of Latin letters, text is in a script the English voices cannot read."""

_SCRIPT_NAMES = {
    "CJK": "Chinese or Japanese (CJK)",
    "HIRAGANA": "Japanese",
    "KATAKANA": "Japanese",
    "HANGUL": "Korean",
    "ARABIC": "Arabic",
    "HEBREW": "Hebrew",
    "CYRILLIC": "Cyrillic",
    "GREEK": "Greek",
    "DEVANAGARI": "Devanagari",
    "THAI": "Thai",
}


def script_of(ch: str) -> str:
    """The script a letter belongs to, from its Unicode name ("LATIN", "ARABIC", "CJK", ...)."""
    name = unicodedata.name(ch, "")
    return name.split(" ", 1)[0] if name else "UNKNOWN"


def check_script(text: str) -> str:
    """Checked text (:func:`check_text`) whose letters are mostly Latin script, as the English
    voices need; otherwise :class:`InvalidTextError` naming the script found."""
    text = check_text(text)
    letters = [ch for ch in text if ch.isalpha()]
    if not letters:
        return text
    scripts = [script_of(ch) for ch in letters]
    latin = sum(s == "LATIN" for s in scripts)
    if latin >= LATIN_SHARE * len(letters):
        return text
    main = max((s for s in scripts if s != "LATIN"), key=scripts.count)
    shown = _SCRIPT_NAMES.get(main, main.title())
    raise InvalidTextError(
        f"The text is written in {shown} script, which the English voices here cannot read "
        "(they would spell it out letter by letter): type an English sentence."
    )


def spell_numbers(text: str) -> str:
    """Write digits as words: "21st" -> "twenty-first", "3.5%" -> "three point five percent"."""
    from num2words import num2words

    text = _ORDINAL.sub(lambda m: num2words(int(m.group(1)), to="ordinal"), text)
    text = _PERCENT.sub(r"\1 percent", text)

    def number(m: re.Match[str]) -> str:
        whole = int(m.group(1).replace(",", ""))
        if whole > 10**15:
            return " ".join(num2words(int(d)) for d in m.group(0) if d.isdigit())
        words = num2words(whole)
        if m.group(2):
            words += " point " + " ".join(num2words(int(d)) for d in m.group(2))
        return words

    return _NUMBER.sub(number, text)


def prepare_for_speech(text: str) -> str:
    """Checked text with numbers spelled out, as synthesizers read them best."""
    return spell_numbers(check_text(text))


_SCORING = jiwer.Compose(
    [
        jiwer.ToLowerCase(),
        # hyphens and dashes separate words ("well-known" is heard as two words)
        jiwer.SubstituteRegexes({r"[-‐‑‒–—]": " "}),
        jiwer.RemovePunctuation(),
        # tabs and newlines separate words too (RemoveMultipleSpaces only folds spaces)
        jiwer.SubstituteRegexes({r"\s+": " "}),
        jiwer.Strip(),
    ]
)


def normalize_for_scoring(text: str) -> str:
    """The form both reference and hypothesis take before WER/CER/BLEU.

    NFKC, numbers spelled out, lower case, hyphens as spaces, punctuation removed (apostrophes
    included, on both sides alike), single spaces.
    """
    text = unicodedata.normalize("NFKC", text)
    return _SCORING(spell_numbers(text))


def split_sentences(text: str, max_chars: int) -> list[str]:
    """Split into sentences, then split any longer than ``max_chars`` at commas, then at spaces.

    No piece is empty and none exceeds ``max_chars``; joining the pieces with spaces gives the
    text back up to white space.
    """
    if max_chars < 1:
        raise ValueError("max_chars must be positive")
    pieces: list[str] = []
    for sentence in _SENTENCE_END.split(text.strip()):
        pieces.extend(_split_long(sentence.strip(), max_chars))
    return [p for p in pieces if p]


def _split_long(sentence: str, max_chars: int) -> list[str]:
    if len(sentence) <= max_chars:
        return [sentence]
    for separator in (r"(?<=[,;])\s+", r"\s+"):
        parts = re.split(separator, sentence)
        if len(parts) > 1:
            out: list[str] = []
            current = ""
            for part in parts:
                candidate = f"{current} {part}".strip()
                if len(candidate) <= max_chars:
                    current = candidate
                else:
                    if current:
                        out.append(current)
                    current = part
            if current:
                out.append(current)
            if all(len(p) <= max_chars for p in out):
                return out
            return [q for p in out for q in _split_long(p, max_chars)]
    return [sentence[i : i + max_chars] for i in range(0, len(sentence), max_chars)]
