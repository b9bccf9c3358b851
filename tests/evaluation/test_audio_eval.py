"""`mmsearch eval` on audio files: zero-shot digits and text->audio retrieval, real FSDD clips."""

from __future__ import annotations

import json
from pathlib import Path

from cli.app import app
from tests.conftest import write_csv

WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")


def test_eval_zeroshot_on_audio_files(runner, tmp_path: Path, data_dir: Path) -> None:
    rows = [
        [str(data_dir / f"fsdd/recordings/{digit}_yweweler_{take}.wav"), word]
        for digit, word in enumerate(WORDS)
        for take in (0, 1, 2)
    ]
    labels = write_csv(tmp_path / "digits.csv", ["path", "label"], rows)
    result = runner.invoke(app, ["eval", "zeroshot", "--labels", str(labels), "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["n"] == 30 and payload["classes"] == 10 and payload["model"].startswith("lite")
    assert payload["top1"] >= 0.6 and payload["top5"] >= payload["top1"]


def test_eval_retrieval_text_to_audio(runner, tmp_path: Path, data_dir: Path) -> None:
    rows = [[str(data_dir / f"fsdd/recordings/{digit}_yweweler_3.wav"), word] for digit, word in enumerate(WORDS)]
    captions = write_csv(tmp_path / "spoken.csv", ["image", "caption"], rows)
    result = runner.invoke(app, ["eval", "retrieval", "--captions", str(captions), "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["n_images"] == 10 and payload["n_texts"] == 10
    assert payload["t2i"]["R@5"] >= 0.6 and payload["t2i"]["R@10"] == 1.0
