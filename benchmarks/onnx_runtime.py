"""ONNX Runtime against eager torch for the lite towers, in one run, on real data:

1. each tower (EfficientNet-Lite image tower, MiniLM text tower, audio tower) alone, same inputs: items/s;
2. ranking: Flickr validation split (160 images, 800 captions) text->image recall@1/5/10, Caltech test-split
   class-name queries recall@1/5/10, and the top-10 overlap of both runtimes' rankings;
3. end to end: `Engine.index` of the same Caltech photos with `--runtime torch` and `--runtime onnx`.

    .venv/bin/python -m benchmarks.onnx_runtime [--caltech 400] [--runs 3]

Exports go to a temporary cache, so the export time is measured too.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch

from benchmarks.bench_cli import REPO

if TYPE_CHECKING:
    from retrieval.train.data import PairSet

DATA = REPO.parent / "shared" / "data"


def median_seconds(run: Callable[[], object], runs: int) -> float:
    """Median wall time of `runs` calls after one warm-up."""
    run()
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def tower_row(name: str, module: torch.nn.Module, inputs: dict[str, torch.Tensor], runs: int, **axes) -> None:
    """Export `module`, time torch and ONNX Runtime on `inputs` and print the row."""
    from retrieval.encoders.lite import weights_digest
    from retrieval.encoders.onnx_runtime import onnx_tower

    started = time.perf_counter()
    tower = onnx_tower(name, [weights_digest(module.state_dict())], lambda: (module, inputs), axes or None)
    export_s = time.perf_counter() - started
    arrays = [t.numpy() for t in inputs.values()]
    with torch.inference_mode():
        expected = module(*inputs.values())
    expected = [expected] if isinstance(expected, torch.Tensor) else list(expected)
    diff = max(float(np.abs(g - e.numpy()).max()) for g, e in zip(tower(*arrays), expected))

    def eager() -> None:
        with torch.inference_mode():
            module(*inputs.values())

    torch_s, ort_s = median_seconds(eager, runs), median_seconds(lambda: tower(*arrays), runs)
    batch = len(arrays[0])
    print(
        f"{name:6s} batch {batch:4d}: torch {batch / torch_s:7.1f}/s  onnxruntime {batch / ort_s:7.1f}/s  "
        f"{torch_s / ort_s:.2f}x  max |diff| {diff:.1e}  export+load {export_s:.1f} s"
    )


def recalls(scores: np.ndarray, positives: list[set[int]]) -> dict[int, float]:
    """Recall@1/5/10 of each query's ranking against its set of right items."""
    top = np.argsort(-scores, axis=1)[:, :10]
    return {k: float(np.mean([bool(set(row[:k]) & right) for row, right in zip(top, positives)])) for k in (1, 5, 10)}


def overlap(first: np.ndarray, second: np.ndarray) -> float:
    """Mean top-10 overlap of two score matrices' rankings."""
    a, b = np.argsort(-first, axis=1)[:, :10], np.argsort(-second, axis=1)[:, :10]
    return float(np.mean([len(set(x) & set(y)) / 10 for x, y in zip(a, b)]))


def ranking_rows(photos: list[Path], photo_labels: list[str], flickr: "PairSet") -> None:
    """Print recall@1/5/10 and top-10 overlap, torch against ONNX Runtime."""
    from retrieval.encoders.lite import LiteEncoder
    from retrieval.evaluation.runs import encode_files

    eager, onnx = LiteEncoder(), LiteEncoder()
    onnx.use_runtime("onnx")
    classes = sorted(set(photo_labels))
    tasks = {
        "Flickr val t2i": (flickr.images, flickr.texts, [set(t) for t in flickr.text_targets()]),
        "Caltech classes": (
            photos,
            [f"a photo of a {c.replace('_', ' ').lower()}." for c in classes],
            [{i for i, label in enumerate(photo_labels) if label == c} for c in classes],
        ),
    }
    for name, (images, texts, positives) in tasks.items():
        queries = eager.encode_texts(texts)
        scores = {e: queries @ encode_files(enc, images).T for e, enc in (("torch", eager), ("onnx", onnx))}
        first, second = recalls(scores["torch"], positives), recalls(scores["onnx"], positives)
        line = "  ".join(f"R@{k} {first[k]:.3f}/{second[k]:.3f}" for k in (1, 5, 10))
        print(f"{name:16s} torch/onnx: {line}  top-10 overlap {overlap(scores['torch'], scores['onnx']):.3f}")


def end_to_end(photos: list[Path]) -> None:
    """Index the same photos with each runtime, twice each in alternating order, and print images/s."""
    from retrieval import Engine, IndexSettings

    speeds: dict[str, list[float]] = {"torch": [], "onnx": []}
    with tempfile.TemporaryDirectory(prefix="onnx-e2e-") as tmp:
        folder = Path(tmp) / "photos"
        folder.mkdir()
        for photo in photos:
            shutil.copy2(photo, folder / f"{photo.parent.name}_{photo.name}")
        for attempt, runtime in enumerate(("torch", "onnx", "onnx", "torch")):
            report = Engine(Path(tmp) / f"db-{attempt}").index([folder], IndexSettings(runtime=runtime))
            speeds[runtime].append(report.new / report.seconds)
    torch_speed, onnx_speed = statistics.mean(speeds["torch"]), statistics.mean(speeds["onnx"])
    print(
        f"index {len(photos)} Caltech photos: torch {torch_speed:.1f}/s  onnx {onnx_speed:.1f}/s  "
        f"{onnx_speed / torch_speed:.2f}x (model load included)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--caltech", type=int, default=400, help="Caltech test-split photos to rank and index")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    os.environ["MMSEARCH_CACHE"] = tempfile.mkdtemp(prefix="onnx-cache-")
    from retrieval.encoders.efficientnet import features_module
    from retrieval.encoders.lite import LiteEncoder
    from retrieval.encoders.minilm import load_minilm
    from retrieval.media.audio import load_audio
    from retrieval.media.image import load_image
    from retrieval.train.data import read_captions, read_labels, split_last

    print("load before:", Path("/proc/loadavg").read_text().split()[:3], "torch threads", torch.get_num_threads())
    caltech, classes = read_labels(args.data / "caltech101" / "labels.csv", "test")
    step = max(1, len(caltech.images) // args.caltech)
    photos = list(caltech.images)[::step][: args.caltech]
    photo_labels = [classes[int(g)] for g in caltech.image_group[::step][: args.caltech]]
    encoder = LiteEncoder()
    pixels = torch.from_numpy(np.stack([encoder.image_transform()(load_image(p)) for p in photos[:128]]))
    tower_row("image", features_module(encoder.tower), {"pixels": pixels}, args.runs)
    tokenizer, bert = load_minilm("cpu")
    batch = tokenizer.encode_batch([f"a photo of a {c}" for c in classes])
    ids, attention = torch.tensor([e.ids for e in batch]), torch.tensor([e.attention_mask for e in batch])
    variable = {0: "batch", 1: "length"}
    tower_row("text", bert, {"ids": ids, "attention": attention}, args.runs, ids=variable, attention=variable)
    window = int(encoder.audio_sample_rate * encoder.audio_window_s)
    mel = encoder.audio_transform()
    recordings = sorted((args.data / "fsdd").rglob("*.wav"))[:64]
    waves = [load_audio(p, sample_rate=encoder.audio_sample_rate) for p in recordings]
    mels = torch.from_numpy(np.stack([mel(np.pad(w[:window], (0, max(0, window - len(w))))) for w in waves]))
    tower_row("audio", encoder.audio_tower.eval(), {"mels": mels}, args.runs)

    _, val = split_last(read_captions(args.data / "flickr8k_800" / "captions.csv"), 160)
    ranking_rows(photos, photo_labels, val)
    end_to_end(photos)
    print("load after:", Path("/proc/loadavg").read_text().split()[:3])


if __name__ == "__main__":
    main()
