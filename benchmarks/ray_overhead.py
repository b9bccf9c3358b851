"""Ray's overhead: the same 3,060 Caltech images indexed by the local pipeline and by `--ray local`, in one run.

    .venv/bin/python benchmarks/ray_overhead.py [--data ../shared/data] [--batch-size 64] [--workers N]

Both runs start from an empty index with the model already loaded on the driver. The Ray run uses a local
cluster of this machine's CPUs started before its clock starts (its start-up time is printed apart); its
clock includes the embedding actors' model load, Ray Data's scheduling, the Parquet shards and their merge.
Prints images/s of each and the ratio ray/local (issue 17's target: at least 0.8).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from retrieval.encoders.registry import load_encoder
from retrieval.engine import Engine
from retrieval.types import IndexSettings


def timed_index(folder: Path, db: Path, settings: IndexSettings, model: str) -> tuple[float, int]:
    """(seconds, files indexed) of one fresh index run of `folder` into `db`."""
    engine = Engine(db)
    engine._encoder = load_encoder(model)  # loaded before the clock: we time indexing, not the driver's model load
    report = engine.index([folder], settings)
    assert report.skipped == 0, report.failures[:3]
    return report.seconds, report.new


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[1].parent / "shared" / "data")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--workers", type=int, default=None, help="embedding actors under Ray (default: 1)")
    parser.add_argument("--model", default="lite")
    args = parser.parse_args()
    folder = args.data / "caltech101" / "images"
    os.environ.setdefault("RAY_AUTH_MODE", "disabled")
    import ray

    with tempfile.TemporaryDirectory() as tmp:
        local = IndexSettings(batch_size=args.batch_size)
        local_s, local_n = timed_index(folder, Path(tmp) / "local", local, args.model)
        started = time.perf_counter()
        ray.init(address="local", include_dashboard=False, log_to_driver=False)
        startup = time.perf_counter() - started
        settings = IndexSettings(batch_size=args.batch_size, ray="local", workers=args.workers)
        try:
            ray_s, ray_n = timed_index(folder, Path(tmp) / "ray", settings, args.model)
        finally:
            ray.shutdown()
    assert ray_n == local_n
    print(f"images {local_n}, batch {args.batch_size}, cpus {os.cpu_count()}, load {os.getloadavg()[0]:.1f}")
    print(f"local     {local_n / local_s:8.1f} images/s  ({local_s:.1f} s)")
    print(f"ray local {ray_n / ray_s:8.1f} images/s  ({ray_s:.1f} s; cluster start {startup:.1f} s apart)")
    print(f"ratio ray/local {local_s / ray_s:.2f}")


if __name__ == "__main__":
    main()
