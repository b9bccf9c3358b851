"""End-to-end `mmsearch index` of the Caltech photos: this checkout against an earlier commit, in one run.

    .venv/bin/python -m benchmarks.index_vs_commit --baseline 61051f3 [--images 3060] [--order baseline,ours]

The baseline commit is extracted with `git archive` into a temp folder and run with the same interpreter
and packages; each side indexes the same copied photos into a fresh index in a fresh process (model
loading included), one after the other. Prints images/s of each and the ratio.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.bench_cli import CALTECH, REPO


def extract(rev: str, folder: Path) -> Path:
    """The tree of commit `rev` under `folder`."""
    folder.mkdir()
    archive = subprocess.run(["git", "archive", rev], cwd=REPO, check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(folder)], input=archive, check=True)
    return folder


def index_seconds(tree: Path, photos: Path, db: Path) -> float:
    """Wall seconds of `mmsearch index photos` run from the source tree `tree`."""
    command = [sys.executable, "-c", "from cli.app import main; main()", "index", str(photos), "--db", str(db)]
    started = time.perf_counter()
    env = {**os.environ, "PYTHONPATH": str(tree)}
    subprocess.run(command, cwd=tree, check=True, stdout=subprocess.DEVNULL, env=env)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", required=True, help="the commit to compare against")
    parser.add_argument("--images", type=int, default=3060)
    parser.add_argument("--order", default="baseline,ours")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="index-vs-commit-") as tmp:
        photos = Path(tmp) / "photos"
        photos.mkdir()
        sources = sorted(p for p in CALTECH.rglob("*.jpg") if p.parent.name != "BACKGROUND_Google")[: args.images]
        for n, source in enumerate(sources):
            (photos / f"{n:04d}_{source.parent.name}_{source.name}").write_bytes(source.read_bytes())
        trees = {"baseline": extract(args.baseline, Path(tmp) / "baseline"), "ours": REPO}
        print("load before:", Path("/proc/loadavg").read_text().split()[:3], f"{len(sources)} photos")
        speeds = {}
        for side in args.order.split(","):
            seconds = index_seconds(trees[side], photos, Path(tmp) / f"db-{side}")
            speeds[side] = len(sources) / seconds
            print(f"{side:8s} {seconds:7.1f} s  {speeds[side]:6.2f} images/s", flush=True)
        print(f"ours / baseline: {speeds['ours'] / speeds['baseline']:.2f}x")
        print("load after:", Path("/proc/loadavg").read_text().split()[:3])


if __name__ == "__main__":
    main()
