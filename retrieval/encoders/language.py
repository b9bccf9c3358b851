"""Which language a query is in: Unicode script first, then stopwords and an English word list for Latin text.

Only the answer "English or not" picks a text tower (English keeps MiniLM); the code is reported and can be
forced with `--lang`. No model is loaded here, so an English query never pays for the multilingual tower.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from functools import lru_cache

from retrieval.errors import MmsearchError

ENGLISH = "en"
OTHER_LATIN = "latin"
"""A Latin-script text that is not English but whose language the stopword lists cannot name."""

MULTILINGUAL_LANGUAGES = frozenset({"ar", "de", "es", "fr", "it", "ja", "ko", "nl", "pl", "pt", "ru", "th", "tr", "zh"})
"""Languages the multilingual tower was trained on (Universal Sentence Encoder multilingual v3), English aside."""

LATIN_LANGUAGES = frozenset({"de", "es", "fr", "id", "it", "nl", "pl", "pt", "tr", OTHER_LATIN})
"""Codes of the languages written in Latin script (`OTHER_LATIN` among them)."""

SCRIPT_LANGUAGE = {"HANGUL": "ko", "CYRILLIC": "ru", "ARABIC": "ar", "THAI": "th", "CJK": "zh"}
"""Non-Latin scripts the multilingual tower reads, and the language a text in that script is taken for."""

KANA = frozenset({"HIRAGANA", "KATAKANA"})


def word_set(text: str) -> frozenset[str]:
    """The whitespace-separated words of `text`."""
    return frozenset(text.split())


ENGLISH_STOPWORDS = word_set(
    """
    a an the of in on at to for with from by and or but is are was were be been being it its this that these
    those there here he she they we you his her their our my your him them who what which where when while as
    into onto over under up down out off near next behind front some two three one several many very has have
    had do does doing not no
    """
)

FOREIGN_STOPWORDS: dict[str, frozenset[str]] = {
    "es": word_set(
        """
        el la los las un una unos unas de del y en con por para al sobre junto mientras es está están son su
        sus otro otra dos tres muy sin que se le lo entre hacia
        """
    ),
    "de": word_set(
        """
        der die das den dem des ein eine einer einem einen und ist sind mit im auf zum zur vor von bei aus ihr
        ihre sein seine sich nicht zwei drei während neben über unter durch
        """
    ),
    "fr": word_set(
        """
        le la les un une des du de et est sont avec dans sur sous pour par au aux ses son sa leur deux trois
        qui pendant devant près très
        """
    ),
    "it": word_set(
        """
        il lo gli uno della delle degli nel nella sul sulla con per che sono è e di da
        """
    ),
    "pt": word_set(
        """
        o os um uma uns umas do da dos das no na nos nas em com para por ao são está
        """
    ),
    "nl": word_set(
        """
        de het een en van op met voor zijn bij naar uit ook niet twee drie
        """
    ),
}
"""Common function words per language (words that are also common in English are left out)."""

FOREIGN_LETTERS = frozenset("áàâãäåçéèêëíìîïñóòôõöøúùûüýÿßæœąćęłńśźżğışčřšžů")
"""Letters English words almost never contain."""

_WORD = re.compile(r"[^\W\d_]+", re.UNICODE)


def check_lang(lang: str | None) -> str | None:
    """`lang` as a supported code (None or "auto": detect per text); raises MmsearchError otherwise."""
    if lang is None or lang.lower() == "auto":
        return None
    code = lang.lower().split("-")[0]
    if code not in MULTILINGUAL_LANGUAGES | {ENGLISH, OTHER_LATIN}:
        supported = ", ".join(sorted(MULTILINGUAL_LANGUAGES | {ENGLISH}))
        raise MmsearchError(f"unsupported language {lang!r}: use auto or one of {supported}")
    return code


def readable_language(code: str | None) -> str | None:
    """`code` (e.g. a speech recogniser's language) when a text tower reads it, else None (detect per text)."""
    base = (code or "").lower().split("-")[0]
    return base if base in MULTILINGUAL_LANGUAGES | {ENGLISH} else None


def script_counts(text: str) -> Counter[str]:
    """How many letters of `text` each Unicode script holds (the first word of the character's name)."""
    counts: Counter[str] = Counter()
    for char in text:
        if char.isalpha():
            counts[unicodedata.name(char, "UNKNOWN").split()[0]] += 1
    return counts


def detect_language(text: str) -> str | None:
    """A language code for `text`: "en", a multilingual code, `OTHER_LATIN`, or None (no letters, or only
    letters of a script neither text tower reads, e.g. Amharic or emoji)."""
    scripts = script_counts(text)
    if scripts.keys() & KANA:
        return "ja"
    for script, code in SCRIPT_LANGUAGE.items():
        if scripts[script]:
            return code
    if not scripts["LATIN"]:
        return None
    return _latin_language([word.lower() for word in _WORD.findall(text)])


def uses_minilm(code: str | None) -> bool:
    """True when the English text tower answers for this language code (English, or nothing readable)."""
    return code is None or code == ENGLISH


def _latin_language(words: list[str]) -> str:
    english_stops = sum(word in ENGLISH_STOPWORDS for word in words)
    foreign = Counter(
        code
        for word in words
        if word not in ENGLISH_STOPWORDS
        for code, stops in FOREIGN_STOPWORDS.items()
        if word in stops
    )
    if foreign and max(foreign.values()) > english_stops:
        return foreign.most_common(1)[0][0]
    if english_stops:
        return ENGLISH
    lexicon = english_words()
    if not lexicon:
        return ENGLISH
    known = sum(word in lexicon and not FOREIGN_LETTERS.intersection(word) for word in words)
    if known < len(words) - known:
        return OTHER_LATIN
    if known < len(words):  # English words beside unknown ones: they may be another language's ("perro negro")
        from retrieval.encoders.glossary import latin_language  # it imports this module

        return latin_language(words, lexicon) or ENGLISH
    return ENGLISH


@lru_cache(maxsize=1)
def english_words() -> frozenset[str]:
    """The lower-case words of the adapter's English training corpus (MiniLM's vocabulary among them)."""
    from retrieval.encoders.multilingual import read_english_words

    return read_english_words()
