"""recipes.wikdict: German glosses joined through third languages' dictd dictionaries (here small ones)."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from recipes.wikdict import dictd_entries, german_glossary, inflected, umlauted_stem


def _number(value: int) -> str:
    """dictd's base64 number."""
    digits = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    out = ""
    while True:
        value, digit = divmod(value, 64)
        out = digits[digit] + out
        if not value:
            return out


def write_dictd(folder: Path, pair: str, entries: list[tuple[str, str]]) -> None:
    """A dictd dictionary `freedict-{pair}` of (headword line, translation line) entries, as WikDict's are."""
    data, index = b"", []
    for head, translations in [("00-database-info", "about"), *entries]:
        block = f"{head}\n{translations}\nsome definition\n\n".encode()
        index.append(f"{head.split(' /')[0].lower()}\t{_number(len(data))}\t{_number(len(block))}\n")
        data += block
    (folder / f"freedict-{pair}.index").write_text("".join(index), encoding="utf-8")
    (folder / f"freedict-{pair}.dict.dz").write_bytes(gzip.compress(data))


def test_entries_give_headword_part_of_speech_and_translations(tmp_path: Path) -> None:
    write_dictd(tmp_path, "deu-fin", [("Hund /hʊnt/ <n, masc>", "koira, rakki"), ("schnell <adj>", "1. nopea 2.")])
    assert list(dictd_entries(tmp_path / "freedict-deu-fin")) == [
        ("Hund", "n", ["koira", "rakki"]),
        ("schnell", "adj", ["nopea"]),
    ]


def test_glosses_are_chosen_by_how_many_languages_agree(tmp_path: Path) -> None:
    write_dictd(tmp_path, "deu-fin", [("Katze <n, fem>", "kuningatar, kissa"), ("spielen <v>", "leikkiä")])
    write_dictd(tmp_path, "fin-eng", [("kissa <n>", "cat"), ("kuningatar <n>", "queen"), ("leikkiä <v>", "to play")])
    write_dictd(tmp_path, "deu-pol", [("Katze <n, fem>", "kot")])
    write_dictd(tmp_path, "eng-pol", [("cat <n>", "kot")])  # read backwards: Polish -> English
    table = german_glossary(frozenset({"cat", "queen", "play"}), tmp_path, ("fin", "pol"))
    assert table["katze"] == "cat"  # two languages against one ("queen", though Finnish lists it first)
    assert table["spielen"] == "play" and table["spielt"] == "play" and table["gespielt"] == "play"


def test_missing_dictionaries_name_the_install_line(tmp_path: Path) -> None:
    with pytest.raises(SystemExit, match="apt-get install dict-freedict"):
        german_glossary(frozenset(), tmp_path, ("fin",))


@pytest.mark.parametrize(
    ("stem", "umlauted"), [("fahr", "fähr"), ("lauf", "läuf"), ("halt", "hält"), ("stoß", "stöß"), ("spiel", "spiel")]
)
def test_strong_verbs_take_an_umlaut(stem: str, umlauted: str) -> None:
    assert umlauted_stem(stem) == umlauted


def test_inflections_follow_the_part_of_speech() -> None:
    assert inflected("schwarz", "adj") == ["schwarze", "schwarzen", "schwarzer", "schwarzes", "schwarzem"]
    assert {"fahrt", "fahrst"} <= set(inflected("fahren", "v")) and {"fährt", "fährst"} <= set(
        inflected("fahren", "v", guessed=True)
    )
    assert inflected("halten", "v", guessed=True)[-2:] == ["hält", "hältst"]
    assert inflected("arbeiten", "v")[:2] == ["arbeitet", "arbeitest"] and "gearbeitet" in inflected(
        "arbeiten", "v", guessed=True
    )
    assert inflected("und", "conjunction") == []


def test_a_guessed_form_never_takes_a_regular_ones_place(tmp_path: Path) -> None:
    write_dictd(tmp_path, "deu-fin", [("sagen <v>", "sanoa"), ("sägen <v>", "sahata")])
    write_dictd(tmp_path, "fin-eng", [("sanoa <v>", "to say"), ("sahata <v>", "to saw")])
    table = german_glossary(frozenset({"say", "saw"}), tmp_path, ("fin",))
    assert table["sägt"] == "saw" and table["sagt"] == "say"  # not sagen's umlaut guess


def test_a_form_of_a_well_attested_word_beats_a_headword_one_language_glosses(tmp_path: Path) -> None:
    write_dictd(tmp_path, "deu-fin", [("Kind <n, neut>", "lapsi")])
    write_dictd(tmp_path, "fin-eng", [("lapsi <n>", "child")])
    write_dictd(tmp_path, "deu-pol", [("Kind <n, neut>", "dziecko")])
    write_dictd(tmp_path, "pol-deu", [("dziecięcy <adj>", "Kinder")])  # a Polish adjective glossed by a prefix
    write_dictd(tmp_path, "pol-eng", [("dziecko <n>", "child"), ("dziecięcy <adj>", "childish")])
    assert german_glossary(frozenset({"child"}), tmp_path, ("fin", "pol"))["kinder"] == "child"
