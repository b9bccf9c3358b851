"""How well the audio tower's architecture generalises to a voice it never heard: FSDD leave-one-speaker-out.

    .venv/bin/python -m benchmarks.audio_speakers [--speakers yweweler,theo] [--extra 'synth/*.wav'] [--steps 600]

For each held-out speaker, a fresh `AudioTower` with a 10-way linear layer is trained as a digit classifier
(cross-entropy, the training augmentations of `recipes.audio.train`) on the other five speakers and scored
on all 500 clips of the held-out one. It is a fast proxy (about a minute per speaker on one core) for the
question the shipped tower's FSDD target asks, and it shows how much the answer depends on the speaker.
`--extra` adds labelled clips (file names start with the digit word, e.g. `seven_rms_1.1.wav`), such as
synthetic voices made with espeak-ng or flite.
"""

from __future__ import annotations

import argparse
import glob
import json
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from recipes.audio.data import fsdd_clips, trim_silence
from recipes.audio.prompts import DIGIT_WORDS
from recipes.audio.train import Augmenter, spec_augment
from retrieval.encoders.audio import AudioTower
from retrieval.encoders.audio_config import TowerConfig
from retrieval.encoders.log_mel import MelConfig, place_in_window
from retrieval.media.audio import load_audio
from retrieval.train.log_mel import LogMel

SAMPLE_RATE = 16_000
MEL = MelConfig(window_s=1.0)
"""FSDD clips last 0.14-2.28 s (mean 0.44 s); a 1 s window halves the cost of the tower's 2 s one."""


class DigitClassifier(torch.nn.Module):
    """The audio tower plus a linear layer over its normalised output."""

    def __init__(self) -> None:
        super().__init__()
        self.tower = AudioTower(TowerConfig(mel=MEL))
        self.classify = torch.nn.Linear(self.tower.config.dim, len(DIGIT_WORDS))

    def forward(self, mels: torch.Tensor) -> torch.Tensor:
        return self.classify(10 * self.tower(mels))


def _features(logmel: LogMel, placed: list[tuple[np.ndarray, int, int]]) -> torch.Tensor:
    waves = torch.from_numpy(np.stack([p[0] for p in placed]))
    spans = torch.tensor([[p[1], p[2]] for p in placed])
    with torch.no_grad():
        return logmel(waves, spans)


def held_out_accuracy(
    train: list[tuple[np.ndarray, int]], test: list[tuple[np.ndarray, int]], steps: int, seed: int
) -> tuple[float, np.ndarray]:
    """Train on `train` (waveform, digit) pairs; accuracy and confusion matrix on `test`."""
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    gen = torch.Generator().manual_seed(seed)
    augment = Augmenter(rng, round(0.9 * SAMPLE_RATE), (0.85, 1.15))
    logmel = LogMel(MEL)
    model = DigitClassifier()
    optimizer = torch.optim.AdamW(model.parameters(), lr=2e-3, weight_decay=0.05)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, 2e-3, total_steps=steps, pct_start=0.1)
    labels = torch.tensor([d for _, d in train])
    for _ in range(steps):
        idx = rng.choice(len(train), 64)
        mels = spec_augment(_features(logmel, [augment(train[i][0]) for i in idx]), gen)
        loss = F.cross_entropy(model(mels), labels[idx])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        schedule.step()
    model.eval()
    with torch.no_grad():
        mels = _features(logmel, [place_in_window(w, MEL.window_samples) for w, _ in test])
        predicted = model(mels).argmax(dim=1).numpy()
    truth = np.array([d for _, d in test])
    confusion = np.zeros((10, 10), dtype=int)
    np.add.at(confusion, (truth, predicted), 1)
    return float((predicted == truth).mean()), confusion


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[1].parent / "shared" / "data")
    parser.add_argument("--speakers", default="", help="comma-separated held-out speakers (default: all six)")
    parser.add_argument("--extra", default="", help="glob of extra labelled WAVs added to every training set")
    parser.add_argument("--steps", type=int, default=600)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(1)
    clips = fsdd_clips(args.data)
    speaker_of = [c.path.stem.split("_")[1] for c in clips]
    waves = [load_audio(c.path, SAMPLE_RATE) for c in clips]
    digits = [DIGIT_WORDS.index(c.key) for c in clips]
    extra = (
        [
            (trim_silence(load_audio(path, SAMPLE_RATE), SAMPLE_RATE), DIGIT_WORDS.index(Path(path).name.split("_")[0]))
            for path in sorted(glob.glob(args.extra))
        ]
        if args.extra
        else []
    )
    speakers = args.speakers.split(",") if args.speakers else sorted(set(speaker_of))
    results = {}
    for held in speakers:
        start = time.perf_counter()
        train = [(trim_silence(w, SAMPLE_RATE), d) for w, d, s in zip(waves, digits, speaker_of) if s != held] + extra
        test = [(w, d) for w, d, s in zip(waves, digits, speaker_of) if s == held]
        accuracy, confusion = held_out_accuracy(train, test, args.steps, args.seed)
        results[held] = round(accuracy, 3)
        print(f"{held}: {accuracy:.3f} ({time.perf_counter() - start:.0f} s)\n{confusion}", flush=True)
    print(
        json.dumps(
            {
                "held_out_accuracy": results,
                "mean": round(float(np.mean(list(results.values()))), 4),
                "extra_clips": len(extra),
                "steps": args.steps,
                "seed": args.seed,
            }
        )
    )


if __name__ == "__main__":
    main()
