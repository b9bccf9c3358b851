"""Caltech-101 class names as text queries against an index of the Caltech images.

    .venv/bin/mmsearch index ../shared/data/caltech101/images --db /tmp/caltech-db
    .venv/bin/python benchmarks/caltech_queries.py --db /tmp/caltech-db

For each of the 102 folder names (cleaned: `Faces_easy` -> "face", `car_side` -> "car"), the query
is the plain class name; a hit is a top-5 result from that class's folder. Also reports warm
single-query latency (text encoding + search + catalog rows) over all queries after one warm-up.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from retrieval.engine import Engine
from retrieval.query.prompts import clean_label


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, required=True)
    parser.add_argument("-k", type=int, default=5)
    args = parser.parse_args()
    engine = Engine(args.db)
    folders = sorted({Path(h.path).parent.name for h in engine.search("a photo", k=100_000)})
    engine.search("warm up", k=args.k)
    hits, latencies, misses = 0, [], []
    for folder in folders:
        started = time.perf_counter()
        results = engine.search(clean_label(folder), k=args.k)
        latencies.append(time.perf_counter() - started)
        found = any(Path(r.path).parent.name == folder for r in results)
        hits += found
        if not found:
            misses.append(folder)
    ms = sorted(1000 * t for t in latencies)
    rate = hits / len(folders)
    print(f"model {engine.info().model_id}: top-{args.k} class hit rate {hits}/{len(folders)} = {rate:.3f}")
    print(f"warm query latency: p50 {statistics.median(ms):.1f} ms, p95 {ms[int(0.95 * (len(ms) - 1))]:.1f} ms")
    print(f"misses: {', '.join(misses)}")


if __name__ == "__main__":
    main()
