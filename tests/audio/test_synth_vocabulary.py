"""The synthetic-speech vocabulary (no espeak-ng needed): number words, ordinals, frequent words."""

from __future__ import annotations

from retrieval.audio.synth import frequent_words, generic_vocabulary, number_words, ordinal_words


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
