"""ONNX Runtime against eager torch for the lite towers (EfficientNet-Lite image tower, MiniLM text tower,
audio tower), in one run: export each to ONNX in a temp folder, time both on the same real inputs, compare
outputs, and for the image tower the top-10 overlap of Caltech class-name queries over Caltech photos.

    .venv/bin/python -m benchmarks.onnx_runtime --images 128 --runs 3

Measurement only: nothing here is used by mmsearch (needs `onnx` for the export and `onnxruntime`).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from benchmarks.bench_cli import CALTECH, REPO

FSDD = REPO.parent / "shared" / "data" / "fsdd"


class ImageTower(torch.nn.Module):
    """The lite image tower as exported: pixels -> (pooled features, ImageNet logits)."""

    def __init__(self, tower: torch.nn.Module) -> None:
        super().__init__()
        self.tower = tower

    def forward(self, pixels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        from retrieval.encoders.efficientnet import features_and_logits

        return features_and_logits(self.tower, pixels)  # type: ignore[arg-type]


def median_seconds(run: Callable[[], object], runs: int) -> float:
    """Median wall time of `runs` calls after one warm-up."""
    run()
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def compare(name: str, module: torch.nn.Module, inputs: dict[str, torch.Tensor], folder: Path, runs: int) -> list:
    """Export `module`, time torch and ONNX Runtime on `inputs`, print the row; returns ORT's outputs."""
    import onnxruntime as ort

    path = folder / f"{name}.onnx"
    names = list(inputs)
    axes = {n: {0: "batch", **({1: "length"} if inputs[n].ndim == 2 else {})} for n in names}
    torch.onnx.export(module, tuple(inputs.values()), str(path), input_names=names, dynamic_axes=axes, dynamo=False)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    feeds = {n: t.numpy() for n, t in inputs.items()}
    with torch.inference_mode():
        expected = module(*inputs.values())
    expected = [expected] if isinstance(expected, torch.Tensor) else list(expected)
    got = session.run(None, feeds)
    diff = max(float(np.abs(g - e.numpy()).max()) for g, e in zip(got, expected))

    def eager() -> None:
        with torch.inference_mode():
            module(*inputs.values())

    torch_s, ort_s = median_seconds(eager, runs), median_seconds(lambda: session.run(None, feeds), runs)
    batch = len(next(iter(inputs.values())))
    print(
        f"{name:6s} batch {batch:4d}: torch {batch / torch_s:8.1f}/s  onnxruntime {batch / ort_s:8.1f}/s  "
        f"{torch_s / ort_s:.2f}× faster  max |diff| {diff:.2e}"
    )
    return got


def top10_overlap(image_vectors: np.ndarray, other: np.ndarray, queries: np.ndarray) -> float:
    """Mean overlap of the top-10 images per query between two sets of image vectors."""
    first = np.argsort(-queries @ image_vectors.T, axis=1)[:, :10]
    second = np.argsort(-queries @ other.T, axis=1)[:, :10]
    return float(np.mean([len(set(a) & set(b)) / 10 for a, b in zip(first, second)]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=128)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    from retrieval.encoders.lite import LiteEncoder
    from retrieval.encoders.minilm import load_minilm
    from retrieval.media.image import load_image

    print("load before:", Path("/proc/loadavg").read_text().split()[:3])
    encoder = LiteEncoder()
    classes = sorted(p for p in CALTECH.iterdir() if p.is_dir() and p.name != "BACKGROUND_Google")
    photos = [f for c in classes for f in sorted(c.glob("*.jpg"))[:2]][: args.images]
    transform = encoder.image_transform()
    pixels = torch.stack([transform(load_image(p)) for p in photos])
    with tempfile.TemporaryDirectory(prefix="onnx-runtime-") as tmp:
        folder = Path(tmp)
        image_tower = ImageTower(encoder.tower).eval()  # export restores the mode it found, recursively
        pooled, logits = compare("image", image_tower, {"pixels": pixels}, folder, args.runs)
        texts = [f"a photo of a {c.name.replace('_', ' ').lower()}" for c in classes]
        tokenizer, bert = load_minilm("cpu")
        batch = tokenizer.encode_batch(texts)
        ids = torch.tensor([e.ids for e in batch])
        compare(
            "text", bert, {"ids": ids, "attention": torch.tensor([e.attention_mask for e in batch])}, folder, args.runs
        )
        if "audio" in encoder.modalities:
            from retrieval.media.audio import load_audio

            waves = [load_audio(p, sample_rate=encoder.audio_sample_rate) for p in sorted(FSDD.rglob("*.wav"))[:64]]
            mel = encoder.audio_transform()
            window = int(encoder.audio_sample_rate * encoder.audio_window_s)
            mels = torch.stack([mel(np.pad(w[:window], (0, max(0, window - len(w))))) for w in waves])
            compare("audio", encoder.audio_tower, {"mels": mels}, folder, args.runs)
    torch_vectors = encoder.encode_image_batch(pixels)
    with torch.inference_mode():
        ort_vectors = encoder.heads.image_vectors(torch.from_numpy(pooled), torch.from_numpy(logits)).numpy()
    queries = encoder.encode_texts(texts)
    print(
        f"image top-10 overlap, {len(texts)} Caltech class queries over {len(photos)} photos: "
        f"{top10_overlap(torch_vectors, ort_vectors, queries):.3f}"
    )
    print("load after:", Path("/proc/loadavg").read_text().split()[:3])


if __name__ == "__main__":
    main()
