"""A recording with many more windows than one encoder batch: every window gets its own vector, whether the
file decodes whole in the load stage or is embedded as it decodes (a recording over LONG_AUDIO_S)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from retrieval import Engine
from retrieval.ingest import load
from retrieval.media.audio import load_audio, split_windows
from retrieval.types import IndexSettings


@pytest.mark.parametrize("streamed", [False, True], ids=["whole", "as-it-decodes"])
def test_long_recording_is_encoded_in_batches(tmp_path: Path, data_dir: Path, monkeypatch, streamed: bool) -> None:
    clips = [sf.read(data_dir / f"fsdd/recordings/{d}_theo_0.wav")[0] for d in range(10)]
    gap = np.zeros(4000)
    wave = np.concatenate([np.concatenate([c, gap]) for c in clips * 3])  # about 28 s at 8 kHz
    folder = tmp_path / "sounds"
    folder.mkdir()
    sf.write(folder / "long.wav", wave, 8000)

    engine = Engine(tmp_path / "db")
    encoder = engine.encoder
    batch_sizes: list[int] = []
    encode = encoder.encode_audio_batch

    def spy(features: torch.Tensor) -> np.ndarray:
        batch_sizes.append(len(features))
        return encode(features)

    monkeypatch.setattr(encoder, "encode_audio_batch", spy)
    if streamed:  # this 28 s recording counts as long, and is embedded 7 windows at a time
        monkeypatch.setattr(load, "LONG_AUDIO_S", 10.0)
        monkeypatch.setattr(load, "EMBED_CHUNK", 7)
    embedded: list[str] = []
    embed_as_it_decodes = load.FileLoader.embedded

    def counted(self: load.FileLoader, facts: load.FileFacts, embed: load.Embed) -> object:
        embedded.append(facts.path)
        return embed_as_it_decodes(self, facts, embed)

    monkeypatch.setattr(load.FileLoader, "embedded", counted)
    report = engine.index([folder], IndexSettings(batch_size=4, workers=0, transcribe=False))
    assert max(batch_sizes) == 4, batch_sizes
    assert len(embedded) == streamed
    monkeypatch.undo()

    windows = split_windows(
        load_audio(folder / "long.wav", encoder.audio_sample_rate),
        encoder.audio_sample_rate,
        encoder.audio_window_s,
        encoder.audio_window_s / 2,
    )
    assert report.new == 1 and report.items == len(windows) > 4 * 5
    transform = encoder.audio_transform()
    expected = encoder.encode_audio_batch(np.stack([transform(w.samples) for w in windows]))
    ids, stored = engine.catalog.vectors()
    rows = engine.catalog.rows(ids)
    order = np.argsort([rows[i]["start_s"] for i in ids])
    assert [rows[ids[k]]["start_s"] for k in order] == [w.start_s for w in windows]
    np.testing.assert_allclose(stored[order], expected, atol=2e-3)  # float16 storage
