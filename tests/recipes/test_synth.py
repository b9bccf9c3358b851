"""The synthetic-speech plan of the audio recipe (no espeak-ng or flite needed): voices and commands."""

from __future__ import annotations

import numpy as np

from recipes.audio.synth import FLITE_PITCH_HZ, FLITE_STRETCH, FLITE_VOICES, espeak_utterances, flite_utterances


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
