"""Search at scale: exact `Flat` against the `auto` index choice (and alternatives) on 384-d vectors.

    .venv/bin/python -m benchmarks.bench_search --sizes 100000,1000000 --queries 1000

Data set. Real MiniLM embeddings of the Flickr8k captions (shared/data) are shuffled; the
first `--queries` of them (at most half) are the queries, the rest are cluster centres. Each
synthetic vector is `normalize(centre + sigma * g / sqrt(dim))` with `g` standard normal and a
uniformly drawn centre, rounded through float16 as the catalog stores it. `--sigma 0.45` puts
the queries' top-1 cosines near those they have against the real captions (both are printed).

Besides `auto`, the compressed tier that `auto` picks for memory-bound sizes is measured at
every size, plus `--alternatives` (HNSW32 by default). Each index is built with
`FaissStore.build` (as `mmsearch index` does); the script measures recall@10 against exact
search, batched queries/s, warm single-query p50/p95 latency, bytes per vector on disk and build
time, and prints the auto/exact ratios.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import faiss
import numpy as np

from indexes.choose import choose_index_type, compressed_index_type
from indexes.faiss_store import NPROBE, FaissStore

CAPTIONS = Path(__file__).resolve().parents[2] / "shared" / "data" / "flickr8k_800" / "captions.csv"
K = 10


@dataclass(frozen=True)
class Row:
    """One measured configuration."""

    size: int
    name: str
    factory: str
    nprobe: int | None
    recall_at_10: float
    queries_per_s: float
    p50_ms: float
    p95_ms: float
    bytes_per_vector: float
    build_s: float


def caption_embeddings(path: Path, cache: Path) -> np.ndarray:
    """MiniLM embeddings (dim 384, unit norm) of every caption in the Flickr8k CSV, cached in `cache`."""
    if cache.exists() and cache.stat().st_mtime > path.stat().st_mtime:
        return np.load(cache)
    from retrieval.encoders.minilm import encode_minilm

    with path.open(newline="", encoding="utf-8") as handle:
        texts = [row["caption"] for row in csv.DictReader(handle)]
    vectors = encode_minilm(texts)
    cache.parent.mkdir(parents=True, exist_ok=True)
    np.save(cache, vectors)
    return vectors


def clustered(centres: np.ndarray, n: int, sigma: float, seed: int) -> np.ndarray:
    """`n` unit vectors: normalize(random centre + sigma * N(0, I/dim)), rounded through float16."""
    rng = np.random.default_rng(seed)
    dim = centres.shape[1]
    out = np.empty((n, dim), dtype=np.float32)
    for start in range(0, n, 100_000):
        stop = min(n, start + 100_000)
        chunk = centres[rng.integers(len(centres), size=stop - start)]
        chunk += rng.standard_normal(chunk.shape, dtype=np.float32) * (sigma / np.sqrt(dim))
        chunk /= np.linalg.norm(chunk, axis=1, keepdims=True)
        out[start:stop] = chunk.astype(np.float16)
    return out


def measure(
    store: FaissStore, queries: np.ndarray, nprobe: int, latency_queries: int
) -> tuple[float, float, float, np.ndarray]:
    """(queries/s batched, p50 ms, p95 ms, ids of the batched top-k)."""
    store.search(queries[:8], K, nprobe=nprobe)  # warm-up
    start = time.perf_counter()
    _, ids = store.search(queries, K, nprobe=nprobe)
    qps = len(queries) / (time.perf_counter() - start)
    times = []
    for row in queries[:latency_queries]:
        start = time.perf_counter()
        store.search(row[None, :], K, nprobe=nprobe)
        times.append((time.perf_counter() - start) * 1000)
    return qps, float(np.percentile(times, 50)), float(np.percentile(times, 95)), ids


def recall(found: np.ndarray, truth: np.ndarray) -> float:
    """Mean fraction of the exact top-k found."""
    return float(np.mean([len(set(f) & set(t)) / K for f, t in zip(found, truth)]))


def disk_bytes(store: FaissStore, folder: Path) -> int:
    """Size of the saved index file (what `mmsearch index` writes)."""
    path = folder / "bench.faiss"
    store.save(path)
    size = path.stat().st_size
    path.unlink()
    return size


def run_size(
    n: int, args: argparse.Namespace, centres: np.ndarray, queries: np.ndarray, folder: Path, notes: list[str]
) -> list[Row]:
    """Every configuration at one collection size (appends the data set's top-1 cosine to `notes`)."""
    vectors = clustered(centres, n, args.sigma, args.seed)
    ids = np.arange(1, n + 1, dtype=np.int64)
    auto = choose_index_type(n, vectors.shape[1])
    configs = [("exact", "Flat"), ("auto", auto), ("alt", compressed_index_type(n, vectors.shape[1]))]
    configs += [("alt", alt) for alt in args.alternatives if n <= args.alt_max_size]
    rows: list[Row] = []
    truth = None
    for name, factory in dict.fromkeys(configs):  # the compressed tier is `auto` at memory-bound sizes
        start = time.perf_counter()
        store = FaissStore.build(factory, ids, vectors, generation=0)
        build_s = time.perf_counter() - start
        per_vector = disk_bytes(store, folder) / n
        probes = args.nprobe if "IVF" in factory else [None]
        for nprobe in probes:
            qps, p50, p95, found = measure(store, queries, nprobe or NPROBE, args.latency_queries)
            if truth is None:
                truth = found
                top1 = store.search(queries, 1)[0][:, 0]
                notes.append(f"n={n:,}: median top-1 cosine of the queries {np.median(top1):.3f}")
            row = Row(n, name, factory, nprobe, recall(found, truth), qps, p50, p95, per_vector, build_s)
            rows.append(row)
            print(_format(row), flush=True)
        del store
    return rows


def _format(row: Row) -> str:
    probe = "" if row.nprobe is None else f" nprobe={row.nprobe}"
    return (
        f"| {row.size:>9,} | {row.name:<5} | {row.factory + probe:<42} | {row.recall_at_10:6.3f} | "
        f"{row.queries_per_s:9.0f} | {row.p50_ms:8.2f} | {row.p95_ms:8.2f} | {row.bytes_per_vector:7.0f} | "
        f"{row.build_s:7.1f} |"
    )


HEADER = (
    "| vectors   | role  | index                                      | rec@10 | queries/s | p50 ms   | p95 ms   "
    "| B/vec   | build s |\n|" + "---|" * 9
)


def ratios(rows: list[Row]) -> list[str]:
    """Auto (at the default nprobe) over exact, per size."""
    lines = []
    for size in sorted({r.size for r in rows}):
        exact = next(r for r in rows if r.size == size and r.name == "exact")
        auto = next(r for r in rows if r.size == size and r.name == "auto" and r.nprobe in (None, NPROBE))
        lines.append(
            f"n={size:,}: auto {auto.factory} vs exact: recall@10 {auto.recall_at_10:.3f}, "
            f"queries/s x{auto.queries_per_s / exact.queries_per_s:.1f}, "
            f"p50 x{exact.p50_ms / auto.p50_ms:.1f} faster ({auto.p50_ms:.2f} ms vs {exact.p50_ms:.2f} ms), "
            f"bytes/vector x{auto.bytes_per_vector / exact.bytes_per_vector:.2f}"
        )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100000,1000000", help="comma-separated collection sizes")
    parser.add_argument("--queries", type=int, default=1000, help="number of queries")
    parser.add_argument("--latency-queries", type=int, default=200, help="queries timed one by one")
    parser.add_argument("--sigma", type=float, default=0.45, help="noise radius around each centre")
    parser.add_argument("--nprobe", default=f"16,{NPROBE},64", help="IVF nprobe values to report")
    parser.add_argument(
        "--alternatives",
        default="HNSW32",
        help="';'-separated factory strings measured besides exact, auto and the compressed tier",
    )
    parser.add_argument("--alt-max-size", type=int, default=10**9, help="skip alternatives above this size")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, help="also write the rows here")
    parser.add_argument(
        "--cache",
        type=Path,
        default=Path(tempfile.gettempdir()) / "mmsearch-bench-captions.npy",
        help="where the caption embeddings are cached between runs",
    )
    args = parser.parse_args()
    args.nprobe = [int(p) for p in args.nprobe.split(",")]
    args.alternatives = [a for a in args.alternatives.split(";") if a]

    print(
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {os.cpu_count()} CPUs, "
        f"faiss {faiss.__version__} with {faiss.omp_get_max_threads()} threads, load {os.getloadavg()[0]:.2f}"
    )
    start = time.perf_counter()
    real = caption_embeddings(CAPTIONS, args.cache)
    real = real[np.random.default_rng(args.seed).permutation(len(real))]
    n_queries = min(args.queries, len(real) // 2)
    queries, centres = real[:n_queries], real[n_queries:]
    if args.queries > n_queries:
        queries = np.vstack([queries, clustered(centres, args.queries - n_queries, args.sigma, args.seed + 1)])
    real_top1 = np.median((queries[:n_queries] @ centres.T).max(axis=1))
    print(
        f"{len(real)} caption embeddings in {time.perf_counter() - start:.1f} s; "
        f"median top-1 cosine of the queries against the {len(centres)} real captions {real_top1:.3f}"
    )
    rows: list[Row] = []
    notes: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        print(HEADER)
        for size in (int(s) for s in args.sizes.split(",")):
            rows += run_size(size, args, centres, queries, Path(tmp), notes)
    print(f"\nload average at the end {os.getloadavg()[0]:.2f}")
    print("\n".join(notes + ratios(rows)))
    if args.json:
        args.json.write_text(json.dumps([asdict(r) for r in rows], indent=1))


if __name__ == "__main__":
    main()
