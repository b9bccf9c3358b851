"""OpenCLIP loading: a cold one-shot `mmsearch query` and an unchanged re-index, each against
`python -c "import torch, faiss"` in the same run, and the image tower's images/s by batch size.

    .venv/bin/python -m benchmarks.openclip_load --runs 3 --images 64

Two models are measured: `openclip:ARCH/random` and the same weights saved by this script as a local
safetensors checkpoint. Each is indexed once (`--images` Caltech-101 photos, end-to-end images/s printed),
then the baseline, the re-indexes and the queries alternate `--runs` times, each a fresh process; the
medians and their ratios are printed. The random init is drawn once into the user cache (its one-time cost
is printed when this run drew it). Last, the image tower alone runs on the same photos at each of `--batches`.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.bench_cli import BASELINE, CLI, REPO, pick_images, wall_time

PROBE = "import atexit, sys; atexit.register(lambda: print(sorted({'open_clip', 'torchvision'} & set(sys.modules))))"


def save_checkpoint(arch: str, path: Path) -> float:
    """Write `arch`'s random init as a safetensors checkpoint at `path`; returns the seconds it took to load
    the whole model in this process (open_clip's import included, and the one-time draw if the cache lacked it)."""
    from safetensors.torch import save_file

    from retrieval.encoders.registry import load_encoder

    started = time.perf_counter()
    encoder = load_encoder(f"openclip:{arch}/random", device="cpu")
    state = encoder.model.state_dict()
    seconds = time.perf_counter() - started
    save_file({k: v.contiguous() for k, v in state.items()}, str(path))
    return seconds


def imported_towers(db: Path, query: str) -> str:
    """Which of open_clip / torchvision a one-shot query imports (printed when the process exits)."""
    command = [sys.executable, "-c", f"{PROBE}; from cli.app import main; main()", "query", query, "--db", str(db)]
    run = subprocess.run(command, cwd=REPO, capture_output=True, text=True, check=True)
    return run.stdout.strip().splitlines()[-1]


def tower_rates(arch: str, photos: Path, batches: list[int]) -> dict[int, float]:
    """Images/s of the image tower alone (preprocessed tensors in, vectors out) at each batch size."""
    import numpy as np

    from retrieval.encoders.registry import load_encoder
    from retrieval.media.image import load_image

    encoder = load_encoder(f"openclip:{arch}/random", device="cpu")
    transform = encoder.image_transform()
    pixels = np.stack([transform(load_image(p)) for p in sorted(photos.iterdir())])
    rates = {}
    for size in batches:
        encoder.image_batch_size = size
        encoder.encode_image_batch(pixels[:size])  # warm-up
        started = time.perf_counter()
        encoder.encode_image_batch(pixels)
        rates[size] = len(pixels) / (time.perf_counter() - started)
    return rates


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="fresh processes per command")
    parser.add_argument("--images", type=int, default=64, help="photos to index")
    parser.add_argument("--arch", default="ViT-B-32")
    parser.add_argument("--query", default="a dog")
    parser.add_argument("--batches", default="16,32,64", help="image batch sizes to time")
    args = parser.parse_args()
    print("load before:", Path("/proc/loadavg").read_text().split()[:3])
    with tempfile.TemporaryDirectory(prefix="openclip-load-") as tmp:
        root = Path(tmp)
        photos = pick_images(args.images, root / "photos")
        checkpoint = root / f"{args.arch}.safetensors"
        print(f"whole random model loaded in {save_checkpoint(args.arch, checkpoint):.1f} s (in-process)")
        models = {"random": f"openclip:{args.arch}/random", "file": f"openclip:{args.arch}/{checkpoint}"}
        dbs = {name: root / f"db-{name}" for name in models}
        for name, model in models.items():
            seconds = wall_time([*CLI, "index", str(photos), "--db", str(dbs[name]), "--model", model])
            print(f"index {name}: {args.images / seconds:.1f} images/s end to end ({seconds:.1f} s)")
        times: dict[str, list[float]] = {"import torch, faiss": []}
        for _ in range(args.runs):
            times["import torch, faiss"].append(wall_time(BASELINE))
            for name, db in dbs.items():
                reindex, query = ["index", str(photos), "--db", str(db)], ["query", args.query, "--db", str(db)]
                times.setdefault(f"re-index {name}", []).append(wall_time([*CLI, *reindex]))
                times.setdefault(f"query {name}", []).append(wall_time([*CLI, *query]))
        base = statistics.median(times["import torch, faiss"])
        for label, values in times.items():
            median, each = statistics.median(values), ", ".join(f"{v:.2f}" for v in values)
            print(f"{label:24s} median {median:6.2f} s  ({each})  {median / base:.2f}×")
        print("a one-shot query imports:", imported_towers(dbs["random"], args.query))
        batches = [int(b) for b in args.batches.split(",")]
        for size, rate in tower_rates(args.arch, photos, batches).items():
            print(f"image tower, batch {size:3d}: {rate:5.1f} images/s")
    print("load after:", Path("/proc/loadavg").read_text().split()[:3])


if __name__ == "__main__":
    main()
