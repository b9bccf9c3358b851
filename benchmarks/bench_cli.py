"""Cold start: wall time of a fresh `mmsearch query` process against `python -c "import torch, faiss"` and
`python -c "import faiss"` (the floor once a query runs without torch).

    .venv/bin/python -m benchmarks.bench_cli --runs 7 --profile

The script first indexes `--images` Caltech-101 images (airplanes first) and two captions
into a temporary folder, then alternates the three commands `--runs` times, each in a fresh process, and
prints the medians and ratios. With `--profile` it also runs the query once under `python -X importtime` and
lists the slowest top-level imports.
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

REPO = Path(__file__).resolve().parents[1]
CALTECH = REPO.parent / "shared" / "data" / "caltech101" / "images"
CLI = [sys.executable, "-c", "from cli.app import main; main()"]
BASELINE = [sys.executable, "-c", "import torch, faiss"]
FAISS_ONLY = [sys.executable, "-c", "import faiss"]


def pick_images(count: int, folder: Path) -> Path:
    """Copy `count` Caltech-101 images (airplanes first, then other classes) into `folder`."""
    classes = [CALTECH / "airplanes"] + sorted(p for p in CALTECH.iterdir() if p.name != "airplanes")
    sources = [f for c in classes if c.is_dir() for f in sorted(c.glob("*.jpg"))][:count]
    folder.mkdir(parents=True)
    for n, source in enumerate(sources):
        shutil.copyfile(source, folder / f"{n:03d}_{source.parent.name}_{source.name}")  # scans skip links
    return folder


def wall_time(command: list[str]) -> float:
    """Seconds for `command` to run to completion in a fresh process (fails loudly on error)."""
    start = time.perf_counter()
    run = subprocess.run(command, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if run.returncode:
        raise RuntimeError(f"{' '.join(command)} failed:\n{run.stderr}")
    return time.perf_counter() - start


def slowest_imports(command: list[str], top: int) -> list[tuple[float, str, str]]:
    """(cumulative s, package, importer) of the `top` slowest packages `command` imports.

    Each package is counted once, where it is first imported (its time includes what it imports
    in turn); the importer is the enclosing import seen by `python -X importtime`.
    """
    run = subprocess.run(
        [command[0], "-X", "importtime", *command[1:]],
        cwd=REPO,
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines = [line.split("|") for line in run.stderr.splitlines() if line.startswith("import time:")]
    parsed = [(int(cum), name.rstrip()) for _, cum, name in lines if cum.strip().isdigit()]
    found = []
    for n, (cumulative, name) in enumerate(parsed):  # importtime lists children before their parent
        depth = len(name) - len(name.lstrip())
        module = name.strip()
        if "." in module:
            continue
        parent = next((p.strip() for _, p in parsed[n + 1 :] if len(p) - len(p.lstrip()) < depth), "(top level)")
        found.append((cumulative / 1e6, module, parent))
    return sorted(found, reverse=True)[:top]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7, help="fresh processes per command")
    parser.add_argument("--images", type=int, default=50, help="images to index first")
    parser.add_argument("--query", default="a cat")
    parser.add_argument("--profile", action="store_true", help="also list the slowest imports")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        images = pick_images(args.images, Path(tmp) / "images")
        captions = Path(tmp) / "captions.txt"
        captions.write_text("a cat sleeping on a sofa\nan airplane on the runway\n", encoding="utf-8")
        db = Path(tmp) / "db"
        index = [*CLI, "index", str(images), "--captions", str(captions), "--db", str(db)]
        print(f"indexed {args.images} images and 2 captions in {wall_time(index):.1f} s")
        query = [*CLI, "query", args.query, "--db", str(db)]
        wall_time(query)  # warm the page cache for both commands
        wall_time(BASELINE)
        loads, queries, baselines, floors = [], [], [], []
        for _ in range(args.runs):
            loads.append(os.getloadavg()[0])
            baselines.append(wall_time(BASELINE))
            floors.append(wall_time(FAISS_ONLY))
            queries.append(wall_time(query))
        base, floor, cold = statistics.median(baselines), statistics.median(floors), statistics.median(queries)
        print(
            f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {os.cpu_count()} CPUs, "
            f"load {min(loads):.2f}-{max(loads):.2f}, {args.runs} interleaved runs each"
        )
        print("| command | median s | runs (s) |\n|---|---|---|")
        print(f'| python -c "import torch, faiss" | {base:.2f} | {" ".join(f"{t:.2f}" for t in baselines)} |')
        print(f'| python -c "import faiss" | {floor:.2f} | {" ".join(f"{t:.2f}" for t in floors)} |')
        print(f'| mmsearch query "{args.query}" --db DB | {cold:.2f} | {" ".join(f"{t:.2f}" for t in queries)} |')
        print(f"ratio query / import torch, faiss: {cold / base:.2f}x; query / import faiss: {cold / floor:.2f}x")
        if args.profile:
            print("\nslowest packages imported by the query (python -X importtime, cumulative s, first importer):")
            for seconds, name, parent in slowest_imports(query, 15):
                print(f"  {seconds:6.2f}  {name:<24} {parent}")


if __name__ == "__main__":
    main()
