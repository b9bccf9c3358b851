"""The form of a transcript that searches embed: lower case, no punctuation, English numbers in words.

The catalog keeps Whisper's own words in `text` (what results show and `--where "text ILIKE ..."`
matches); the text tower embeds `search_text(text, language)`, so a query "seven" meets a spoken "7."
Numbers are spelled out only for English; other languages keep their digits.
"""

from __future__ import annotations

import re

_ONES = (
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
)
_TENS = ("", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety")
_SCALES = ((1_000_000_000, "billion"), (1_000_000, "million"), (1000, "thousand"), (100, "hundred"))
_NUMBER = re.compile(r"\d+(?:,\d{3})*")


def number_words(n: int) -> str:
    """English words of a non-negative integer: 42 -> 'forty two'."""
    if n < 20:
        return _ONES[n]
    if n < 100:
        return _TENS[n // 10] + ("" if n % 10 == 0 else " " + _ONES[n % 10])
    for value, name in _SCALES:
        if n >= value:
            rest = n % value
            return f"{number_words(n // value)} {name}" + ("" if rest == 0 else " " + number_words(rest))
    raise AssertionError(n)  # unreachable: every n >= 100 meets a scale


def search_text(text: str, language: str | None = "en") -> str:
    """Lower case, English numbers as words, punctuation as spaces, single spaces."""
    text = text.lower()
    if language in (None, "en"):
        text = _NUMBER.sub(lambda m: f" {number_words(int(m.group().replace(',', '')))} ", text)
    return re.sub(r"\s+", " ", re.sub(r"[^\w']+|(?<!\w)'|'(?!\w)", " ", text)).strip()
