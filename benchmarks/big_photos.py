"""Phone-sized photos: `mmsearch index` of 12-MP JPEGs against the naive loop, same model, one run.

    .venv/bin/python -m benchmarks.big_photos [--photos 400] [--folder /tmp/mmsearch-12mp] [--data ../shared/data]

The set is made here (never committed): Flickr8k photos upscaled to 4032 x 3024 (12.2 MP, as phones shoot),
JPEG quality 92; every fourth is stored turned a quarter with EXIF orientation 6 (a phone held upright), so
it displays as the original. It is kept in `--folder` for the next run.

- ours: `Engine.index` of the folder in a fresh process (model loaded before the clock), the default settings;
- naive: in this process, for each photo `Image.open`, `exif_transpose`, `convert("RGB")`, then the encoder's
  `encode_images` in batches of 32, the loop a user writes with the library.
Also the decode alone: Pillow's full decode against ours (`decode_image`, JPEG draft mode).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from PIL import Image, ImageOps

from benchmarks.bench_cli import REPO

SIZE = (4032, 3024)
ROTATED_EVERY = 4


def make_set(folder: Path, data: Path, count: int) -> list[Path]:
    """`count` 12-MP JPEGs in `folder` (made once, reused when present)."""
    folder.mkdir(parents=True, exist_ok=True)
    sources = sorted((data / "flickr8k_800" / "images").glob("*.jpg"))[:count]
    if len(sources) < count:
        raise SystemExit(f"only {len(sources)} Flickr photos under {data}")
    out = []
    for n, source in enumerate(sources):
        target = folder / f"{n:04d}_{source.name}"
        out.append(target)
        if target.exists():
            continue
        with Image.open(source) as opened:
            photo = opened.convert("RGB")
        landscape = photo.width >= photo.height
        big = photo.resize(SIZE if landscape else SIZE[::-1], Image.Resampling.BICUBIC)
        exif = Image.Exif()
        if n % ROTATED_EVERY == 0:  # stored turned; orientation 6 turns it back when displayed
            big = big.transpose(Image.Transpose.ROTATE_90)
            exif[0x0112] = 6
        big.save(target, "JPEG", quality=92, exif=exif)
    return out


def ours(folder: Path, db: Path) -> float:
    """Seconds of `Engine.index` of `folder` in a fresh process, the model loaded before the clock."""
    code = (
        "import sys, time\n"
        "from retrieval.engine import Engine\n"
        "engine = Engine(sys.argv[2]); engine.encoder\n"
        "start = time.perf_counter(); engine.index([sys.argv[1]]); print(time.perf_counter() - start)\n"
    )
    done = subprocess.run([sys.executable, "-c", code, str(folder), str(db)], capture_output=True, text=True, cwd=REPO)
    if done.returncode:
        raise SystemExit(done.stderr)
    return float(done.stdout.strip().splitlines()[-1])


def naive(photos: list[Path]) -> float:
    """Seconds of the plain loop: full decode, orientation, RGB, `encode_images` in batches of 32."""
    from retrieval.encoders.registry import load_encoder

    encoder = load_encoder("lite")
    start = time.perf_counter()
    batch: list[Image.Image] = []
    for path in photos:
        with Image.open(path) as opened:
            batch.append(ImageOps.exif_transpose(opened).convert("RGB"))
        if len(batch) == 32:
            encoder.encode_images(batch)
            batch = []
    if batch:
        encoder.encode_images(batch)
    return time.perf_counter() - start


def decode_only(photos: list[Path]) -> dict[str, float]:
    """Seconds per photo: Pillow's full decode against `decode_image` with JPEG draft mode (224 px model)."""
    from retrieval.media.image import decode_image

    start = time.perf_counter()
    for path in photos:
        with Image.open(path) as opened:
            ImageOps.exif_transpose(opened).convert("RGB")
    full = (time.perf_counter() - start) / len(photos)
    start = time.perf_counter()
    for path in photos:
        decode_image(path, str(path), draft_size=224)
    draft = (time.perf_counter() - start) / len(photos)
    return {"full_decode_s": full, "draft_decode_s": draft, "decode_ratio": full / draft}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=400)
    parser.add_argument("--folder", type=Path, default=Path("/tmp/mmsearch-12mp"))
    parser.add_argument(
        "--data", type=Path, default=Path(os.environ.get("MMSEARCH_DATA", REPO.parent / "shared" / "data"))
    )
    args = parser.parse_args()
    photos = make_set(args.folder / "photos", args.data, args.photos)
    db = args.folder / "db"
    subprocess.run(["rm", "-rf", str(db)], check=True)
    load = Path("/proc/loadavg").read_text().split()[:3]
    ours_s = ours(args.folder / "photos", db)
    naive_s = naive(photos)
    result = {
        "photos": len(photos),
        "ours_images_per_s": len(photos) / ours_s,
        "naive_images_per_s": len(photos) / naive_s,
        "ours_vs_naive": naive_s / ours_s,
        **decode_only(photos[:40]),
        "load_before": load,
        "load_after": Path("/proc/loadavg").read_text().split()[:3],
    }
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
