"""The verb forms the glossary recipe adds for Spanish, Portuguese, Italian and French, and the English -ing
form it ranks verb glosses by."""

from __future__ import annotations

from pathlib import Path

import pytest

from recipes.glossary import guessed_forms
from recipes.verb_forms import english_gerund, verb_forms
from retrieval.encoders.glossary import Glossary, write_glossary


@pytest.mark.parametrize(
    ("lang", "infinitive", "some"),
    [
        ("es", "correr", {"corre", "corren", "corriendo", "corrido"}),
        ("es", "saltar", {"salta", "saltan", "saltando", "saltado"}),
        ("es", "sentarse", {"sentado", "sentada", "sentando"}),
        ("pt", "pular", {"pula", "pulam", "pulando"}),
        ("it", "sedersi", {"sede", "seduto", "sedendo"}),
        ("it", "giocare", {"gioca", "giocano", "giocando"}),
        ("fr", "sauter", {"saute", "sautent", "sautant", "sauté"}),
        ("fr", "descendre", {"descend", "descendent", "descendu"}),
    ],
)
def test_regular_forms_come_from_the_infinitive(lang: str, infinitive: str, some: set[str]) -> None:
    forms = verb_forms(lang, infinitive)
    assert some <= set(forms) and infinitive not in forms


@pytest.mark.parametrize(("lang", "word"), [("es", "ir"), ("es", "casa"), ("de", "laufen"), ("fr", "se lever")])
def test_no_forms_without_an_infinitive_ending_or_rules(lang: str, word: str) -> None:
    assert verb_forms(lang, word) == []


@pytest.mark.parametrize(
    ("verb", "gerund"),
    [("run", "running"), ("ride", "riding"), ("lie", "lying"), ("see", "seeing"), ("visit", "visiting")]
    + [("play", "playing"), ("look up", "looking up"), ("swim", "swimming"), ("hold", "holding")],
)
def test_english_gerund(verb: str, gerund: str) -> None:
    assert english_gerund(verb) == gerund


def test_a_guessed_form_is_dropped_where_its_language_has_the_word_or_its_singular(tmp_path: Path) -> None:
    write_glossary(tmp_path, {"es": {"hundir": "sink", "Casa": "house", "helado": "ice cream"}, "de": {"salta": "x"}})
    forms = {"casa": "x", "helados": "chill", "salta": "jump", "saltan": "jump"}
    assert guessed_forms(forms, Glossary(tmp_path), "es") == {"salta": "jump", "saltan": "jump"}
