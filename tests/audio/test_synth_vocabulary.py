"""The synthetic-speech plan (no espeak-ng or flite needed): vocabulary, voices and commands."""

from __future__ import annotations

import numpy as np

from recipes.audio.synth import (
    FLITE_PITCH_HZ,
    FLITE_STRETCH,
    FLITE_VOICES,
    espeak_utterances,
    flite_utterances,
    frequent_words,
    generic_vocabulary,
    number_words,
    ordinal_words,
)


def test_number_and_ordinal_words():
    assert [number_words(n) for n in (0, 13, 40, 42, 100, 115)] == [
        "zero", "thirteen", "forty", "forty two", "one hundred", "one hundred fifteen",
    ]
    assert [ordinal_words(n) for n in (1, 12, 20, 21, 90, 99)] == [
        "first", "twelfth", "twentieth", "twenty first", "ninetieth", "ninety ninth",
    ]


def test_generic_vocabulary_has_no_duplicates_and_covers_letters_and_months():
    words = generic_vocabulary()
    assert len(words) == len(set(words))
    assert {"a", "z", "seventeen", "thirty first", "december", "nine hundred"} <= set(words)


def test_frequent_words_counts_whole_words_only():
    texts = ["A dog runs .", "The dog jumps", "dog and cat", "a cat", "x"]
    assert frequent_words(texts, min_count=2) == ["dog", "cat"]


def test_espeak_voices_are_drawn_from_the_seed() -> None:
    first = espeak_utterances(["seven", "eight"], 3, np.random.default_rng(5))
    again = espeak_utterances(["seven", "eight"], 3, np.random.default_rng(5))
    assert first == again and [u.text for u in first] == ["seven"] * 3 + ["eight"] * 3
    for utterance in first:
        assert utterance.command[0] == "espeak-ng" and utterance.command[-1] == utterance.text
        assert utterance.command.count("{out}") == 1
    assert len({u.command for u in first}) == 6


def test_flite_grid_covers_every_voice_rate_and_pitch() -> None:
    utterances = flite_utterances(["six"])
    assert len(utterances) == len(FLITE_VOICES) * len(FLITE_STRETCH) * len(FLITE_PITCH_HZ)
    assert len({u.command for u in utterances}) == len(utterances)
    assert {u.command[2] for u in utterances} == set(FLITE_VOICES)
    assert all(u.command[0] == "flite" and u.command[-2:] == ("-t", "six") for u in utterances)
