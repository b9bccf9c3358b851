"""The forms of a regular Spanish, Portuguese, Italian or French verb that photo captions use.

Dictionaries list verbs by their infinitive (correr, sauter), but a caption says "un perro corre", "corriendo",
"sentado", "ils sautent": the third person of the present, singular and plural, the gerund and the past
participle. These are made by rule from the infinitive's ending; irregular verbs get regular-looking forms that
are never typed, which is harmless because a form only ever fills a headword the glossary lacks.
"""

from __future__ import annotations

FORM_TABLE = """
es ar  a an ando ado ada ados adas
es er  e en iendo ido ida idos idas
es ir  e en iendo ido ida idos idas
pt ar  a am ando ado ada ados adas
pt er  e em endo ido ida idos idas
pt ir  e em indo ido ida idos idas
it are a ano ando ato ata ati ate
it ere e ono endo uto uta uti ute
it ire e ono endo ito ita iti ite
fr er  e ent ant é ée és ées
fr ir  it issent issant i ie is ies
fr re  - ent ant u ue us ues
"""
"""Language, infinitive ending, then the endings of its forms: 3rd person present singular and plural, gerund or
present participle, past participle ("-": none, descendre -> descend)."""


def _endings(table: str) -> dict[str, dict[str, list[str]]]:
    """{lang: {infinitive ending: form endings}} of a table laid out as FORM_TABLE is."""
    endings: dict[str, dict[str, list[str]]] = {}
    for lang, ending, *forms in (row.split() for row in table.strip().splitlines()):
        endings.setdefault(lang, {})[ending] = [form.strip("-") for form in forms]
    return endings


ENDINGS = _endings(FORM_TABLE)
REFLEXIVE = {"es": "se", "it": "si"}
"""Reflexive infinitives (sentarse, sedersi) take the forms of the verb without it."""


def verb_forms(lang: str, infinitive: str) -> list[str]:
    """The caption forms of `infinitive` (one lower-case word) in `lang`; none for a language without rules, a
    phrase, or a word without an infinitive ending."""
    endings = ENDINGS.get(lang)
    if endings is None or not infinitive.isalpha():
        return []
    word = infinitive
    suffix = REFLEXIVE.get(lang)
    if suffix and word.endswith(suffix):
        base = word[: -len(suffix)] + ("e" if lang == "it" else "")  # sedersi -> sedere
        word = base if any(base.endswith(ending) for ending in endings) else word
    for ending, forms in endings.items():
        stem = word[: -len(ending)]
        if word.endswith(ending) and len(stem) >= 2:
            return [stem + form for form in forms if stem + form != infinitive]
    return []


def english_gerund(verb: str) -> str:
    """The -ing form of an English verb or phrasal verb (run -> running, ride -> riding, lie -> lying, look up
    -> looking up): what a caption says of what is happening in a photo."""
    head, _, rest = verb.partition(" ")
    if head.endswith("ie"):
        head = head[:-2] + "y"
    elif head.endswith("e") and not head.endswith(("ee", "ye", "oe")) and len(head) > 2:
        head = head[:-1]
    elif _doubles(head):
        head += head[-1]
    return " ".join(filter(None, (head + "ing", rest)))


def _doubles(word: str) -> bool:
    """A one-syllable word ending in consonant, vowel, consonant doubles its consonant (run, sit, swim)."""
    vowels = "aeiou"
    syllables = sum(1 for i, c in enumerate(word) if c in vowels and (i == 0 or word[i - 1] not in vowels))
    return (
        syllables == 1
        and len(word) >= 3
        and word[-1] not in vowels + "wxy"
        and word[-2] in vowels
        and word[-3] not in vowels
    )
