"""The transcriber on real weights: spans, languages, non-speech, model checks, normalisation."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from retrieval.errors import EncoderNotFoundError
from retrieval.media.audio import audio_blocks, load_audio
from retrieval.media.scan import FileFacts
from retrieval.speech import models
from retrieval.speech.normalize import search_text
from retrieval.speech.source import speech_source
from retrieval.speech.transcriber import SAMPLE_RATE, SpeechOptions, transcribe, transcriber
from tests.fixtures.speech import speak

TINY = SpeechOptions(model="tiny.en", language="en")


def test_span_of_speech_after_silence(tmp_path: Path) -> None:
    path = speak("The quick brown fox jumps over the lazy dog.", tmp_path / "fox.wav", pad_before_s=4.0)
    speech_s = len(load_audio(path, SAMPLE_RATE)) / SAMPLE_RATE - 4.0 - 0.5
    segments = transcribe(load_audio(path, SAMPLE_RATE), TINY)
    assert "fox" in " ".join(s.text.lower() for s in segments)
    assert abs(segments[0].start_s - 4.0) < 0.6
    assert abs(segments[-1].end_s - (4.0 + speech_s)) < 0.8


def test_speech_across_a_block_boundary_is_kept_whole(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Given whole or read from the file block by block (as indexing a long file does), the same segments."""
    from retrieval.speech import transcriber as module

    monkeypatch.setattr(module, "BLOCK_S", 5.0)  # the sentence starts at 4 s and runs into the next block
    path = speak("The quick brown fox jumps over the lazy dog.", tmp_path / "fox.wav", pad_before_s=4.0)
    segments = transcribe(load_audio(path, SAMPLE_RATE), TINY)
    words = " ".join(s.text.lower() for s in segments)
    assert "quick" in words and "lazy dog" in words
    assert abs(segments[0].start_s - 4.0) < 0.6
    assert list(transcriber(TINY).stream(audio_blocks(path, SAMPLE_RATE))) == segments


def test_a_long_file_is_read_for_its_transcript_block_by_block(tmp_path: Path) -> None:
    t = np.arange(40 * SAMPLE_RATE) / SAMPLE_RATE
    sf.write(tmp_path / "long.wav", (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32), SAMPLE_RATE)
    sf.write(tmp_path / "short.wav", (0.3 * np.sin(2 * np.pi * 440 * t[: 2 * SAMPLE_RATE])).astype(np.float32), 8000)
    short = speech_source(FileFacts(str(tmp_path / "short.wav"), "audio", 1, 0.0))
    assert isinstance(short, np.ndarray) and len(short) == 4 * SAMPLE_RATE  # 2 s at 8 kHz, read at 16 kHz
    blocks = speech_source(FileFacts(str(tmp_path / "long.wav"), "audio", 1, 0.0))
    assert not isinstance(blocks, np.ndarray)
    assert [len(b) for b in blocks] == [10 * SAMPLE_RATE] * 4


def test_non_speech_gives_no_transcript() -> None:
    t = np.arange(5 * SAMPLE_RATE) / SAMPLE_RATE
    rng = np.random.default_rng(0)
    sounds = [
        0.3 * np.sin(2 * np.pi * 440 * t),  # tone
        0.3 * np.sin(2 * np.pi * (200 + 300 * t) * t),  # sweep
        0.1 * rng.standard_normal(len(t)),  # white noise
        1e-4 * rng.standard_normal(len(t)),  # near silence
    ]
    heard = transcriber(TINY).transcribe_many([s.astype(np.float32) for s in sounds])
    assert heard == [[], [], [], []]


@pytest.mark.slow
def test_multilingual_model_transcribes_spanish_and_german(tmp_path: Path) -> None:
    spanish = speak("Buenos días. El tren sale de la estación a las ocho.", tmp_path / "es.wav", voice="es")
    german = speak("Guten Morgen. Der Zug fährt um acht Uhr ab.", tmp_path / "de.wav", voice="de")
    for path, language, word in ((spanish, "es", "tren"), (german, "de", "morgen")):
        segments = transcribe(load_audio(path, SAMPLE_RATE), SpeechOptions(model="base"))
        assert {s.language for s in segments} == {language}
        assert word in " ".join(s.text.lower() for s in segments)


def test_a_damaged_weight_file_is_refused_in_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    bundle = models.BUNDLED["tiny.en"]
    wrong = models.BundledModel(bundle.parts, bundle.files, {**bundle.sha256, "config.json": "0" * 64})
    monkeypatch.setitem(models.BUNDLED, "tiny.en", wrong)
    with pytest.raises(EncoderNotFoundError) as err:
        models.resolve_model("tiny.en")
    assert "config.json has sha256 14b1b421a903" in str(err.value) and "\n" not in str(err.value)


def test_unknown_model_name_and_folder(tmp_path: Path) -> None:
    with pytest.raises(EncoderNotFoundError, match="not found"):
        models.resolve_model("no-such-model")
    with pytest.raises(EncoderNotFoundError, match=r"has no model\.bin"):
        models.resolve_model(str(tmp_path))


def test_search_text_spells_numbers_and_keeps_words() -> None:
    assert search_text("The meeting starts at 7.") == "the meeting starts at seven"
    assert search_text("Room 42, floor 1,000!") == "room forty two floor one thousand"
    assert search_text("Don't press 0") == "don't press zero"
    assert (
        search_text("The 1st, 2nd, 3rd, 12th, 21st and 40th.")
        == "the first second third twelfth twenty first and fortieth"
    )
    assert search_text("El tren sale a las 8.", "es") == "el tren sale a las 8"
