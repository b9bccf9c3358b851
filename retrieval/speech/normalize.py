"""The form of a transcript that searches embed: lower case, no punctuation, English numbers in words.

The catalog keeps Whisper's own words in `text` (what results show and `--where "text ILIKE ..."`
matches); the text tower embeds `search_text(text, language)`, and a text query goes through the same
function (`retrieval.query.embed.query_text`), so a query "seven" meets a spoken "7." and "the 15th"
meets "the fifteenth". Numbers are spelled out only for English; other languages keep their digits.
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
_NUMBER = re.compile(r"(\d+(?:,\d{3})*)(st|nd|rd|th)?\b|\d+(?:,\d{3})*")
_ORDINAL = {"one": "first", "two": "second", "three": "third", "five": "fifth", "eight": "eighth", "nine": "ninth"}
_ORDINAL.update(twelve="twelfth")


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


def ordinal_words(n: int) -> str:
    """English words of a non-negative ordinal: 21 -> 'twenty first', 40 -> 'fortieth'."""
    *rest, last = number_words(n).split()
    if last in _ORDINAL:
        last = _ORDINAL[last]
    else:
        last = last[:-1] + "ieth" if last.endswith("y") else last + "th"
    return " ".join([*rest, last])


def _spelled(match: re.Match[str]) -> str:
    digits = (match.group(1) or match.group()).replace(",", "")
    return f" {(ordinal_words if match.group(2) else number_words)(int(digits))} "


def search_text(text: str, language: str | None = "en") -> str:
    """Lower case, English numbers and ordinals as words ("7th" -> "seventh"), punctuation as spaces,
    single spaces."""
    text = text.lower()
    if language in (None, "en"):
        text = _NUMBER.sub(_spelled, text)
    return re.sub(r"\s+", " ", re.sub(r"[^\w']+|(?<!\w)'|'(?!\w)", " ", text)).strip()
