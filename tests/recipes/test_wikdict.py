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
    write_dictd(tmp_path, "deu-fin", [("Katze <n, fem>", "kissa, kuningatar"), ("spielen <v>", "leikkiä")])
    write_dictd(tmp_path, "fin-eng", [("kissa <n>", "cat"), ("kuningatar <n>", "queen"), ("leikkiä <v>", "to play")])
    write_dictd(tmp_path, "deu-pol", [("Katze <n, fem>", "kot")])
    write_dictd(tmp_path, "eng-pol", [("cat <n>", "kot")])  # read backwards: Polish -> English
    table = german_glossary(frozenset({"cat", "play"}), tmp_path, ("fin", "pol"))
    assert table["katze"] == "cat"  # two languages against one ("queen")
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
    assert {"fährt", "fährst", "fahrt"} <= set(inflected("fahren", "v"))
    assert inflected("halten", "v")[-2:] == ["hält", "hältst"]
    assert inflected("und", "conjunction") == []
