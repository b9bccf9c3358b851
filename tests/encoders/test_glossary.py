"""The glossary: short queries in other languages read through CC-CEDICT, JMdict, WordNet and CLDR names."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import numpy as np
import pytest

from retrieval.encoders import multilingual
from retrieval.encoders.glossary import FORMS_DIR, GLOSSARY_DIR, LONG_WEIGHT, SHORT_WEIGHT, Glossary, write_glossary
from retrieval.encoders.minilm import encode_minilm


@pytest.fixture(scope="module")
def glossary() -> Glossary:
    loaded = Glossary.load(multilingual.MODEL_DIR)
    assert loaded is not None
    return loaded


@pytest.mark.parametrize(
    ("text", "english"),
    [
        ("猫", "cat"),
        ("黑猫", "black cat"),
        ("一只猫", "cat"),
        ("黒い猫", "black cat"),
        ("イルカ", "dolphin"),
        ("perro", "dog"),
        ("un perro", "dog"),
        ("perros", "dog"),
        ("Hunde", "dog"),
        ("Regenschirm", "umbrella"),
        ("Katze", "cat"),
        ("Flugzeug", "aircraft"),
        ("Spielzeuggitarre", "toy guitar"),
        ("éléphants", "elephant"),
        ("고양이", "cat"),
    ],
)
def test_short_queries_read_as_english(glossary: Glossary, text: str, english: str) -> None:
    reading = glossary.read(text)
    assert reading is not None and (reading.english, reading.coverage) == (english, 1.0)
    assert reading.weight(short=True) == SHORT_WEIGHT


def test_a_sentence_reads_word_by_word_and_counts_what_it_covers(glossary: Glossary) -> None:
    reading = glossary.read("un perro xqzvw en la playa")
    assert reading is not None and reading.english.split()[0] == "dog" and len(reading.english.split()) == 2
    assert reading.coverage == pytest.approx(2 / 3)
    assert reading.weight(short=False) == LONG_WEIGHT
    mostly_unknown = glossary.read("xqzvw perro qwxzv")
    assert mostly_unknown is not None and mostly_unknown.weight(short=True) == 0.0


@pytest.mark.parametrize(
    ("text", "english"),
    [
        ("ein schwarzer Hund", "black dog"),  # an adjective's ending, from the recipe's inflections
        ("der Mann fährt", "man drive"),  # a strong verb's umlaut
        ("Spielzeuggitarre", "toy guitar"),  # a compound: modifier, then head
        ("Schiffsanker", "ship anchor"),  # joined by -s-
        ("Fahrradhelmen", "bicycle helmet"),  # its head in the plural
    ],
)
def test_german_inflections_and_compounds_read_as_english(glossary: Glossary, text: str, english: str) -> None:
    reading = glossary.read(text, "de")
    assert reading is not None and (reading.english, reading.coverage) == (english, 1.0)


def test_compounds_are_split_only_into_headwords_of_a_language_that_writes_them(glossary: Glossary) -> None:
    assert glossary.read("gatonegro") is None  # two Spanish headwords: Spanish writes no closed compounds
    assert glossary.read("spielzeugxqzvw") is None
    assert glossary.read("spielzeughund", "es") is None  # Spanish text is never cut into German headwords
    reading = glossary.read("spielzeughund", "de")
    assert reading is not None and reading.english == "toy dog"
    reading = glossary.read("le chien va rapporter la balle", "fr")
    assert reading is not None and "port" not in reading.english.split()


@pytest.mark.parametrize("text", ["xqzvw", "!!!", ""])
def test_text_without_any_gloss_reads_as_none(glossary: Glossary, text: str) -> None:
    assert glossary.read(text) is None


def test_a_glossed_query_lands_on_its_english_words() -> None:
    """Words the multilingual encoder alone places far from their English (cosine 0.2-0.6 without the glossary)."""
    words, english = ["蝎子", "ハサミ", "ヒマワリ", "hérisson"], ["scorpion", "scissors", "sunflower", "hedgehog"]
    tower = multilingual.MultilingualTower()
    glossed = np.sum(tower.encode(words) * encode_minilm(english), axis=1)
    tower.glossary = None
    unglossed = np.sum(tower.encode(words) * encode_minilm(english), axis=1)
    assert (glossed > 0.9).all() and (unglossed < 0.7).all(), (glossed, unglossed)


def test_a_folder_without_a_glossary_warns_and_still_answers(tmp_path: Path, caplog) -> None:
    folder = tmp_path / "multilingual"
    shutil.copytree(multilingual.MODEL_DIR, folder, ignore=shutil.ignore_patterns(GLOSSARY_DIR))
    tower = multilingual.MultilingualTower(folder)
    with caplog.at_level(logging.WARNING):
        vectors = tower.encode(["猫"])
    assert tower.glossary is None and "no glossary" in caplog.text
    assert vectors.shape == (1, 384) and np.isfinite(vectors).all()


def test_written_tables_are_reproducible_and_keyed_like_queries(tmp_path: Path) -> None:
    tables = {"zh": {"黑猫": "black cat", "猫": "cat"}, "es": {"Perro ": "dog", "gato  negro": "black cat"}}
    write_glossary(tmp_path / "a", tables)
    write_glossary(tmp_path / "b", tables)
    for lang in tables:
        assert (tmp_path / "a" / f"{lang}.tsv.gz").read_bytes() == (tmp_path / "b" / f"{lang}.tsv.gz").read_bytes()
    glossary = Glossary(tmp_path / "a")
    assert glossary.languages == ("es", "zh")
    readings = [glossary.read(text) for text in ("PERRO", "Gato negro", "黑猫。")]
    assert [r.english if r else None for r in readings] == ["dog", "black cat", "black cat"]


@pytest.mark.parametrize("damage", ["not gzip", "broken deflate stream"])
def test_an_unreadable_table_warns_and_reads_as_empty(tmp_path: Path, caplog, damage: str) -> None:
    import gzip

    if damage == "not gzip":
        (tmp_path / "es.tsv.gz").write_bytes(b"not gzip")
    else:
        packed = bytearray(gzip.compress("".join(f"w{n}\tword {n}\n" for n in range(5000)).encode()))
        packed[40:60] = bytes(20)  # zlib.error, not an OSError
        (tmp_path / "es.tsv.gz").write_bytes(bytes(packed))
    with caplog.at_level(logging.WARNING):
        assert Glossary(tmp_path).read("perro") is None
    assert "cannot read the glossary" in caplog.text


def test_a_given_language_is_read_first(glossary: Glossary) -> None:
    """`--lang fr "chat"` is a cat; undetected, "chat" is looked up in Spanish first (a chat room)."""
    french = glossary.read("chat", "fr")
    assert french is not None and french.english == "cat"
    tower = multilingual.MultilingualTower()
    cat = encode_minilm(["cat"])[0]
    assert float(tower.encode(["chat"], ["fr"])[0] @ cat) > float(tower.encode(["chat"])[0] @ cat) + 0.1


def test_tables_load_once_under_concurrent_queries(tmp_path: Path) -> None:
    """Threads of a server asking for the same table at once all get it whole (none sees it half-loaded)."""
    from concurrent.futures import ThreadPoolExecutor

    write_glossary(tmp_path, {"es": {f"palabra{n}": f"word {n}" for n in range(50_000)} | {"perro": "dog"}})
    glossary = Glossary(tmp_path)
    with ThreadPoolExecutor(8) as pool:
        readings = list(pool.map(lambda _: glossary.read("perro", "es"), range(32)))
    assert all(r is not None and r.english == "dog" for r in readings)


def test_control_characters_separate_like_spaces(glossary: Glossary) -> None:
    reading = glossary.read("黑\n猫\u200b")
    assert reading is not None and (reading.english, reading.coverage) == ("black cat", 1.0)


@pytest.mark.parametrize(
    ("text", "lang", "english"),
    [
        ("perro corriendo en la playa", "es", "dog run beach"),
        ("un perro salta al lago", "es", "dog jump lake"),
        ("des enfants jouent dans la neige", "fr", "child play snow"),
        ("um cachorro pula na piscina", "pt", "dog jump pool"),
    ],
)
def test_verbs_read_in_their_forms(glossary: Glossary, text: str, lang: str, english: str) -> None:
    reading = glossary.read(text, lang)
    assert reading is not None and reading.english == english and reading.coverage == 1


def test_a_verb_form_made_by_rule_never_hides_a_real_word(tmp_path: Path) -> None:
    """Forms are read after every language's headwords and plurals, except in a text of the form's own language."""
    folder = tmp_path / GLOSSARY_DIR
    write_glossary(folder, {"de": {"hund": "dog", "laufen": "run"}, "es": {"perro": "dog"}})
    write_glossary(folder / FORMS_DIR, {"es": {"hunde": "sink", "corre": "run"}})
    glossary = Glossary(folder)
    assert glossary.languages == ("de", "es")
    for text, lang, english in [("Hunde", None, "dog"), ("Die Hunde laufen", "de", "dog run"), ("corre", None, "run")]:
        reading = glossary.read(text, lang)
        assert reading is not None and reading.english == english, text
    reading = glossary.read("el perro hunde", "es")
    assert reading is not None and reading.english == "dog sink"
