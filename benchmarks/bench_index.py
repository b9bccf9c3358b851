"""Indexing throughput: encoder ceiling vs `mmsearch index` end to end vs a naive loop, in one run.

    .venv/bin/python benchmarks/bench_index.py [--data ../shared/data] [--scale 1,4] [--batch-size 64] [--runtime auto]

(a) ceiling: encoder forward on pre-decoded tensors only (the mean of a measurement before (b) and one after (c));
(b) ours: Engine.index end to end (scan, parallel decode, encode, DuckDB commits, FAISS write);
(c) naive: open, preprocess and encode one batch at a time in a single process.
The x4 set is made of copies of the Caltech images with different names and one unique
trailing byte each, so content de-duplication cannot skip them. Prints images/s and ratios.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from retrieval.encoders.registry import load_encoder
from retrieval.engine import Engine
from retrieval.media.image import load_image
from retrieval.types import IndexSettings


def make_folder(source: Path, target: Path, copies: int) -> list[Path]:
    """Copies of every image under `source`, each with unique content; returns the files."""
    files = []
    for n in range(copies):
        for image in sorted(source.rglob("*.jpg")):
            out = target / f"copy{n}" / image.parent.name / image.name
            out.parent.mkdir(parents=True, exist_ok=True)
            if n == 0:
                shutil.copyfile(image, out)
            else:
                out.write_bytes(image.read_bytes() + bytes([n]) * n)
            files.append(out)
    return files


def ceiling(encoder, files: list[Path], batch_size: int) -> float:
    """Images/s of the encoder alone on pre-decoded, pre-transformed tensors (after two warm-up batches:
    the runtime's first calls at a batch shape allocate)."""
    transform = encoder.image_transform()
    tensors = [transform(load_image(f)) for f in files]
    for start in range(0, min(2 * batch_size, len(tensors)), batch_size):
        encoder.encode_image_batch(np.stack(tensors[start : start + batch_size]))
    started = time.perf_counter()
    for start in range(0, len(tensors), batch_size):
        encoder.encode_image_batch(np.stack(tensors[start : start + batch_size]))
    return len(files) / (time.perf_counter() - started)


def naive(encoder, files: list[Path], batch_size: int) -> float:
    """Images/s of a single-process open -> preprocess -> encode loop."""
    transform = encoder.image_transform()
    started = time.perf_counter()
    for start in range(0, len(files), batch_size):
        batch = [transform(load_image(f)) for f in files[start : start + batch_size]]
        encoder.encode_image_batch(np.stack(batch))
    return len(files) / (time.perf_counter() - started)


def ours(encoder, folder: Path, db: Path, batch_size: int, runtime: str) -> tuple[float, float]:
    """(images/s of a fresh end-to-end index run, seconds of a re-run on the unchanged folder)."""
    engine = Engine(db)
    engine._encoder = encoder  # reuse the loaded model: we time indexing, not model loading
    report = engine.index([folder], IndexSettings(batch_size=batch_size, runtime=runtime))
    rerun = engine.index([folder], IndexSettings(batch_size=batch_size, runtime=runtime))
    assert rerun.unchanged == report.new, "re-run should find every file unchanged"
    return report.new / report.seconds, rerun.seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[1].parent / "shared" / "data")
    parser.add_argument("--scale", default="1,4", help="comma-separated copy counts of the 3,060 Caltech images")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--model", default="lite")
    parser.add_argument("--runtime", default="auto", help="auto, torch or onnx: the same for all three columns")
    args = parser.parse_args()
    encoder = load_encoder(args.model)
    print("runtime", encoder.use_runtime(args.runtime))
    encoder.encode_texts(["warm up"])  # load both towers before timing anything
    encoder.encode_images([load_image(next((args.data / "caltech101" / "images").rglob("*.jpg")))])
    print(
        f"model {encoder.model_id}, device {encoder.device}, batch {args.batch_size}, "
        f"torch threads {torch.get_num_threads()}"
    )
    print(
        f"{'images':>7} {'ceiling/s':>10} {'ours/s':>8} {'naive/s':>8} {'ours/ceil':>9} {'ours/naive':>10} "
        f"{'re-run s':>8}"
    )
    for copies in (int(c) for c in args.scale.split(",")):
        with tempfile.TemporaryDirectory() as tmp:
            files = make_folder(args.data / "caltech101" / "images", Path(tmp) / "photos", copies)
            before = ceiling(encoder, files[:1024], args.batch_size)
            mine, rerun = ours(encoder, Path(tmp) / "photos", Path(tmp) / "db", args.batch_size, args.runtime)
            simple = naive(encoder, files[:1024], args.batch_size)
            top = (before + ceiling(encoder, files[:1024], args.batch_size)) / 2  # before and after: the load drifts
            print(
                f"{len(files):>7} {top:>10.1f} {mine:>8.1f} {simple:>8.1f} {mine / top:>9.2f} {mine / simple:>10.2f} "
                f"{rerun:>8.2f}"
            )


if __name__ == "__main__":
    main()
