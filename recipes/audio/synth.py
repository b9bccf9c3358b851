"""Synthetic training speech: words spoken by many espeak-ng and flite voices.

The recorded training data holds five male digit speakers and one female prompt voice. Synthetic speech
adds voices (accents, speaking rates, pitches) so the tower learns words rather than voices: the digits in
over a hundred voices. Only training-time; needs the `espeak-ng` and `flite` programs (Debian/Ubuntu:
`apt-get install espeak-ng flite`).
"""

from __future__ import annotations

import hashlib
import logging
import shutil
import subprocess
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from recipes.audio.data import read_wave_list, save_wave_list
from retrieval.errors import MmsearchError
from retrieval.media.audio import load_audio

log = logging.getLogger(__name__)

ACCENTS = ("en-us", "en-gb", "en-gb-scotland", "en-gb-x-rp", "en-gb-x-gbclan", "en-gb-x-gbcwmd", "en-029")
VARIANTS = tuple(f"m{i}" for i in range(1, 8)) + tuple(f"f{i}" for i in range(1, 6)) + ("klatt", "klatt2", "klatt3")
FLITE_VOICES = ("kal16", "awb", "rms", "slt")
"""flite's built-in English voices: four recorded speakers (US male, Scottish male, US male, US female)."""
FLITE_STRETCH = (0.8, 0.95, 1.1, 1.3)
FLITE_PITCH_HZ = (85, 110, 140, 180)


@dataclass(frozen=True)
class Utterance:
    """One synthetic clip to make: its text and the synthesiser command, `{out}` standing for the WAV path."""

    text: str
    command: tuple[str, ...]


def synth_program(name: str) -> str:
    """Path of the synthesiser `name` (espeak-ng or flite), or one clear error saying how to install it."""
    program = shutil.which(name)
    if program is None:
        raise MmsearchError(
            f"synthetic speech needs the {name} program: apt-get install {name} (or train with --digit-voices 0)"
        )
    return program


def espeak_utterances(texts: Iterable[str], voices_per_text: int, rng: np.random.Generator) -> list[Utterance]:
    """Each text in `voices_per_text` random espeak-ng voices: accent + variant, 120-210 words/min, pitch 20-80."""
    out = []
    for text in texts:
        for _ in range(voices_per_text):
            voice = f"{rng.choice(ACCENTS)}+{rng.choice(VARIANTS)}"
            speed, pitch = int(rng.integers(120, 211)), int(rng.integers(20, 81))
            command = ("espeak-ng", "-v", voice, "-s", str(speed), "-p", str(pitch), "-w", "{out}", text)
            out.append(Utterance(text, command))
    return out


def flite_utterances(texts: Iterable[str]) -> list[Utterance]:
    """Each text in every flite voice, at every speaking rate x mean pitch of the grid."""
    return [
        Utterance(
            text,
            (
                "flite",
                "-voice",
                voice,
                "--setf",
                f"duration_stretch={stretch}",
                "--setf",
                f"int_f0_target_mean={pitch}",
                "-o",
                "{out}",
                "-t",
                text,
            ),
        )
        for text in texts
        for voice in FLITE_VOICES
        for stretch in FLITE_STRETCH
        for pitch in FLITE_PITCH_HZ
    ]


def speak(utterances: list[Utterance], sample_rate: int, cache_dir: Path | None) -> list[np.ndarray]:
    """Run every utterance's synthesiser; waveforms at `sample_rate`, cached as one .npz keyed by the commands."""
    digest = hashlib.sha1(f"{sample_rate}|{utterances!r}".encode()).hexdigest()[:12]
    cache = cache_dir / f"synth-{sample_rate}-{digest}.npz" if cache_dir else None
    if cache is not None and cache.is_file():
        return read_wave_list(np.load(cache))
    programs = {name: synth_program(name) for name in {u.command[0] for u in utterances}}
    waves = []
    with tempfile.TemporaryDirectory() as tmp:
        out = str(Path(tmp) / "say.wav")
        for utterance in utterances:
            command = [programs[utterance.command[0]]] + [out if a == "{out}" else a for a in utterance.command[1:]]
            subprocess.run(command, check=True, capture_output=True, timeout=30)
            waves.append(load_audio(Path(out), sample_rate))
    if cache is not None:
        save_wave_list(cache, waves)
    log.info("synthesised %d clips", len(waves))
    return waves
