"""Reproduce the shipped audio tower: train it contrastively against frozen MiniLM caption embeddings.

python -m recipes.audio --data ../shared/data --out retrieval/models/audio
"""

from __future__ import annotations

import argparse
import logging
import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from recipes.args import add_paths
from recipes.audio.data import (
    ASTERISK_DIR,
    ASTERISK_HOLDOUT_SEED,
    FSDD_HOLDOUT_SPEAKER,
    Clip,
    asterisk_clips,
    fsdd_clips,
    load_waves,
    trim_silence,
)
from recipes.audio.evaluate import heldout_metrics
from recipes.audio.prompts import DIGIT_WORDS, digit_captions
from recipes.audio.synth import espeak_utterances, flite_utterances, speak
from retrieval.encoders.audio import AudioTower, save_audio_tower
from retrieval.encoders.audio_config import TowerConfig
from retrieval.encoders.log_mel import place_in_window
from retrieval.encoders.minilm import encode_minilm
from retrieval.train.log_mel import LogMel
from retrieval.train.losses import ClipLoss

log = logging.getLogger(__name__)

CTC_ALPHABET = " 'abcdefghijklmnopqrstuvwxyz0123456789"


@dataclass(frozen=True)
class AudioSettings:
    """Recipe for the shipped weights."""

    steps: int = 800
    batch_fsdd: int = 80
    batch_asterisk: int = 48
    digit_voices: int = 48
    """espeak-ng voices per digit word, plus flite's voice grid; these clips join the FSDD draws (0 = none)."""
    lr: float = 2e-3
    weight_decay: float = 0.05
    warmup: int = 60
    train_window_s: float = 1.6
    bank_weight: float = 1.0
    ctc_weight: float = 0.3
    speed: tuple[float, float] = (0.85, 1.15)
    seed: int = 0
    eval_every: int = 200
    holdout_speaker: str = FSDD_HOLDOUT_SPEAKER
    """The FSDD speaker never trained on (validation); another one measures generalisation to other voices."""


class Augmenter:
    """Waveform augmentation: speed/pitch by resampling, gain, additive noise, random placement."""

    def __init__(self, rng: np.random.Generator, window_samples: int, speed: tuple[float, float]) -> None:
        self.rng = rng
        self.window_samples = window_samples
        self.speed = speed

    def __call__(self, wave: np.ndarray) -> tuple[np.ndarray, int, int]:
        rng = self.rng
        speed = rng.uniform(*self.speed)
        n_out = max(16, round(len(wave) / speed))
        wave = np.interp(np.linspace(0, len(wave) - 1, n_out), np.arange(len(wave)), wave).astype(np.float32)
        wave = wave * rng.uniform(0.2, 1.5)
        if rng.random() < 0.6:
            snr_db = rng.uniform(5, 40)
            noise = rng.standard_normal(len(wave)).astype(np.float32)
            if rng.random() < 0.5:
                noise = np.cumsum(noise) * 0.05
                noise -= noise.mean()
            power = float((wave**2).mean()) + 1e-10
            noise *= math.sqrt(power / (10 ** (snr_db / 10)) / (float((noise**2).mean()) + 1e-10))
            wave = wave + noise
        n = len(wave)
        if n >= self.window_samples:
            offset = int(rng.integers(0, n - self.window_samples + 1))
        else:
            offset = int(rng.integers(0, self.window_samples - n + 1))
        return place_in_window(wave, self.window_samples, offset)


def spec_augment(mels: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """Mel-axis warp (vocal tract length), then two frequency and two time masks per example."""
    b, n_mels, n_frames = mels.shape
    out = mels.clone()
    for i in range(b):
        alpha = float(torch.empty(1).uniform_(0.88, 1.12, generator=gen))
        warped = F.interpolate(out[i : i + 1].transpose(1, 2), size=round(n_mels * alpha), mode="linear")
        warped = warped.transpose(1, 2)[0]
        if warped.shape[0] >= n_mels:
            out[i] = warped[:n_mels]
        else:
            out[i, : warped.shape[0]] = warped
            out[i, warped.shape[0] :] = warped[-1:]
        for _ in range(2):
            w = int(torch.randint(0, 9, (1,), generator=gen))
            f0 = int(torch.randint(0, n_mels - w + 1, (1,), generator=gen))
            out[i, f0 : f0 + w] = 0.0
            w = int(torch.randint(0, 13, (1,), generator=gen))
            t0 = int(torch.randint(0, n_frames - w + 1, (1,), generator=gen))
            out[i, :, t0 : t0 + w] = 0.0
    return out


def ctc_targets(keys: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
    """Concatenated character ids (blank = 0) and lengths for CTC."""
    ids = [[CTC_ALPHABET.index(ch) + 1 for ch in key if ch in CTC_ALPHABET] for key in keys]
    return torch.tensor([i for seq in ids for i in seq]), torch.tensor([len(seq) for seq in ids])


class Trainer:
    """Holds data, caption embeddings, model and optimiser; `run()` trains and returns the tower."""

    def __init__(self, data_root: Path, cache_dir: Path | None, settings: AudioSettings, config: TowerConfig) -> None:
        self.settings = settings
        self.config = config
        self.rng = np.random.default_rng(settings.seed)
        self.gen = torch.Generator().manual_seed(settings.seed)
        torch.manual_seed(settings.seed)
        sr = config.mel.sample_rate
        clips = fsdd_clips(data_root, settings.holdout_speaker) + asterisk_clips(data_root)
        self.train = [c for c in clips if c.split == "train"]
        self.val_fsdd = [c for c in clips if c.split == "val" and c.source == "fsdd"]
        self.val_asterisk = [c for c in clips if c.split == "val" and c.source == "asterisk"]
        self.train_waves = load_waves(self.train, sr, cache_dir, trim=True)
        self._add_synthetic_digits(cache_dir)
        self.val_fsdd_waves = load_waves(self.val_fsdd, sr, cache_dir, trim=False)
        self.val_asterisk_waves = load_waves(self.val_asterisk, sr, cache_dir, trim=False)
        self._embed_captions()
        self.fsdd_idx = np.array([i for i, c in enumerate(self.train) if c.source in ("fsdd", "synth-digit")])
        self.asterisk_idx = np.array([i for i, c in enumerate(self.train) if c.source == "asterisk"])
        self.augment = Augmenter(self.rng, round(settings.train_window_s * sr), settings.speed)
        self.logmel = LogMel(config.mel)
        self.tower = AudioTower(config)
        self.ctc_head = torch.nn.Linear(self.tower.out_channels, len(CTC_ALPHABET) + 1)
        self.log_scale = torch.nn.Parameter(torch.tensor(math.log(1 / 0.07)))
        self.contrastive = ClipLoss(any_positive=True)

    def _add_synthetic_digits(self, cache_dir: Path | None) -> None:
        """Append the ten digit words in many synthetic voices; they are drawn together with the FSDD clips."""
        if self.settings.digit_voices <= 0:
            return
        rng = np.random.default_rng(self.settings.seed + 1)
        utterances = espeak_utterances(DIGIT_WORDS, self.settings.digit_voices, rng) + flite_utterances(DIGIT_WORDS)
        for utterance, wave in zip(utterances, speak(utterances, self.config.mel.sample_rate, cache_dir)):
            captions = tuple(digit_captions(DIGIT_WORDS.index(utterance.text)))
            self._append(Clip(Path("synth", utterance.text), captions, utterance.text, "train", "synth-digit"), wave)

    def _append(self, clip: Clip, wave: np.ndarray) -> None:
        self.train.append(clip)
        self.train_waves.append(trim_silence(wave, self.config.mel.sample_rate))

    def _embed_captions(self) -> None:
        captions = sorted({cap for c in self.train for cap in c.captions})
        keys = sorted({c.key for c in self.train})
        vectors = encode_minilm(captions + keys)
        self.caption_vec = {cap: vectors[i] for i, cap in enumerate(captions)}
        self.keys = keys
        self.key_index = {k: i for i, k in enumerate(keys)}
        self.bank = torch.from_numpy(vectors[len(captions) :])
        self.val_text = encode_minilm([c.captions[0] for c in self.val_asterisk])
        log.info("%d training clips, %d captions, %d classes", len(self.train), len(captions), len(keys))

    def _caption_vector(self, index: int) -> np.ndarray:
        """One of the clip's training captions, drawn at random."""
        captions = self.train[index].captions
        return self.caption_vec[captions[self.rng.integers(len(captions))]]

    def _batch(self) -> tuple[torch.Tensor, torch.Tensor, list[str], torch.Tensor]:
        """Augmented log-mels, one caption vector each, class keys and bank labels of a random batch."""
        s = self.settings
        draws = [self.rng.choice(self.fsdd_idx, s.batch_fsdd), self.rng.choice(self.asterisk_idx, s.batch_asterisk)]
        idx = [int(i) for i in np.concatenate(draws)]
        placed = [self.augment(self.train_waves[i]) for i in idx]
        waves = torch.from_numpy(np.stack([p[0] for p in placed]))
        spans = torch.tensor([[p[1], p[2]] for p in placed])
        with torch.no_grad():
            mels = spec_augment(self.logmel(waves, spans), self.gen)
        texts = torch.from_numpy(np.stack([self._caption_vector(i) for i in idx]))
        keys = [self.train[i].key for i in idx]
        return mels, texts, keys, torch.tensor([self.key_index[k] for k in keys])

    def _loss(
        self, mels: torch.Tensor, texts: torch.Tensor, keys: list[str], bank_labels: torch.Tensor
    ) -> tuple[torch.Tensor, dict[str, float]]:
        s = self.settings
        seq = self.tower.sequence(mels)
        audio = self.tower.pool_and_project(seq)
        scale = self.log_scale.clamp(max=math.log(100)).exp()
        ids = {k: n for n, k in enumerate(dict.fromkeys(keys))}
        labels = torch.tensor([ids[k] for k in keys])
        contrastive = self.contrastive(audio, texts, scale, labels, labels)
        bank = F.cross_entropy(scale * audio @ self.bank.T, bank_labels)
        loss = contrastive + s.bank_weight * bank
        parts = {"infonce": contrastive.item(), "bank": bank.item()}
        if s.ctc_weight > 0:
            log_probs = F.log_softmax(self.ctc_head(seq.transpose(1, 2)), dim=-1).transpose(0, 1)
            targets, target_lengths = ctc_targets(keys)
            input_lengths = torch.full((len(keys),), log_probs.shape[0], dtype=torch.long)
            ctc = F.ctc_loss(log_probs, targets, input_lengths, target_lengths, zero_infinity=True)
            loss = loss + s.ctc_weight * ctc
            parts["ctc"] = ctc.item()
        return loss, parts

    def evaluate(self) -> dict[str, float]:
        """Zero-shot digit accuracy on the held-out speaker and text->audio R@1 on held-out Asterisk prompts."""
        return heldout_metrics(
            self.tower,
            self.val_fsdd,
            self.val_fsdd_waves,
            self.val_asterisk,
            self.val_asterisk_waves,
            self.val_text,
            self.settings.holdout_speaker,
        )

    def run(self) -> tuple[AudioTower, dict[str, float]]:
        s = self.settings
        params = list(self.tower.parameters()) + list(self.ctc_head.parameters())
        optim = torch.optim.AdamW(
            [{"params": params, "weight_decay": s.weight_decay}, {"params": [self.log_scale], "weight_decay": 0.0}],
            lr=s.lr,
        )
        sched = torch.optim.lr_scheduler.LambdaLR(
            optim, lambda i: min(1.0, (i + 1) / s.warmup) * 0.5 * (1 + math.cos(math.pi * min(i, s.steps) / s.steps))
        )
        self.tower.train()
        start = time.time()
        for step in range(1, s.steps + 1):
            loss, parts = self._loss(*self._batch())
            optim.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 5.0)
            optim.step()
            sched.step()
            if step % 50 == 0:
                details = " ".join(f"{k} {v:.3f}" for k, v in parts.items())
                log.info(
                    "step %d loss %.3f %s scale %.1f (%.0fs)",
                    step,
                    loss.item(),
                    details,
                    float(self.log_scale.exp()),
                    time.time() - start,
                )
            if step % s.eval_every == 0 or step == s.steps:
                log.info("step %d eval %s", step, self.evaluate())
        metrics = {**self.evaluate(), "train_seconds": round(time.time() - start, 1)}
        return self.tower.eval(), metrics


def holdout_record(data_root: Path, fsdd_speaker: str) -> dict[str, Any]:
    """Which clips were never trained on, for config.json."""
    held = [c for c in asterisk_clips(data_root) if c.split == "val"]
    return {
        "fsdd_speaker": fsdd_speaker,
        "asterisk_seed": ASTERISK_HOLDOUT_SEED,
        "asterisk_paths": [c.path.relative_to(data_root / ASTERISK_DIR).as_posix() for c in held],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m recipes.audio", description=__doc__.splitlines()[0])
    add_paths(parser, "audio")
    parser.add_argument("--steps", type=int, default=AudioSettings.steps)
    parser.add_argument("--ctc-weight", type=float, default=AudioSettings.ctc_weight)
    parser.add_argument("--bank-weight", type=float, default=AudioSettings.bank_weight)
    parser.add_argument("--speed", type=float, nargs=2, default=AudioSettings.speed, help="speed perturbation range")
    parser.add_argument("--seed", type=int, default=AudioSettings.seed)
    parser.add_argument(
        "--digit-voices",
        type=int,
        default=AudioSettings.digit_voices,
        help="espeak-ng voices per digit word, plus flite's voices (0: recorded digits only)",
    )
    parser.add_argument("--holdout-speaker", default=FSDD_HOLDOUT_SPEAKER, help="FSDD speaker never trained on")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (1 is fastest on a busy 2-core box)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    torch.set_num_threads(args.threads)
    settings = AudioSettings(
        steps=args.steps,
        ctc_weight=args.ctc_weight,
        bank_weight=args.bank_weight,
        speed=tuple(args.speed),
        seed=args.seed,
        digit_voices=args.digit_voices,
        holdout_speaker=args.holdout_speaker,
    )
    tower, metrics = Trainer(args.data, args.cache, settings, TowerConfig()).run()
    holdout = holdout_record(args.data, settings.holdout_speaker)
    extra = {"metrics": metrics, "train_settings": asdict(settings), "holdout": holdout}
    save_audio_tower(tower, args.out, extra)
    log.info("saved %s: %s", args.out, metrics)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
