"""`mmsearch index --ray` on a two-node, 2-CPU cluster gives the local pipeline's catalog and search results,
with tasks on both nodes, and a rerun embeds nothing."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from retrieval.engine import Engine
from retrieval.types import IndexReport, IndexSettings
from tests.conftest import REPO
from tests.distributed.snapshot import assert_consistent, assert_same_rows

pytestmark = pytest.mark.slow  # a Ray cluster and real models: tens of seconds

FILES = 20  # 16 photos, 3 recordings, 1 captions file


@dataclass(frozen=True)
class Runs:
    local: IndexReport
    ray: IndexReport
    local_db: Path
    ray_db: Path
    settings: IndexSettings


@pytest.fixture(scope="module")
def runs(ray_cluster: str, mixed_folder: Path, tmp_path_factory: pytest.TempPathFactory) -> Runs:
    """The mixed folder indexed once locally and once on the cluster."""
    root = tmp_path_factory.mktemp("runs")
    media, captions = [mixed_folder / "media"], [mixed_folder / "captions.csv"]
    local = Engine(root / "local").index(media, IndexSettings(transcribe=False, workers=0), captions=captions)
    settings = IndexSettings(ray=ray_cluster, batch_size=4)
    ray_report = Engine(root / "ray").index(media, settings, captions=captions)
    return Runs(local, ray_report, root / "local", root / "ray", settings)


def test_ray_run_gives_the_local_catalog_and_results(runs: Runs) -> None:
    assert runs.ray.to_dict() | {"seconds": 0} == runs.local.to_dict() | {"seconds": 0}
    assert (runs.ray.new, runs.ray.items, runs.ray.skipped) == (FILES, 16 + 3 + 4, 0)
    assert_same_rows(runs.local_db, runs.ray_db)
    assert_consistent(runs.ray_db, FILES)
    for query in ("an airplane", "a slice of pizza"):
        local_hits = [h.path for h in Engine(runs.local_db).search(query, k=5)]
        assert [h.path for h in Engine(runs.ray_db).search(query, k=5)] == local_hits


def test_tasks_ran_on_both_nodes(runs: Runs) -> None:
    import ray
    from ray.util.state import list_tasks

    job = ray.get_runtime_context().get_job_id()
    tasks = list_tasks(filters=[("job_id", "=", job)], detail=True, limit=10_000, raise_on_missing_output=False)
    stages = [t for t in tasks if "LoadStage" in t.name or "EmbedStage" in t.name]
    assert {t.node_id for t in stages if t.node_id} == {n["NodeID"] for n in ray.nodes() if n["Alive"]}
    assert any("LoadStage" in t.name for t in stages) and any("EmbedStage" in t.name for t in stages)


def test_rerun_embeds_nothing(runs: Runs, mixed_folder: Path) -> None:
    again = Engine(runs.ray_db).index([mixed_folder / "media"], runs.settings, captions=[mixed_folder / "captions.csv"])
    assert (again.unchanged, again.new, again.changed, again.items) == (FILES, 0, 0, 0)
    assert_consistent(runs.ray_db, FILES)


def test_without_ray_the_option_says_how_to_install_it(tmp_path: Path, mixed_folder: Path) -> None:
    hide_ray = "import sys; sys.modules['ray'] = None; from cli.app import main; main()"
    args = ["index", str(mixed_folder / "media"), "--db", str(tmp_path / "db"), "--ray", "local"]
    done = subprocess.run([sys.executable, "-c", hide_ray, *args], cwd=REPO, capture_output=True, text=True, timeout=99)
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == ["error: --ray needs the ray extra: pip install 'mmsearch[ray]'"]


def test_the_cli_does_not_import_ray() -> None:
    code = "import sys, cli.app; print('ray' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == "False", done.stderr
