"""Training and validation clips for the audio tower: FSDD digits and Asterisk voice prompts."""

from __future__ import annotations

import hashlib
import logging
import random
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from indexes.atomic import atomic_path
from recipes.audio.prompts import DIGIT_WORDS, SPEECH_CAPTIONS, digit_captions
from retrieval.media.audio import load_audio
from retrieval.media.text import read_rows

log = logging.getLogger(__name__)

FSDD_DIR = "fsdd"
"""The Free Spoken Digit Dataset's folder under the data folder (`labels.csv`: path, digit, speaker)."""
ASTERISK_DIR = "asterisk_prompts_en"
"""The Asterisk voice prompts' folder under the data folder (`transcripts.csv`: path, text)."""
FSDD_HOLDOUT_SPEAKER = "yweweler"
ASTERISK_HOLDOUT_SEED = 20240601
ASTERISK_HOLDOUT_FRACTION = 0.2


@dataclass(frozen=True)
class Clip:
    """One recording: its path, training captions, class key (same key = same words) and split."""

    path: Path
    captions: tuple[str, ...]
    key: str
    split: str
    source: str


def clean_transcript(text: str) -> str:
    """Drop bracketed symbols, angle-bracket markers, parenthesised notes and ellipses: 'at [@]' -> 'at'."""
    text = re.sub(r"\[[^\]]*\]|<[^>]*>|\([^)]*\)", " ", text)
    text = text.replace("...", " ").replace("…", " ")
    return re.sub(r"\s+", " ", text).strip()


def text_key(text: str) -> str:
    """Normalised words of a transcript: lower case, letters, digits, apostrophes and single spaces."""
    return re.sub(r"\s+", " ", re.sub(r"[^a-z0-9' ]+", " ", text.lower().replace("-", " "))).strip()


def fsdd_clips(root: Path, holdout_speaker: str = FSDD_HOLDOUT_SPEAKER) -> list[Clip]:
    """All 3,000 FSDD clips; `holdout_speaker` (yweweler unless told) is the validation split."""
    folder = root / FSDD_DIR
    clips = []
    for row in read_rows(folder / "labels.csv", ("path", "digit", "speaker")):
        digit = int(row["digit"])
        split = "val" if row["speaker"] == holdout_speaker else "train"
        clips.append(Clip(folder / row["path"], tuple(digit_captions(digit)), DIGIT_WORDS[digit], split, "fsdd"))
    return clips


def asterisk_holdout(paths: list[str]) -> set[str]:
    """The seeded 20 % of Asterisk prompt paths held out for validation."""
    ordered = sorted(paths)
    return set(random.Random(ASTERISK_HOLDOUT_SEED).sample(ordered, round(ASTERISK_HOLDOUT_FRACTION * len(ordered))))


def asterisk_clips(root: Path) -> list[Clip]:
    """All 256 Asterisk prompts with cleaned transcripts; a seeded 20 % is the validation split."""
    folder = root / ASTERISK_DIR
    rows = read_rows(folder / "transcripts.csv", ("path", "text"))
    held = asterisk_holdout([r["path"] for r in rows])
    clips = []
    for row in rows:
        text = clean_transcript(row["text"])
        split = "val" if row["path"] in held else "train"
        captions = tuple(c.format(text) for c in SPEECH_CAPTIONS)
        clips.append(Clip(folder / row["path"], captions, text_key(text), split, "asterisk"))
    return clips


def trim_silence(wave: np.ndarray, sr: int, threshold_db: float = -40.0, margin_s: float = 0.05) -> np.ndarray:
    """Cut leading and trailing frames quieter than `threshold_db` below the loudest 10 ms frame."""
    hop = max(1, sr // 100)
    n = wave.shape[0] // hop
    if n < 2:
        return wave
    energy = (wave[: n * hop].reshape(n, hop) ** 2).mean(axis=1) + 1e-12
    loud = np.flatnonzero(10 * np.log10(energy / energy.max()) > threshold_db)
    margin = round(margin_s * sr)
    start = max(0, loud[0] * hop - margin)
    end = min(wave.shape[0], (loud[-1] + 1) * hop + margin)
    return wave[start:end]


def load_waves(clips: list[Clip], sample_rate: int, cache_dir: Path | None, trim: bool) -> list[np.ndarray]:
    """Decoded (and optionally silence-trimmed) waveforms, cached as one .npz per clip list."""
    digest = hashlib.sha1("\n".join(str(c.path) for c in clips).encode()).hexdigest()[:12]
    cache = cache_dir / f"waves-{sample_rate}-{'trim' if trim else 'full'}-{digest}.npz" if cache_dir else None
    if cache is not None and cache.is_file():
        return read_wave_list(np.load(cache))
    waves = [load_audio(c.path, sample_rate) for c in clips]
    if trim:
        waves = [trim_silence(w, sample_rate) for w in waves]
    if cache is not None:
        save_wave_list(cache, waves)
        log.info("cached %d waveforms in %s", len(waves), cache)
    return waves


def save_wave_list(path: Path, waves: list[np.ndarray]) -> None:
    """Store waveforms of different lengths in one .npz, written atomically."""
    with atomic_path(path) as tmp, open(tmp, "wb") as handle:
        np.savez(handle, samples=np.concatenate(waves), offsets=np.cumsum([0] + [len(w) for w in waves]))


def read_wave_list(data: "np.lib.npyio.NpzFile") -> list[np.ndarray]:
    """The waveforms stored by `save_wave_list`."""
    return np.split(data["samples"], data["offsets"][1:-1])
