"""The distributed indexing run: scan and plan on the driver, load and embed on a Ray cluster, merge shards.

The same steps and counts as `retrieval.ingest.run.run_index`, with the load and encode stages replaced by
a Ray Data pipeline that writes Parquet shards into the index folder. Shards a killed run left behind are
merged first, so a rerun embeds only what no shard holds. Videos and speech transcripts are local-only for
now: a run that would need them stops with one line before anything is loaded.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Sequence
from pathlib import Path

from indexes.catalog import Catalog
from indexes.ondisk import sync_on_disk
from indexes.shards import SUFFIX, shard_folder
from indexes.sync import sync_store
from indexes.writer_lock import writing
from retrieval.distributed.cluster import connected
from retrieval.distributed.merge import ShardMerger
from retrieval.distributed.pipeline import embedded_shards
from retrieval.encoders.base import Encoder
from retrieval.errors import MmsearchError
from retrieval.ingest.load import FileLoader
from retrieval.ingest.plan import plan
from retrieval.ingest.run import scan_for
from retrieval.media.scan import FileFacts
from retrieval.types import IndexReport, IndexSettings, ProgressCallback

log = logging.getLogger(__name__)


def run_distributed_index(
    catalog: Catalog,
    encoder: Encoder,
    model_name: str,
    roots: Sequence[Path],
    texts: Sequence[FileFacts],
    vectors_path: Path,
    index_type: str,
    settings: IndexSettings,
    progress: ProgressCallback | None = None,
) -> IndexReport:
    """Bring the catalog in line with `roots` and the captions files `texts` on the Ray cluster at
    `settings.ray`, then save the FAISS file; `model_name` is how the actors load the model."""
    if settings.transcribe:
        raise MmsearchError("speech transcripts are local-only for now: drop --ray, or index with --no-transcribe")
    with writing(catalog.path.parent):
        started = time.perf_counter()
        report = IndexReport()
        files = [*(scan_for(encoder, roots, report, settings.follow_links) if roots else []), *texts]
        job = plan(catalog, [str(r) for r in roots] + [t.path for t in texts], files, report)
        videos = [f.path for f in job.to_load if f.modality == "video"]
        if videos:
            raise MmsearchError(f"videos are local-only for now ({videos[0]}): index them without --ray")
        folder = shard_folder(catalog.path.parent)
        folder.mkdir(exist_ok=True)
        merger = ShardMerger(catalog, encoder.model_id, job, report)
        remaining = merger.resume(folder, job.to_load)
        if remaining:
            with connected(settings.ray or "auto") as ray:
                loader = FileLoader.for_encoder(encoder, settings.video_fps, speech=None)
                run_id = f"{time.strftime('%Y%m%d%H%M%S')}-{uuid.uuid4().hex[:8]}"
                shards = embedded_shards(ray, remaining, loader, settings, model_name, folder, run_id)
                done = 0
                for name, count, runtime in shards:
                    merger.merge(folder / f"{name}{SUFFIX}")
                    report.runtime = runtime
                    done += count
                    if progress:
                        progress(done, len(remaining))
        report.removed = catalog.delete_paths(sorted(job.missing))
        if settings.ivf_on_disk:
            sync_on_disk(catalog, vectors_path, index_type)
        else:
            sync_store(catalog, vectors_path, index_type, save=True)
        report.seconds = time.perf_counter() - started
        return report
