"""Faults on the cluster: an embedding actor killed mid-run, a driver killed mid-run; both end consistent."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from retrieval.engine import Engine
from retrieval.types import IndexSettings
from tests.conftest import REPO
from tests.distributed.snapshot import assert_consistent, merged_shards

pytestmark = pytest.mark.slow  # a Ray cluster, real models and killed processes: tens of seconds

EMBED_ACTOR = "MapWorker(MapBatches(EmbedStage))"
MIXED = 16 + 3


def _alive_embed_actors() -> list[int]:
    from ray.util.state import list_actors

    actors = list_actors(filters=[("class_name", "=", EMBED_ACTOR), ("state", "=", "ALIVE")], detail=True)
    return [int(a.pid) for a in actors if a.pid]


def _kill_actor_after_first_shard(db: Path, killed: list[int], stop: threading.Event) -> None:
    while not stop.is_set():
        if list((db / "shards").glob("*.parquet")) and (pids := _alive_embed_actors()):
            os.kill(pids[0], signal.SIGKILL)
            killed.append(pids[0])
            return
        time.sleep(0.01)


def test_killed_actor_is_replaced_and_the_index_completes(ray_cluster: str, mixed_folder: Path, tmp_path: Path) -> None:
    db, killed, stop = tmp_path / "db", [], threading.Event()
    killer = threading.Thread(target=_kill_actor_after_first_shard, args=(db, killed, stop))
    killer.start()
    try:
        report = Engine(db).index([mixed_folder / "media"], IndexSettings(ray=ray_cluster, batch_size=1))
    finally:
        stop.set()
        killer.join()
    assert killed and killed[0] not in _alive_embed_actors()
    assert (report.new, report.unchanged, report.skipped, report.items) == (MIXED, 0, 0, MIXED)
    assert_consistent(db, MIXED)


def _shard_written(db: Path, process: subprocess.Popen, timeout: float = 240) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if list((db / "shards").glob("*.parquet")):
            return
        assert process.poll() is None, process.communicate()[1][-2000:]
        time.sleep(0.02)
    raise AssertionError("the driver wrote no shard")


def test_killed_driver_resumes_from_committed_shards(ray_cluster: str, mixed_folder: Path, tmp_path: Path) -> None:
    db, media = tmp_path / "db", str(mixed_folder / "media")
    driver = subprocess.Popen(
        [sys.executable, "-c", "from cli.app import main; main()", "index", media, "--db", str(db)]
        + ["--ray", ray_cluster, "--batch-size", "2", "--json"],
        cwd=REPO,
        env={**os.environ, "RAY_AUTH_MODE": "disabled"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    _shard_written(db, driver)
    driver.send_signal(signal.SIGKILL)
    driver.wait(timeout=30)
    deadline = time.monotonic() + 60
    while _alive_embed_actors():  # the dead driver's actors go with its job; none may write late
        assert time.monotonic() < deadline, "the killed driver's actors outlived it"
        time.sleep(0.2)

    committed = {p.name.removesuffix(".parquet") for p in (db / "shards").glob("*.parquet")} | merged_shards(db)
    assert committed, "the killed driver left no committed shard"

    report = Engine(db).index([media], IndexSettings(ray=ray_cluster, batch_size=2))
    assert report.new + report.unchanged == MIXED and report.skipped == 0
    assert committed <= merged_shards(db)  # taken from the shards, not embedded again
    assert_consistent(db, MIXED)  # every file embedded exactly once over both runs
