"""Training captions of the audio recipe: spoken digits and prompts."""

from __future__ import annotations

DIGIT_WORDS: list[str] = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]

DIGIT_CAPTIONS: list[str] = [
    "{word}",
    "{word}",
    "the spoken number {word}",
    "someone saying {word}",
    "a man saying {word}",
    "a voice saying {word}",
    "the number {word}",
    "the digit {digit}",
    "{digit}",
    "the word {word}",
    "the sound of someone saying {word}",
    "a recording of the word {word}",
]
"""Training captions for a spoken digit; one is sampled per step."""

SPEECH_CAPTIONS: list[str] = ["{}", "{}", "{}", "someone saying {}", "a voice saying {}", "the word {}"]
"""Training captions for a spoken prompt with transcript `{}`."""


def digit_captions(digit: int) -> list[str]:
    """All training captions for spoken digit `digit`."""
    return [c.format(word=DIGIT_WORDS[digit], digit=digit) for c in DIGIT_CAPTIONS]
