"""OpenCLIP ViT-B/32 end to end: `mmsearch index` against rclip 3.3.0 and a naive torch loop, same photos, one run.

    python3.11 -m venv /tmp/rclip-venv && /tmp/rclip-venv/bin/pip install rclip==3.3.0
    .venv/bin/python -m benchmarks.openclip_vs_rclip --rclip /tmp/rclip-venv/bin/rclip --images 1000 --rounds 2

No model hub is reachable here, so rclip is given its own architecture (open_clip's `ViT-B-32-256`, random
init, seed 0) exported by this script to the two ONNX files it loads (`visual.onnx`, `textual.onnx`, input
"input", as rclip's `model_download.py` expects) plus open_clip's BPE vocabulary, in a private
`RCLIP_DATADIR`: rclip runs its own code, only its weights are random, and speed does not depend on them.

Each round runs three fresh processes, each from nothing to a vector for every photo, in turn:
- rclip: index the folder (its default batch of 8, ONNX Runtime on all cores) and answer one text query;
- ours: `mmsearch index --model openclip:ViT-B-32/random` into a new index (the random init cached once),
  as shipped (bf16 autocast where the CPU multiplies bf16: AVX-512 BF16) and again with `MMSEARCH_CPU_BF16=0` (fp32);
- naive: one process that builds open_clip's ViT-B-32, then opens, preprocesses and encodes the photos
  in batches of 32 (torch on all cores).
Model loading is inside every figure. FLOPs: ViT-B/32 at 256 px runs 65 tokens where 224 px runs 50, so
rclip's tower does about 1.30x the work of ours and of the naive loop per image.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.bench_cli import CLI, REPO, pick_images
from retrieval.encoders.base import CPU_BF16_ENV

RCLIP_MODEL_DIR = "ViT-B-32-256-datacomp_s34b_b86k"
TOKEN_RATIO = 65 / 50
NAIVE = """
import pathlib, sys
import open_clip, torch
from PIL import Image
model, _, preprocess = open_clip.create_model_and_transforms("ViT-B-32", pretrained=None)
model.eval()
files = sorted(pathlib.Path(sys.argv[1]).iterdir())
with torch.no_grad():
    for start in range(0, len(files), 32):
        model.encode_image(torch.stack([preprocess(Image.open(f).convert("RGB")) for f in files[start : start + 32]]))
"""


def export_rclip_models(datadir: Path) -> None:
    """Write rclip's model files for a random-init ViT-B-32-256 into `datadir` (rclip's RCLIP_DATADIR)."""
    import open_clip
    import torch

    torch.manual_seed(0)
    model = open_clip.create_model("ViT-B-32-256", pretrained=None).eval()
    target = datadir / RCLIP_MODEL_DIR
    target.mkdir(parents=True, exist_ok=True)

    class Tower(torch.nn.Module):
        def __init__(self, encode) -> None:
            super().__init__()
            self.model, self.encode = model, encode

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.encode(x)

    examples = {
        "visual.onnx": (Tower(model.encode_image), torch.zeros(1, 3, 256, 256)),
        "textual.onnx": (Tower(model.encode_text), torch.zeros(1, 77, dtype=torch.long)),
    }
    torch.backends.mha.set_fastpath_enabled(False)
    with torch.no_grad():
        for name, (tower, example) in examples.items():
            torch.onnx.export(
                tower,
                (example,),
                str(target / name),
                input_names=["input"],
                output_names=["output"],
                dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}},
                opset_version=17,
                dynamo=False,
            )
    vocab = Path(open_clip.__file__).parent / "bpe_simple_vocab_16e6.txt.gz"
    (datadir / "tokenizer").mkdir(exist_ok=True)
    shutil.copyfile(vocab, datadir / "tokenizer" / vocab.name)


def timed(command: list[str], cwd: Path, env: dict[str, str] | None = None) -> float:
    """Seconds `command` takes in a fresh process (fails loudly)."""
    start = time.perf_counter()
    run = subprocess.run(command, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if run.returncode:
        raise RuntimeError(f"{' '.join(command)} failed:\n{run.stderr[-2000:]}")
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.openclip_vs_rclip", description=__doc__.splitlines()[0])
    parser.add_argument("--rclip", type=Path, required=True, help="the rclip executable (in its own venv)")
    parser.add_argument("--images", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        photos = pick_images(args.images, work / "photos")
        started = time.perf_counter()
        export_rclip_models(work / "rclip")
        print(f"rclip model files exported in {time.perf_counter() - started:.1f} s; {args.images} photos")
        env = {**os.environ, "RCLIP_DATADIR": str(work / "rclip")}
        ours_command = [*CLI, "index", str(photos), "--model", "openclip:ViT-B-32/random"]
        timed([*ours_command, "--db", str(work / "warm")], REPO)  # draws and caches the random init once
        rates: dict[str, list[float]] = {"rclip": [], "ours": [], "ours fp32": [], "naive": []}
        fp32 = {**os.environ, CPU_BF16_ENV: "0"}
        for round_ in range(args.rounds):
            (work / "rclip" / "db.sqlite3").unlink(missing_ok=True)
            seconds = {
                "rclip": timed([str(args.rclip), "-f", "-t", "1", "a dog"], photos, env),
                "ours": timed([*ours_command, "--db", str(work / f"db{round_}")], REPO),
                "ours fp32": timed([*ours_command, "--db", str(work / f"fp32-{round_}")], REPO, fp32),
                "naive": timed([sys.executable, "-c", NAIVE, str(photos)], REPO),
            }
            for name, value in seconds.items():
                rates[name].append(args.images / value)
            line = ", ".join(f"{n} {args.images / s:.1f} images/s ({s:.1f} s)" for n, s in seconds.items())
            print(f"round {round_ + 1}: {line}", flush=True)
    median = {name: statistics.median(values) for name, values in rates.items()}
    print(", ".join(f"{name} {value:.1f} images/s" for name, value in median.items()) + " (medians)")
    for name in ("ours", "ours fp32"):
        versus_rclip = median[name] / median["rclip"]
        print(
            f"{name}: {versus_rclip:.2f}x rclip (per FLOP {versus_rclip / TOKEN_RATIO:.2f}x; rclip does "
            f"{TOKEN_RATIO:.2f}x the FLOPs per image), {median[name] / median['naive']:.2f}x the naive loop"
        )


if __name__ == "__main__":
    main()
