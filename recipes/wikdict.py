"""German -> English glosses from WikDict's Wiktionary dictionaries, joined through third languages.

FreeDict's German-English dictionary is Ding (GPL), and WikDict has no German-English pair; but WikDict pairs
German with Finnish, Polish, Greek, Bulgarian and Indonesian, and each of those with English (CC BY-SA 3.0,
from Wiktionary via DBnary; Debian packages them as dictd files):

    apt-get install dict-freedict-{deu-fin,fin-deu,fin-eng,eng-fin,deu-pol,pol-deu,pol-eng,deu-ell,ell-eng,\
deu-bul,eng-bul,deu-ind,eng-ind}

A German word's English candidates are the English translations of its translations. Each candidate is
ranked by how many of the five languages lead to it (one language alone often takes a side sense: Finnish
"kuningatar" is a queen and also a female cat), then by whether the English corpus holds it, then by how
early its translations list it.
"""

from __future__ import annotations

import gzip
import html
import re
from collections import defaultdict
from collections.abc import Iterator
from functools import cache
from pathlib import Path

DICTD = Path("/usr/share/dictd")
PIVOTS = ("fin", "pol", "ell", "bul", "ind")
INSTALL = (
    "apt-get install dict-freedict-{deu-fin,fin-deu,fin-eng,eng-fin,deu-pol,pol-deu,pol-eng,deu-ell,ell-eng,"
    "deu-bul,eng-bul,deu-ind,eng-ind}"
)
BASE64 = {c: i for i, c in enumerate("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")}
HEADWORD_END = re.compile(r" /| <")
PART_OF_SPEECH = re.compile(r" <([^,>]*)")
NUMBERED = re.compile(r"^\d+\. ")
SENSE_NUMBER = re.compile(r"\s*\d+\.\s*")


def _number(text: str) -> int:
    value = 0
    for char in text:
        value = value * 64 + BASE64[char]
    return value


@cache
def dictd_entries(base: Path) -> tuple[tuple[str, str, list[str]], ...]:
    """(headword, part of speech, translations in dictionary order) of the dictd dictionary at `base` (.index,
    .dict.dz), read once. An entry is a headword line (pronunciation, part of speech), translation lines,
    definitions."""
    return tuple(_entries(base))


def _entries(base: Path) -> Iterator[tuple[str, str, list[str]]]:
    data = gzip.decompress(base.with_suffix(".dict.dz").read_bytes())
    seen: set[tuple[str, str]] = set()
    for line in base.with_suffix(".index").read_text(encoding="utf-8").splitlines():
        offset, length = line.split("\t")[1:3]
        if (offset, length) in seen:
            continue
        seen.add((offset, length))
        start = _number(offset)
        lines = html.unescape(data[start : start + _number(length)].decode("utf-8")).strip("\n").split("\n")
        headword = HEADWORD_END.split(lines[0])[0].strip()
        part = match.group(1) if (match := PART_OF_SPEECH.search(lines[0])) else ""
        if not headword or headword.startswith("00-database"):
            continue
        translated = [text for text in lines[1:] if NUMBERED.match(text)] or lines[1:2]
        words = [w.strip() for text in translated for part in SENSE_NUMBER.split(text) for w in part.split(",")]
        if words := [w for w in words if w]:
            yield headword, part, words


def translations(source: str, target: str, folder: Path = DICTD) -> dict[str, dict[str, int]]:
    """{source word: {target word: rank}}, case-folded, from `freedict-{source}-{target}` read forward and
    `freedict-{target}-{source}` read backward, whichever are installed; a rank is the place of the word in
    its entry's translations (the best of both sides)."""
    links: dict[str, dict[str, int]] = defaultdict(dict)

    def link(word: str, translation: str, rank: int) -> None:
        known = links[word.casefold()]
        known[translation.casefold()] = min(rank, known.get(translation.casefold(), rank))

    forward, backward = folder / f"freedict-{source}-{target}", folder / f"freedict-{target}-{source}"
    if forward.with_suffix(".index").is_file():
        for headword, _, words in dictd_entries(forward):
            for rank, word in enumerate(words):
                link(headword, word, rank)
    if backward.with_suffix(".index").is_file():
        for headword, _, words in dictd_entries(backward):
            for rank, word in enumerate(words):
                link(word, headword, rank)
    return links


def german_glossary(
    vocabulary: frozenset[str], folder: Path = DICTD, pivots: tuple[str, ...] = PIVOTS
) -> dict[str, str]:
    """{German word or inflection: English word}, joined through `pivots` and ranked as the module says. The
    inflections of `inflected` come in two rounds, regular forms first, so that a guessed form never takes a
    real one's place ("sägt" is sägen's, not an umlauted "sagen"); either replaces a headword only one language
    glosses when the word it inflects has two or more ("kinder": children, not Polish's "childish")."""
    missing = [pair for p in pivots for pair in (f"deu-{p}", f"{p}-eng") if not _installed(folder, pair)]
    if missing:
        raise SystemExit(f"recipes.glossary needs the WikDict dictionaries ({', '.join(missing)}): {INSTALL}")
    votes: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
    for pivot in pivots:
        german, english = translations("deu", pivot, folder), translations(pivot, "eng", folder)
        for word, middles in german.items():
            best: dict[str, int] = {}
            for middle, first in middles.items():
                for gloss, second in english.get(middle, {}).items():
                    gloss = _english(gloss)
                    best[gloss] = min(first + second, best.get(gloss, first + second))
            for gloss, rank in best.items():
                votes[word][gloss].append(rank)
    ranked = {
        word: min((-len(ranks), gloss not in vocabulary, min(ranks), gloss) for gloss, ranks in glosses.items())
        for word, glosses in votes.items()
    }
    table = {word: best[-1] for word, best in ranked.items()}
    support = {word: -best[0] for word, best in ranked.items()}
    parts = german_parts_of_speech(folder, pivots)
    for guessed in (False, True):
        for word in (word for word in parts if word in table):
            for form in (form for part in sorted(parts[word]) for form in inflected(word, part, guessed)):
                if form not in table or (support.get(form) == 1 and support[word] >= 2):
                    table[form] = table[word]
                    support[form] = 0  # a form, never replaced again
    return table


def _installed(folder: Path, pair: str) -> bool:
    """Whether `freedict-{pair}` or its reverse is in `folder`."""
    source, target = pair.split("-")
    return any((folder / f"freedict-{p}.index").is_file() for p in (pair, f"{target}-{source}"))


def german_parts_of_speech(folder: Path = DICTD, pivots: tuple[str, ...] = PIVOTS) -> dict[str, set[str]]:
    """{German headword (case-folded): its parts of speech (n, v, adj, ...)} from the German-first dictionaries."""
    parts: dict[str, set[str]] = defaultdict(set)
    for pivot in pivots:
        base = folder / f"freedict-deu-{pivot}"
        if base.with_suffix(".index").is_file():
            for headword, part, _ in dictd_entries(base):
                parts[headword.casefold()].add(part)
    return parts


def inflected(word: str, part: str, guessed: bool = False) -> list[str]:
    """Inflections of a German word a caption uses, which the dictionaries list only as headwords. Regular
    (`guessed` False): adjective endings (schwarzer), the present of verbs (spielt, arbeitet), the -er plural
    (Kinder; made for every noun, and harmless where a noun has another: "hunder" is never typed). Guessed:
    the past participle (gespielt) and the umlauted present strong verbs have (fährt, läuft, hält), made for
    every verb. Plurals in -e, -en, -n and -s the glossary strips when it reads."""
    if part == "v" and word.endswith("en") and len(word) > 4:
        stem = word[:-2]
        joint = "e" if stem.endswith(("t", "d")) else ""  # arbeit-e-t
        if guessed:
            umlauted = umlauted_stem(stem)
            strong = [umlauted if umlauted.endswith("t") else umlauted + "t", umlauted + "st"]
            return ["ge" + stem + joint + "t", *(strong if umlauted != stem else [])]
        return [stem + joint + "t", stem + joint + "st", stem + "e", stem + "end"]
    if guessed:
        return []
    if part == "adj":
        return [word + ending for ending in ("e", "en", "er", "es", "em")]
    if part == "v" and word.endswith(("eln", "ern")):
        stem = word[:-1]
        return [stem + "t", stem + "st", stem + "nd"]
    if part == "n":
        return [word + "er", word + "ern"]
    return []


def umlauted_stem(stem: str) -> str:
    """A verb stem with the umlaut strong verbs take in the present (fahr -> fähr, lauf -> läuf, halt -> hält):
    on its last a, o, u or au."""
    at = max(stem.rfind(vowel) for vowel in "aou")
    if at < 0:
        return stem
    if stem[at] == "u" and stem[at - 1 : at] == "a":
        return stem[: at - 1] + "äu" + stem[at + 1 :]
    return stem[:at] + {"a": "ä", "o": "ö", "u": "ü"}[stem[at]] + stem[at + 1 :]


def _english(gloss: str) -> str:
    """A gloss as a caption says it: an infinitive without "to"."""
    return gloss[3:] if gloss.startswith("to ") else gloss
