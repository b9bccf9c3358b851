"""Decoding a long recording: block-wise `load_audio` against reading and resampling the whole file at once.

    .venv/bin/python benchmarks/bench_decode.py [--minutes 20]

Writes a stereo 44.1 kHz 16-bit WAV of the given length (noise plus a tone) into a temp folder, then decodes it
to 16 kHz mono both ways in this process, each once, and prints the time and the peak of traced memory
(tracemalloc sees numpy's buffers) with their ratios.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import numpy as np
import soundfile as sf

from retrieval.media.audio import load_audio, resample

SOURCE_RATE = 44_100
TARGET_RATE = 16_000


def whole_file(path: Path) -> np.ndarray:
    """The naive way: every sample in memory, one FFT over the whole file."""
    data, rate = sf.read(str(path), dtype="float32", always_2d=True)
    return resample(data.mean(axis=1), int(rate), TARGET_RATE)


def measure(decode: Callable[[Path], np.ndarray], path: Path) -> dict[str, float]:
    tracemalloc.start()
    start = time.perf_counter()
    wave = decode(path)
    seconds = time.perf_counter() - start
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {"seconds": round(seconds, 2), "peak_mb": round(peak / 1e6, 1), "samples": int(wave.shape[0])}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=int, default=20)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "long.wav"
        with sf.SoundFile(str(path), "w", SOURCE_RATE, 2, subtype="PCM_16") as handle:
            t = np.arange(60 * SOURCE_RATE) / SOURCE_RATE
            tone = 0.2 * np.sin(2 * np.pi * 440 * t)
            for _ in range(args.minutes):
                handle.write((tone[:, None] + 0.05 * rng.standard_normal((t.size, 2))).astype(np.float32))
        ours = measure(lambda p: load_audio(p, TARGET_RATE), path)
        naive = measure(whole_file, path)
    print(
        json.dumps(
            {
                "minutes": args.minutes,
                "ours": ours,
                "whole_file": naive,
                "time_ratio_whole_over_ours": round(naive["seconds"] / ours["seconds"], 2),
                "memory_ratio_whole_over_ours": round(naive["peak_mb"] / ours["peak_mb"], 2),
            },
            indent=1,
        )
    )


if __name__ == "__main__":
    main()
