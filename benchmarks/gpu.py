"""GPU images/s end to end on real JPEGs: nvJPEG batch decode, resize on the GPU, fp16, streams (issue 13).

    .venv/bin/python -m benchmarks.gpu [--images 20000] [--big 400] [--batch 256]     # on a CUDA machine
    .venv/bin/python -m benchmarks.gpu --device cpu --images 64 --big 4 --batch 16    # plumbing check, no GPU

For each model (`openclip:ViT-B-32/random` and `lite`) and each photo set (the Caltech photos repeated to
`--images`, and `--big` 12-MP JPEGs made by `benchmarks.big_photos`), it prints images/s of:
- ceiling: the image tower alone on preprocessed fp16 batches already on the device;
- gpu decode: file bytes read by threads into pinned memory, `torchvision.io.decode_jpeg(list, device=...)`
  (nvJPEG on CUDA), resize of the short side with antialiasing, centre crop and normalisation on the GPU,
  then the tower in fp16; decode and encode on two CUDA streams, one batch apart;
- cpu decode: the shipped pipeline (`Engine.index`, Pillow decode threads or workers, the tower on the device);
- the decode share: seconds of gpu decode alone over those of the gpu-decode pipeline,
and the lowest cosine between GPU-preprocessed and Pillow-preprocessed vectors of the first 64 photos of the
last set (the 12-MP one, EXIF-turned photos among them; the lite model has real weights, so its figure means
something). Targets: ViT-B/32 >= 2,500 and lite >= 5,000 images/s
end to end on one A100-class GPU.
"""

from __future__ import annotations

import argparse
import contextlib
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from benchmarks.bench_cli import REPO
from benchmarks.bench_index import make_folder
from benchmarks.big_photos import make_set
from retrieval.encoders.pixel_transform import ResizeCropTransform

MODELS = ("openclip:ViT-B-32/random", "lite")


def tower_of(model: str, device: str) -> tuple[Callable, ResizeCropTransform]:
    """(fp16-on-CUDA pixels (N, 3, H, W) on `device` -> image features, the model's own evaluation transform)."""
    import torch

    from retrieval.encoders.registry import load_encoder

    encoder = load_encoder(model, device=device)
    transform = evaluation_transform(encoder)
    dtype = torch.float16 if device.startswith("cuda") else torch.float32
    if model == "lite":
        from retrieval.encoders.efficientnet import features_and_logits

        tower = encoder.tower.to(device=device, dtype=dtype).eval()
        return (lambda pixels: features_and_logits(tower, pixels)[0]), transform
    return encoder.model.visual.to(device=device, dtype=dtype).eval(), transform


def evaluation_transform(encoder) -> ResizeCropTransform:
    """The encoder's Pillow transform, whose sizes, mean and std the GPU preprocessing repeats in tensors."""
    transform = encoder.image_transform()
    if not isinstance(transform, ResizeCropTransform):
        raise SystemExit(f"benchmarks.gpu: {encoder.model_id} has no standard transform to run on the GPU")
    return transform


def photo_sets(data: Path, images: int, big: int, work: Path) -> dict[str, tuple[Path, list[Path]]]:
    """{label: (folder, its JPEGs)}: the Caltech photos copied (each copy's bytes made unique, so the index
    embeds every one) until there are at least `images`, and `big` 12-MP JPEGs."""
    source = data / "caltech101" / "images"
    photos = sorted(source.rglob("*.jpg"))
    if images < len(photos):  # a plumbing check: the first `images` photos once
        (work / "caltech").mkdir()
        subset = [Path(shutil.copy(p, work / "caltech" / f"{n:05d}.jpg")) for n, p in enumerate(photos[:images])]
        sets = {f"caltech {images}": (work / "caltech", subset)}
    else:
        copies = -(-images // len(photos))
        sets = {f"caltech x{copies}": (work / "caltech", make_folder(source, work / "caltech", copies))}
    if big:
        sets["12 MP"] = (work / "12mp", make_set(work / "12mp", data, big))
    return sets


def read_pinned(paths: list[Path], pool: ThreadPoolExecutor) -> list:
    """The files' bytes as uint8 tensors in pinned memory (what nvJPEG reads from)."""
    import torch

    def read(path: Path) -> torch.Tensor:
        raw = torch.frombuffer(bytearray(path.read_bytes()), dtype=torch.uint8)
        return raw.pin_memory() if torch.cuda.is_available() else raw

    return list(pool.map(read, paths))


def gpu_batch(encoded: list, prep: ResizeCropTransform, device: str):
    """Decode (nvJPEG on CUDA), resize, crop and normalise one batch on `device`: (N, 3, crop, crop) fp16/fp32."""
    import torch
    from torchvision.io import ImageReadMode, decode_jpeg
    from torchvision.transforms.v2 import functional as F

    dtype = torch.float16 if device.startswith("cuda") else torch.float32
    decoded = decode_jpeg(encoded, mode=ImageReadMode.RGB, device=device, apply_exif_orientation=True)
    mean = torch.tensor(prep.mean, device=device, dtype=dtype).view(3, 1, 1)
    std = torch.tensor(prep.std, device=device, dtype=dtype).view(3, 1, 1)
    out = []
    for image in decoded:
        short_side = int(round(prep.image_size / prep.crop_pct))
        image = F.resize(image, [short_side], interpolation=F.InterpolationMode.BICUBIC, antialias=True)
        image = F.center_crop(image, [prep.image_size])
        out.append((image.to(dtype) / 255 - mean) / std)
    return torch.stack(out)


def batches(paths: list[Path], size: int) -> Iterator[list[Path]]:
    for start in range(0, len(paths), size):
        yield paths[start : start + size]


def synchronize(device: str) -> None:
    import torch

    if device.startswith("cuda"):
        torch.cuda.synchronize()


def gpu_pipeline(
    paths: list[Path], tower: Callable, prep: ResizeCropTransform, device: str, size: int
) -> tuple[float, float]:
    """(images/s end to end, images/s of decode alone): bytes read ahead by threads, decode on one stream,
    the tower on another, one batch apart."""
    import torch

    cuda = device.startswith("cuda")
    decode_stream, encode_stream = (torch.cuda.Stream(), torch.cuda.Stream()) if cuda else (None, None)
    with ThreadPoolExecutor(8) as pool, torch.inference_mode():
        chunks = list(batches(paths, size))
        started = time.perf_counter()
        for chunk in chunks:
            gpu_batch(read_pinned(chunk, pool), prep, device)
        synchronize(device)
        decode_rate = len(paths) / (time.perf_counter() - started)

        started = time.perf_counter()
        pending = pool.submit(read_pinned, chunks[0], pool)
        previous = None
        for n in range(len(chunks)):
            encoded = pending.result()
            if n + 1 < len(chunks):
                pending = pool.submit(read_pinned, chunks[n + 1], pool)
            with on_stream(decode_stream):
                pixels = gpu_batch(encoded, prep, device)
            if previous is not None:
                with on_stream(encode_stream):
                    tower(previous)
            if encode_stream is not None and decode_stream is not None:
                encode_stream.wait_stream(decode_stream)
            previous = pixels
        with on_stream(encode_stream):
            tower(previous)
        synchronize(device)
        return len(paths) / (time.perf_counter() - started), decode_rate


def on_stream(stream) -> contextlib.AbstractContextManager:
    """Work queued on CUDA `stream` (nothing on the CPU)."""
    import torch

    return torch.cuda.stream(stream) if stream is not None else contextlib.nullcontext()


def ceiling(paths: list[Path], tower: Callable, prep: ResizeCropTransform, device: str, size: int) -> float:
    """Images/s of the tower alone on one preprocessed batch, repeated to cover `paths`."""
    import torch

    with ThreadPoolExecutor(8) as pool, torch.inference_mode():
        pixels = gpu_batch(read_pinned(paths[:size], pool), prep, device)
        tower(pixels)
        synchronize(device)
        started = time.perf_counter()
        for _ in range(max(1, len(paths) // len(pixels))):
            tower(pixels)
        synchronize(device)
        return max(1, len(paths) // len(pixels)) * len(pixels) / (time.perf_counter() - started)


def shipped(folder: Path, model: str, device: str, size: int, db: Path) -> float:
    """Images/s of `Engine.index` of `folder` (Pillow decode) on `device`, the model loaded before the clock."""
    from retrieval.encoders.registry import load_encoder
    from retrieval.engine import Engine
    from retrieval.types import IndexSettings

    shutil.rmtree(db, ignore_errors=True)
    engine = Engine(db)
    engine._encoder = load_encoder(model, device=device)
    report = engine.index([folder], IndexSettings(batch_size=size))
    return report.new / report.seconds


def agreement(paths: list[Path], model: str, device: str) -> float:
    """Lowest cosine between vectors of GPU-preprocessed and Pillow-preprocessed photos (first 64)."""
    import torch

    from retrieval.encoders.registry import load_encoder
    from retrieval.media.image import load_image

    encoder = load_encoder(model, device=device)
    sample = paths[:64]
    pillow = encoder.encode_images([load_image(p) for p in sample])
    with ThreadPoolExecutor(8) as pool, torch.inference_mode():
        pixels = gpu_batch(read_pinned(sample, pool), evaluation_transform(encoder), device).float().cpu().numpy()
    tensor = encoder.encode_image_batch(np.ascontiguousarray(pixels))
    return float((pillow * tensor).sum(axis=1).min())


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.gpu", description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--images", type=int, default=20000)
    parser.add_argument("--big", type=int, default=400)
    parser.add_argument("--batch", type=int, default=256)
    args = parser.parse_args()
    import torch

    if args.device.startswith("cuda") and not torch.cuda.is_available():
        raise SystemExit("benchmarks.gpu: no CUDA device here (use --device cpu for a plumbing check)")
    name = torch.cuda.get_device_name() if args.device.startswith("cuda") else "cpu"
    print(f"device {name}, torch {torch.__version__}, batch {args.batch}")
    print(f"{'model':28} {'photos':12} {'ceiling/s':>10} {'gpu dec/s':>10} {'cpu dec/s':>10} {'decode share':>12}")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        sets = photo_sets(args.data, args.images, args.big, work)
        for model in MODELS:
            tower, prep = tower_of(model, args.device)
            for label, (folder, paths) in sets.items():
                top = ceiling(paths, tower, prep, args.device, args.batch)
                end_to_end, decode_only = gpu_pipeline(paths, tower, prep, args.device, args.batch)
                cpu = shipped(folder, model, args.device, args.batch, work / "db")
                share = end_to_end / decode_only
                print(f"{model:28} {label:12} {top:>10.0f} {end_to_end:>10.0f} {cpu:>10.0f} {share:>12.2f}", flush=True)
            print(f"{model}: GPU vs Pillow preprocessing, lowest cosine {agreement(paths, model, args.device):.4f}")


if __name__ == "__main__":
    main()
