"""Synthetic training speech: a generic English vocabulary spoken by many espeak-ng voices.

The recorded training data holds five male digit speakers and one female prompt voice. Synthetic speech
adds thousands of words in dozens of accents, speeds and pitches, so the tower learns words rather than
voices. Only training-time; needs the `espeak-ng` program (Debian/Ubuntu: `apt-get install espeak-ng`).
"""

from __future__ import annotations

import hashlib
import logging
import re
import shutil
import subprocess
import tempfile
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from retrieval.audio.data import read_wave_list, save_wave_list
from retrieval.audio.decode import load_audio
from retrieval.audio.prompts import DIGIT_WORDS
from retrieval.errors import MmsearchError

log = logging.getLogger(__name__)

ACCENTS = ("en-us", "en-gb", "en-gb-scotland", "en-gb-x-rp", "en-gb-x-gbclan", "en-gb-x-gbcwmd", "en-029")
VARIANTS = tuple(f"m{i}" for i in range(1, 8)) + tuple(f"f{i}" for i in range(1, 6)) + ("klatt", "klatt2", "klatt3")
TEENS = ("ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen")
TENS = ("", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety")
ORDINALS = (
    "zeroth", "first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth", "tenth",
    "eleventh", "twelfth", "thirteenth", "fourteenth", "fifteenth", "sixteenth", "seventeenth", "eighteenth",
    "nineteenth",
)
CALENDAR = (
    "monday tuesday wednesday thursday friday saturday sunday january february march april may june july "
    "august september october november december"
).split()


def number_words(n: int) -> str:
    """English words for 0 <= n < 1000: 42 -> 'forty two'."""
    if n < 10:
        return DIGIT_WORDS[n]
    if n < 20:
        return TEENS[n - 10]
    if n < 100:
        return TENS[n // 10] + ("" if n % 10 == 0 else " " + DIGIT_WORDS[n % 10])
    rest = "" if n % 100 == 0 else " " + number_words(n % 100)
    return f"{DIGIT_WORDS[n // 100]} hundred{rest}"


def ordinal_words(n: int) -> str:
    """English ordinal for 0 <= n < 100: 21 -> 'twenty first'."""
    if n < 20:
        return ORDINALS[n]
    tens, unit = divmod(n, 10)
    if unit == 0:
        return TENS[tens][:-1] + "ieth"
    return f"{TENS[tens]} {ORDINALS[unit]}"


def generic_vocabulary() -> list[str]:
    """Numbers 0-100 (and hundreds), ordinals 0-99, letters a-z, weekdays and months."""
    words = [number_words(n) for n in range(101)] + [number_words(n) for n in range(200, 1000, 100)]
    words += [ordinal_words(n) for n in range(100)] + list("abcdefghijklmnopqrstuvwxyz") + list(CALENDAR)
    return list(dict.fromkeys(words))


def frequent_words(texts: Iterable[str], min_count: int = 3, limit: int = 1500) -> list[str]:
    """The most frequent words (letters only, 2+ characters) of `texts`, at least `min_count` times each."""
    counts = Counter(w for t in texts for w in re.findall(r"[a-z]{2,}", t.lower()))
    return [w for w, c in counts.most_common(limit) if c >= min_count]


def espeak_program() -> str:
    """Path of espeak-ng, or one clear error saying how to install it."""
    program = shutil.which("espeak-ng")
    if program is None:
        raise MmsearchError("synthetic speech needs the espeak-ng program: apt-get install espeak-ng (or pass --synth 0)")
    return program


def synthesize(
    texts: list[str], voices_per_text: int, sample_rate: int, cache_dir: Path | None, seed: int = 0
) -> tuple[list[str], list[np.ndarray]]:
    """Speak every text in `voices_per_text` random voices; returns (text per clip, waveform per clip).

    Voice = accent + variant, speed 120-210 words/min, pitch 20-80, all drawn from `seed`. Results are
    cached as one .npz keyed by the inputs.
    """
    digest = hashlib.sha1(f"{voices_per_text}|{sample_rate}|{seed}|{'|'.join(texts)}".encode()).hexdigest()[:12]
    cache = cache_dir / f"synth-{sample_rate}-{digest}.npz" if cache_dir else None
    if cache is not None and cache.is_file():
        data = np.load(cache)
        return data["texts"].tolist(), read_wave_list(data)
    program = espeak_program()
    rng = np.random.default_rng(seed)
    spoken, waves = [], []
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "say.wav"
        for text in texts:
            for _ in range(voices_per_text):
                voice = f"{rng.choice(ACCENTS)}+{rng.choice(VARIANTS)}"
                speed, pitch = int(rng.integers(120, 211)), int(rng.integers(20, 81))
                command = [program, "-v", voice, "-s", str(speed), "-p", str(pitch), "-w", str(out), text]
                subprocess.run(command, check=True, capture_output=True, timeout=30)
                spoken.append(text)
                waves.append(load_audio(out, sample_rate))
    if cache is not None:
        save_wave_list(cache, waves, texts=np.array(spoken))
    log.info("synthesised %d clips of %d texts", len(waves), len(texts))
    return spoken, waves
