"""Short clips packed into shared Whisper windows: each file hears the words it hears alone, at its own times."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from retrieval.media.audio import load_audio
from retrieval.speech.normalize import search_text
from retrieval.speech.packing import Piece, pack
from retrieval.speech.transcriber import SAMPLE_RATE, Segment, SpeechOptions, transcriber

PROMPTS = [  # real Asterisk prompts (8 kHz, one voice), ordinary words
    "goodbye.wav",
    "hello.wav",
    "extension.wav",
    "digits/mon-0.wav",
    "digits/mon-10.wav",
    "letters/ascii36.wav",
    "number.wav",
    "removed.wav",
]


def test_a_layout_gives_each_time_to_its_piece_and_clip() -> None:
    waves = [np.full(16_000, 0.1, np.float32), np.full(8_000, 0.2, np.float32)]
    layout = pack(waves, [Piece(0, 4_000, 12_000), Piece(1, 0, 8_000)])
    assert layout.windows == [(0, 32_000)] and layout.at == [0, 24_000]  # 0.5 s, 1 s of silence, 0.5 s
    assert np.all(layout.samples[8_000:24_000] == 0) and np.all(layout.samples[24_000:] == np.float32(0.2))
    assert [layout.owner(t) for t in (0.1, 0.99, 1.01, 2.49, 2.6)] == [0, 0, 1, 1, None]
    assert (layout.clip_span(0, 0.1, 0.2), layout.clip_span(1, 1.6, 9.0)) == ((0.35, 0.45), (0.1, 0.5))
    assert layout.clip_span(0, 0.6, 0.9) == (0.25, 0.75)  # after the piece's speech: the whole piece
    apart = pack(waves, [Piece(0, 4_000, 12_000), Piece(1, 0, 8_000)], per_window=1)
    assert apart.windows == [(0, 8_000), (24_000, 32_000)]


def _words(segments: list[Segment]) -> str:
    return search_text(" ".join(s.text for s in segments))


def test_packed_clips_hear_what_each_hears_alone(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    waves = [load_audio(data_dir / "asterisk_prompts_en" / "wav" / name, SAMPLE_RATE) for name in PROMPTS]
    engine = transcriber(SpeechOptions(model="tiny.en", language="en"))
    windows: list[int] = []
    decode = engine.pipeline.transcribe

    def counted(*args: Any, **kwargs: Any) -> Any:  # the real decoder, counting the windows it is given
        windows.append(len(kwargs["clip_timestamps"]))
        return decode(*args, **kwargs)

    monkeypatch.setattr(engine.pipeline, "transcribe", counted)
    packed = engine.transcribe_many(waves)
    assert sum(windows) <= 2  # one shared window (and at most one more for spans that failed a check)
    windows.clear()
    alone = engine.transcribe_many(waves, pack=False)
    assert windows == [len(PROMPTS)]
    assert [_words(s) for s in packed] == [_words(s) for s in alone]
    assert all(_words(s) for s in packed)
    for wave, mine, own in zip(waves, packed, alone):
        assert 0.0 <= mine[0].start_s < mine[-1].end_s <= len(wave) / SAMPLE_RATE  # times in the file's own clock
        assert abs(mine[0].start_s - own[0].start_s) < 0.5 and abs(mine[-1].end_s - own[-1].end_s) < 0.6


def test_an_english_query_takes_the_form_transcripts_are_embedded_in(tmp_path: Path) -> None:
    from retrieval.engine import Engine
    from retrieval.query.embed import query_text

    assert query_text("The 7th floor, room 42!") == "the seventh floor room forty two"
    assert query_text("Room 7", "en") == "room seven" and query_text("!!!") == "!!!"
    assert query_text("el tren sale a las 8 de la mañana") == "el tren sale a las 8 de la mañana"
    assert query_text("一只黑色的猫 7") == "一只黑色的猫 7"
    engine = Engine(tmp_path / "db")
    same = engine.encoder.encode_texts_in(["the seventh floor"], "en")[0]
    assert np.allclose(engine.embed_query("The 7th floor.", "en"), same, atol=1e-6)
