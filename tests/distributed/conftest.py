"""One two-node Ray cluster on this machine for every distributed test, and a small mixed media folder."""

from __future__ import annotations

import os
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.conftest import caltech_test_images, write_csv

SHUTDOWN_LIMIT_S = 30.0
"""Both nodes must be gone this long after the tests end."""


_cluster_stops: list[Callable[[], None]] = []
"""How to stop the running cluster, once `ray_cluster` has started one."""


@pytest.fixture(scope="session")
def ray_cluster() -> Iterator[str]:
    """A Ray cluster of two nodes with one CPU each (the head with the dashboard, for the state API), this
    process connected as a driver; yields the cluster's address. Stopped, in bounded time, after the last
    test of this folder (`pytest_runtest_teardown`), so that no Ray thread outlives the distributed tests."""
    os.environ.setdefault("RAY_AUTH_MODE", "disabled")
    import ray
    from ray.cluster_utils import Cluster

    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1, "include_dashboard": True})
    cluster.add_node(num_cpus=1)
    ray.init(address=cluster.address, log_to_driver=False)
    cluster.wait_for_nodes()

    def stop() -> None:
        started = time.monotonic()
        ray.shutdown()
        cluster.shutdown()
        elapsed = time.monotonic() - started
        assert elapsed < SHUTDOWN_LIMIT_S, f"cluster took {elapsed:.0f} s to stop"
        assert not cluster.list_all_nodes()
        # a thread of Ray's left running would race later tests' imports (docs/reliability.md, bugs 22 and 25)
        assert "data-usage-metrics-poller" not in {t.name for t in threading.enumerate()}

    _cluster_stops.append(stop)
    try:
        yield cluster.address
    finally:
        _stop_cluster()


def _stop_cluster() -> None:
    while _cluster_stops:
        _cluster_stops.pop()()


def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> None:
    """Stop the cluster when the next test is not a distributed one (or there is none)."""
    if nextitem is None or Path(nextitem.path).parent != Path(__file__).parent:
        _stop_cluster()


@pytest.fixture(scope="session")
def mixed_folder(tmp_path_factory: pytest.TempPathFactory, data_dir: Path, fsdd_dir: Path) -> Path:
    """16 Caltech photos and 3 spoken digits under media/, and a captions CSV of 4 rows beside it."""
    root = tmp_path_factory.mktemp("mixed")
    media = root / "media"
    media.mkdir()
    classes = ("airplanes", "chair", "laptop", "pizza")
    for path, label in caltech_test_images(data_dir, classes, per_class=4):
        shutil.copy2(path, media / f"{label}_{path.name}")
    for name in ("0_george_0.wav", "3_jackson_1.wav", "7_yweweler_0.wav"):
        shutil.copy2(fsdd_dir / name, media / name)
    captions = ["an airplane on the runway", "a wooden chair", "a laptop on a desk", "a pizza with cheese"]
    write_csv(root / "captions.csv", ["text"], [[c] for c in captions])
    return root
