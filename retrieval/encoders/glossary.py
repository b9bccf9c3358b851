"""Queries read through a dictionary: "黑猫" -> "black cat", "perro" -> "dog", embedded by MiniLM.

The multilingual encoder's cross-lingual alignment is weakest on single words and names (many short Chinese
and Japanese names land on nearly one vector), so every text it reads is also looked up in a glossary built
by `python -m recipes.glossary` from CC-CEDICT, JMdict, MultiWordNet, WikDict and the Unicode CLDR emoji names.
A text is cut into the longest headwords it contains, left to right (characters for Chinese and Japanese, words
otherwise; function words skipped, a word without a gloss tried without a plural ending, and in German or
undetected text as a compound of two headwords). The glosses joined
by spaces are its `Reading`, and the share of the text they cover says how much of the MiniLM vector of the
reading is blended into the multilingual one (`Reading.weight`): most for a short query read whole, half for
a sentence at least half read, nothing below that.

The glossary is one gzipped TSV (headword, gloss) per language, each read when a query first needs it.
"""

from __future__ import annotations

import gzip
import logging
import os
import tempfile
import threading
import unicodedata
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from retrieval.encoders.language import (
    ENGLISH,
    FOREIGN_STOPWORDS,
    LATIN_LANGUAGES,
    OTHER_LATIN,
    detect_language,
    word_set,
)

log = logging.getLogger(__name__)

GLOSSARY_DIR = "glossary"
"""Folder of the model folder holding one `<lang>.tsv.gz` (headword, gloss) per language."""
FORMS_DIR = "forms"
"""Its subfolder holding, per language, the verb forms made by rule (`Glossary.forms`)."""
MAX_HEADWORD_CHARS = 8
"""Longest Chinese or Japanese headword, in characters."""
MAX_HEADWORD_WORDS = 4
"""Longest headword of a language written with spaces, in words."""
SHORT_WEIGHT = 0.7
"""A short query (a name) read whole: the dictionary's reading is what it means, the encoder adds context."""
LONG_WEIGHT = 0.5
"""A sentence read word by word: the glosses lose word order and inflections, so they share the vector equally."""
MIN_COVERAGE = 0.5
"""Least share of a query the glosses must cover to be blended in at all."""
PLURAL_ENDINGS = ("es", "s", "en", "n", "x", "e")
"""Endings a word without a gloss is tried without (plurals of es, fr, de, it, pt, nl)."""
COMPOUND_LANGUAGES = frozenset({"de"})
"""Languages that write compounds as one word (Spielzeuggitarre: toy guitar), read as two headwords."""
LINKING_ELEMENTS = ("", "s", "es", "n", "en", "e")
"""What may join the two parts of a German compound (Hund-e-leine, Geburt-s-tag)."""
MIN_COMPOUND_PART = 3
"""Fewest characters of either part of a compound."""
LATIN_ORDER = ("es", "fr", "de", "it", "pt", "tr", "id")
"""Tables a Latin-script word is looked up in after its own language's (or when that is not known)."""
SCRIPT_ORDER = {"ar": ("ar", "fa")}
"""Tables a text in another script with spaces is looked up in: its own language's, Persian after Arabic."""


FUNCTION_WORDS = {
    "zh": word_set(
        """
        的 了 着 在 是 和 与 及 之 一 个 只 条 张 辆 头 匹 些 把 被 很 也 都 正在 里
        一个 一只 一条 一张 一辆 一头 一匹 一把 一些
        """
    ),
    "ja": word_set("の に を は が で と へ も や な だ て た る い です ます した している いる ある 一 匹 台 頭 枚"),
}
"""Words a Chinese or Japanese query may hold that carry no meaning a photo shows (particles, classifiers)."""
STOPWORDS = frozenset().union(*FOREIGN_STOPWORDS.values())
"""Function words of the languages written with spaces (articles, prepositions)."""


def write_glossary(folder: Path, glossaries: Mapping[str, Mapping[str, str]]) -> None:
    """Write `{lang: {headword: gloss}}` as one sorted gzipped TSV per language in `folder`, each atomically
    and byte for byte reproducibly (the first of two headwords with the same key wins)."""
    folder.mkdir(parents=True, exist_ok=True)
    for lang, entries in glossaries.items():
        keyed: dict[str, str] = {}
        for headword, gloss in entries.items():
            key = headword_key(lang, headword)
            if key and not {"\t", "\n", "\r"} & set(key + gloss):
                keyed.setdefault(key, gloss)
        text = "".join(f"{key}\t{gloss}\n" for key, gloss in sorted(keyed.items()))
        handle, temporary = tempfile.mkstemp(dir=folder, suffix=".part")
        with os.fdopen(handle, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0, filename="") as out:
            out.write(text.encode("utf-8"))
        os.chmod(temporary, 0o644)
        os.replace(temporary, folder / f"{lang}.tsv.gz")


def has_cjk(text: str) -> bool:
    """Whether `text` contains Chinese characters or Japanese kana."""
    return any("\u3040" <= c <= "\u30ff" or "\u3400" <= c <= "\u9fff" or "\uf900" <= c <= "\ufaff" for c in text)


def has_kana(text: str) -> bool:
    """Whether `text` contains hiragana or katakana (so it is Japanese, not Chinese)."""
    return any("\u3040" <= char <= "\u30ff" for char in text)


def plain(text: str) -> str:
    """NFKC, case-folded, punctuation, symbols, separators and control or format characters (tabs, zero-width
    spaces) turned into spaces: how headwords and queries are compared."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    return "".join(" " if unicodedata.category(c)[0] in "PSZC" else c for c in folded).strip()


def headword_key(lang: str, headword: str) -> str:
    """How a headword is stored and a query part is looked up: `plain`, without spaces in Chinese and Japanese."""
    key = plain(headword)
    return key.replace(" ", "") if lang in FUNCTION_WORDS else " ".join(key.split())


@dataclass(frozen=True)
class Reading:
    """A query read through the glossary."""

    english: str
    """The glosses of its parts, joined by spaces."""
    coverage: float
    """Share of its characters (Chinese, Japanese) or words (function words aside) the glosses cover."""

    def weight(self, short: bool) -> float:
        """Share of the glosses' MiniLM vector in the query's vector: SHORT_WEIGHT for a short query read
        whole, LONG_WEIGHT for any other query at least MIN_COVERAGE read, else 0."""
        if short and self.coverage == 1:
            return SHORT_WEIGHT
        return LONG_WEIGHT if self.coverage >= MIN_COVERAGE else 0.0


class Glossary:
    """Headword -> English gloss, per language (each table read on first use), and the cutting of a query."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.languages = tuple(sorted(path.name.split(".")[0] for path in folder.glob("*.tsv.gz")))
        self._tables: dict[str, dict[str, str]] = {}
        self._reading = threading.Lock()

    @classmethod
    def load(cls, model_dir: Path) -> "Glossary | None":
        """The glossary in `model_dir`, or None (with a warning) when it has none."""
        folder = model_dir / GLOSSARY_DIR
        if not folder.is_dir() or not any(folder.glob("*.tsv.gz")):
            log.warning("no glossary in %s: queries in other languages use the multilingual encoder alone", model_dir)
            return None
        return cls(folder)

    def knows(self, word: str, lang: str) -> bool:
        """Whether `word` (plain, one word) is a headword of `lang`, or one without a plural ending."""
        return self._gloss(word, (lang,)) is not None

    def table(self, lang: str) -> dict[str, str]:
        """The headwords of `lang` (empty for a language without a table, or one that cannot be read)."""
        return self._cached(lang) if lang in self.languages else {}

    def forms(self, lang: str) -> dict[str, str]:
        """The verb forms of `lang` made by rule (`recipes.verb_forms`: corre, corriendo), empty where it has none:
        read after every language's headwords, so that a guess never hides a real word ("Hunde" is German dogs,
        not the Spanish form "hunde")."""
        return self._cached(f"{FORMS_DIR}/{lang}")

    def _cached(self, name: str) -> dict[str, str]:
        table = self._tables.get(name)
        if table is None:
            with self._reading:  # one thread reads a table; the others wait for it rather than see it empty
                table = self._tables.get(name)
                if table is None:
                    path = self.folder / f"{name}.tsv.gz"
                    table = self._read(path) if path.is_file() else {}
                    self._tables[name] = table
        return table

    @staticmethod
    def _read(path: Path) -> dict[str, str]:
        try:
            with gzip.open(path, "rt", encoding="utf-8") as handle:
                return dict(line.rstrip("\n").split("\t", 1) for line in handle)
        except (OSError, EOFError, ValueError, UnicodeDecodeError, zlib.error) as err:
            log.warning("cannot read the glossary %s (%s): its language uses the multilingual encoder alone", path, err)
            return {}

    def read(self, text: str, lang: str | None = None) -> Reading | None:
        """The glosses of `text`'s parts, left to right, and the share of it they cover (None: no part has one).
        `lang` (a language code, e.g. from `--lang`) is looked up first; by default the detected one is."""
        order: tuple[str, ...]
        compounds: tuple[str, ...] = ()
        own: tuple[str, ...] = ()
        if has_cjk(text):
            order = ("ja", "zh") if lang == "ja" or (lang != "zh" and has_kana(text)) else ("zh", "ja")
            units, joiner, function_words = list(headword_key(order[0], text)), "", FUNCTION_WORDS[order[0]]
        else:
            lang = lang or detect_language(text)
            latin = lang is None or lang in LATIN_LANGUAGES or lang == ENGLISH  # English-looking: still Latin
            candidates = (lang or "", *LATIN_ORDER) if latin else SCRIPT_ORDER.get(lang or "", (lang or "",))
            order = tuple(dict.fromkeys(code for code in candidates if code in self.languages))
            units, joiner, function_words = plain(text).split(), " ", STOPWORDS
            undetected = lang in (None, OTHER_LATIN, ENGLISH)
            compounds = tuple(code for code in order if code in COMPOUND_LANGUAGES and (undetected or code == lang))
            own = (lang,) if lang and not undetected and lang in self.languages else ()
        return self._cut(units, joiner, order, function_words, compounds, own)

    def _lookup(self, piece: str, order: tuple[str, ...]) -> str | None:
        for lang in order:
            gloss = self.table(lang).get(piece)
            if gloss:
                return gloss
        return None

    def _cut(
        self,
        units: list[str],
        joiner: str,
        order: tuple[str, ...],
        function_words: frozenset[str],
        compounds: tuple[str, ...],
        own: tuple[str, ...] = (),
    ) -> Reading | None:
        """Longest headwords of `units` (characters or words) left to right; a function word is skipped, a
        unit without a gloss (a word tried without its plural ending, then as a compound of one of the
        `compounds` languages, then as a verb form made by rule) counts as uncovered. A word of a text in a
        detected language (`own`) is read in it first, as a headword, without a plural ending or as a verb form."""
        longest = MAX_HEADWORD_CHARS if joiner == "" else MAX_HEADWORD_WORDS
        glosses: list[str] = []
        covered = total = start = 0
        while start < len(units):
            for length in range(min(longest, len(units) - start), 0, -1):
                piece = joiner.join(units[start : start + length])
                if piece in function_words:
                    break
                single = bool(joiner) and length == 1
                gloss = self._single(piece, order, compounds, own) if single else self._lookup(piece, order)
                if gloss:
                    glosses.append(gloss)
                    covered, total = covered + length, total + length
                    break
            else:
                total += 1
            start += length
        return Reading(" ".join(glosses), covered / total) if glosses else None

    def _single(
        self, word: str, order: tuple[str, ...], compounds: tuple[str, ...], own: tuple[str, ...]
    ) -> str | None:
        """One word's gloss: in the text's own language (headword, singular, verb form), then any language's
        headword, any singular or compound, then any language's verb form."""
        in_own = (self._gloss(word, own) or self._form(word, own)) if own else None
        return in_own or self._lookup(word, order) or self._word(word, order, compounds) or self._form(word, order)

    def _form(self, word: str, order: tuple[str, ...]) -> str | None:
        return next((gloss for lang in order if (gloss := self.forms(lang).get(word))), None)

    def _word(self, word: str, order: tuple[str, ...], compounds: tuple[str, ...]) -> str | None:
        """The gloss of a word that is no headword itself: without a plural ending, or as a compound."""
        split = (self._compound(word, lang) for lang in compounds)
        return self._singular(word, order) or next((gloss for gloss in split if gloss), None)

    def _compound(self, word: str, lang: str) -> str | None:
        """The glosses of a closed compound's modifier and head, both headwords of `lang`, the longest modifier
        first ("spielzeuggitarre" -> "toy guitar": modifier then head, as English says them)."""
        for split in range(len(word) - MIN_COMPOUND_PART, MIN_COMPOUND_PART - 1, -1):
            modifier, head = word[:split], word[split:]
            head_gloss = self._gloss(head, (lang,))
            if not head_gloss:
                continue
            for link in LINKING_ELEMENTS:
                stem = modifier[: len(modifier) - len(link)]
                if (
                    modifier.endswith(link)
                    and len(stem) >= MIN_COMPOUND_PART
                    and (gloss := self._lookup(stem, (lang,)))
                ):
                    return f"{gloss} {head_gloss}"
        return None

    def _gloss(self, word: str, order: tuple[str, ...]) -> str | None:
        """The gloss of `word` as a headword, else without a plural ending."""
        return self._lookup(word, order) or self._singular(word, order)

    def _singular(self, word: str, order: tuple[str, ...]) -> str | None:
        """The gloss of `word` without a plural ending, when one has a gloss."""
        for ending in PLURAL_ENDINGS:
            stem = word[: -len(ending)]
            if word.endswith(ending) and len(stem) >= 3 and (gloss := self._lookup(stem, order)):
                return gloss
        return None


@lru_cache(maxsize=8)
def shared_glossary(model_dir: Path) -> Glossary | None:
    """`Glossary.load(model_dir)`, once per folder: the tower and language detection read the same tables."""
    return Glossary.load(model_dir)


def latin_language(words: Sequence[str], english: frozenset[str]) -> str | None:
    """The first Latin-script language (`LATIN_ORDER`) whose headwords outnumber, among `words`, those English
    alone knows: "perro negro" is Spanish, though "negro" is also an English word ("negro" is a headword of
    both, "perro" of Spanish only). None when no language does (a name, a typo, an English rarity)."""
    from retrieval.encoders.multilingual import MODEL_DIR  # it imports this module

    glossary = shared_glossary(MODEL_DIR)
    if glossary is None:
        return None
    for lang in (code for code in LATIN_ORDER if code in glossary.languages):
        known = [(word in english, glossary.knows(word, lang)) for word in words]
        foreign = sum(ours and not theirs for theirs, ours in known)
        english_only = sum(theirs and not ours for theirs, ours in known)
        if foreign > english_only:
            return lang
    return None
