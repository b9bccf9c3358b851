"""The audio recipe on real data: its clip lists and held-out split, and one short training run."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

from recipes.audio.data import ASTERISK_DIR, FSDD_DIR, asterisk_clips, fsdd_clips
from recipes.audio.train import AudioSettings, Trainer, holdout_record
from retrieval.encoders.audio_config import SHIPPED_DIR, TowerConfig
from retrieval.media.text import read_rows
from tests.conftest import write_csv


def test_clips_and_holdout_are_those_of_the_shipped_weights(data_dir: Path) -> None:
    fsdd = fsdd_clips(data_dir)
    asterisk = asterisk_clips(data_dir)
    assert len(fsdd) == 3000 and sum(c.split == "val" for c in fsdd) == 500
    assert len(asterisk) == 256 and all(c.path.is_file() for c in asterisk[:5])
    shipped = json.loads((SHIPPED_DIR / "config.json").read_text())
    assert holdout_record(data_dir, "yweweler") == shipped["holdout"]


def _small_data(data_dir: Path, root: Path) -> Path:
    """A data folder of 4 clips per FSDD speaker and 10 Asterisk prompts (absolute paths into the real data)."""
    fsdd = read_rows(data_dir / FSDD_DIR / "labels.csv", ("path", "digit", "speaker"))
    picked = [r for r in fsdd if r["path"].endswith(("_0.wav", "_1.wav")) and r["digit"] in "37"]
    (root / FSDD_DIR).mkdir(parents=True)
    rows = [[str(data_dir / FSDD_DIR / r["path"]), r["digit"], r["speaker"]] for r in picked]
    write_csv(root / FSDD_DIR / "labels.csv", ["path", "digit", "speaker"], rows)
    prompts = read_rows(data_dir / ASTERISK_DIR / "transcripts.csv", ("path", "text"))[:10]
    (root / ASTERISK_DIR).mkdir()
    rows = [[str(data_dir / ASTERISK_DIR / r["path"]), r["text"]] for r in prompts]
    write_csv(root / ASTERISK_DIR / "transcripts.csv", ["path", "text"], rows)
    return root


def test_two_training_steps_change_the_tower_and_report_metrics(data_dir: Path, tmp_path: Path) -> None:
    settings = AudioSettings(steps=2, batch_fsdd=8, batch_asterisk=4, digit_voices=0, warmup=1, eval_every=2)
    trainer = Trainer(_small_data(data_dir, tmp_path / "data"), None, settings, TowerConfig())
    assert {c.source for c in trainer.train} == {"fsdd", "asterisk"}
    before = {k: v.clone() for k, v in trainer.tower.state_dict().items()}
    tower, metrics = trainer.run()
    after = tower.state_dict()
    assert any(not torch.equal(before[k], after[k]) for k in before)
    assert 0.0 <= metrics["fsdd_yweweler_zero_shot_acc"] <= 1.0
    assert np.isfinite(metrics["asterisk_heldout_t2a_r1"])
