"""The Ray Data dataset of one run: file facts -> load tasks -> embedding actor pool -> shard names."""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from retrieval.distributed.cluster import cluster_gpus
from retrieval.distributed.stages import EmbedStage, LoadStage, fact_rows
from retrieval.ingest.load import LOAD_BATCH, FileLoader
from retrieval.media.scan import FileFacts
from retrieval.types import IndexSettings

LOAD_MEMORY = 256 << 20
"""Memory reserved per load task (a large photo decodes into a few hundred MB at most). It also keeps the
load stage a pool of CPU tasks of its own: Ray Data fuses a task stage into the actor stage after it when
their resource requests match, which would decode and embed one after the other in the actors."""


def embedded_shards(
    ray: Any,
    files: Sequence[FileFacts],
    loader: FileLoader,
    settings: IndexSettings,
    model_name: str,
    folder: Path,
    run_id: str,
) -> Iterator[tuple[str, int, str]]:
    """(shard name, files in it, what ran the towers) for every shard the cluster writes into `folder`, in the
    order of `files`.

    Files are loaded `LOAD_BATCH` at a time in CPU tasks and embedded `settings.batch_size` files at a time in
    a pool of `settings.workers` actors (default: one per GPU, else one), each holding the model, with
    `settings.gpus_per_worker` GPUs each (default: one when the cluster has GPUs, else none).
    """
    gpus = settings.gpus_per_worker
    if gpus is None:
        gpus = 1.0 if cluster_gpus(ray) else 0.0
    actors = settings.workers or max(1, int(cluster_gpus(ray) // gpus) if gpus else 1)
    context = ray.data.DataContext.get_current()
    context.execution_options.preserve_order = True  # shards merge in scan order, as a local run commits
    context.enable_progress_bars = False
    dataset = ray.data.from_items(fact_rows(list(files)), override_num_blocks=math.ceil(len(files) / LOAD_BATCH))
    dataset = dataset.map_batches(
        LoadStage(loader), batch_size=LOAD_BATCH, batch_format="numpy", num_cpus=1, memory=LOAD_MEMORY
    )
    dataset = dataset.map_batches(
        EmbedStage,
        fn_constructor_kwargs={
            "model_name": model_name,
            "batch_size": settings.batch_size,
            "folder": str(folder),
            "run_id": run_id,
            "runtime": settings.runtime,
        },
        batch_size=settings.batch_size,
        batch_format="numpy",
        compute=ray.data.ActorPoolStrategy(size=actors),
        num_cpus=0 if gpus else 1,  # a GPU actor leaves its node's cores to the load tasks that feed it
        num_gpus=gpus,
    )
    for row in dataset.iter_rows():
        yield str(row["shard"]), int(row["files"]), str(row["runtime"])
