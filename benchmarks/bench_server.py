"""HTTP serving vs in-process search, concurrent load (with and without an indexer), thumbnail cache.

    .venv/bin/python benchmarks/bench_server.py [--data ../shared/data] [--seconds 30] [--clients 8]

Builds an index of Caltech-101 test images (+ Flickr8k captions) in a temp folder, starts
`mmsearch serve` on a free port, and prints every figure measured in this one run.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parent.parent
QUERIES = [
    "an airplane",
    "a dolphin jumping",
    "a slice of pizza",
    "a laptop on a desk",
    "a sunflower",
    "a wrist watch",
    "an elephant",
    "a red chair",
    "a motorbike",
    "a crab on the sand",
]


def pct(values: list[float], q: float) -> float:
    """The q-quantile of `values`, in milliseconds."""
    return statistics.quantiles(values, n=100)[int(q * 100) - 1] * 1000


def timed(fn) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def load(url: str, clients: int, seconds: float) -> tuple[float, float, int]:
    """(requests/s, p95 ms, errors) of `clients` threads querying for `seconds`."""
    latencies: list[float] = []
    errors = [0]
    deadline = time.monotonic() + seconds

    def client(n: int) -> None:
        with httpx.Client(timeout=30) as http:
            i = n
            while time.monotonic() < deadline:
                started = time.perf_counter()
                ok = http.get(f"{url}/api/search", params={"q": QUERIES[i % len(QUERIES)], "k": 20}).status_code == 200
                latencies.append(time.perf_counter() - started)
                errors[0] += not ok
                i += 1

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return len(latencies) / seconds, pct(latencies, 0.95), errors[0]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument(
        "--data", type=Path, default=Path(os.environ.get("MMSEARCH_DATA", REPO.parent / "shared" / "data"))
    )
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--clients", type=int, default=8)
    args = parser.parse_args()
    sys.path.insert(0, str(REPO))
    from retrieval import Engine

    work = Path(tempfile.mkdtemp(prefix="bench-server-"))
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    script = Path(sys.executable).with_name("mmsearch")
    images = args.data / "caltech101" / "images"
    first = [p for p in sorted(images.iterdir()) if p.is_dir()][:20]
    later = [p for p in sorted(images.iterdir()) if p.is_dir()][20:30]
    for folder, into in [(f, work / "media" / f.name) for f in first] + [(f, work / "later" / f.name) for f in later]:
        shutil.copytree(folder, into)
    db = work / "db"
    engine = Engine(db)
    engine.index([work / "media"], captions=[args.data / "flickr8k_800" / "captions.csv"])
    print("index:", engine.info().counts)

    process = subprocess.Popen(
        [str(script), "serve", "--db", str(db), "--port", "0"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    url = process.stdout.readline().split()[1]  # type: ignore[union-attr]
    # keep reading the access log: a full pipe would block the server's event loop on its next log line
    threading.Thread(target=process.stdout.read, daemon=True).start()  # type: ignore[union-attr]
    try:
        for q in QUERIES:
            engine.search(q, k=20)
        local = [timed(lambda q=q: engine.search(q, k=20)) for _ in range(10) for q in QUERIES]
        with httpx.Client() as http:
            remote = [
                timed(lambda q=q: http.get(f"{url}/api/search", params={"q": q, "k": 20}).raise_for_status())
                for _ in range(10)
                for q in QUERIES
            ]
        p50_local, p50_http = pct(local, 0.5), pct(remote, 0.5)
        print(f"in-process Engine.search k=20: p50 {p50_local:.1f} ms  p95 {pct(local, 0.95):.1f} ms")
        print(f"HTTP /api/search k=20:         p50 {p50_http:.1f} ms  p95 {pct(remote, 0.95):.1f} ms")
        print(
            f"HTTP p50 / in-process p50 = {p50_http / p50_local:.2f}x; target <= 1.3x + 5 ms = "
            f"{1.3 * p50_local + 5:.1f} ms: {'met' if p50_http <= 1.3 * p50_local + 5 else 'NOT met'}"
        )

        rps, p95, errors = load(url, args.clients, args.seconds)
        print(f"{args.clients} clients, {args.seconds:g} s: {rps:.1f} req/s  p95 {p95:.0f} ms  errors {errors}")
        indexer = subprocess.Popen(
            [str(script), "index", str(work / "later"), "--db", str(db)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        rps, p95, errors = load(url, args.clients, args.seconds)
        still = indexer.poll() is None
        indexer.wait()
        print(
            f"{args.clients} clients, {args.seconds:g} s, with `mmsearch index` of {len(later)} folders running "
            f"({'the whole time' if still else 'finished inside the window'}): "
            f"{rps:.1f} req/s  p95 {p95:.0f} ms  errors {errors}"
        )

        ids = [h.id for h in engine.search("a photo", k=100, modality="image")]
        shutil.rmtree(db / "thumbnails", ignore_errors=True)
        with httpx.Client() as http:
            cold = [timed(lambda i=i: http.get(f"{url}/api/items/{i}/thumbnail").raise_for_status()) for i in ids]
            warm = [timed(lambda i=i: http.get(f"{url}/api/items/{i}/thumbnail").raise_for_status()) for i in ids]
        print(
            f"thumbnail ({len(ids)} images): first request p50 {pct(cold, 0.5):.1f} ms p95 {pct(cold, 0.95):.1f} ms; "
            f"cached p50 {pct(warm, 0.5):.1f} ms p95 {pct(warm, 0.95):.1f} ms"
        )
    finally:
        process.terminate()
        process.wait()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
