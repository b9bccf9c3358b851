"""Connect to a Ray cluster for one indexing run: an existing one, or a local one started for the run."""

from __future__ import annotations

import contextlib
import importlib.util
import logging
import os
from collections.abc import Iterator
from typing import Any

from retrieval.errors import MissingDependencyError

log = logging.getLogger(__name__)

INSTALL_HINT = "--ray needs the ray extra: pip install 'mmsearch[ray]'"
LOCAL = "local"
"""`--ray local`: start a cluster on this machine for the run and stop it after."""


def require_ray() -> Any:
    """The `ray` module; MissingDependencyError (one line saying how to install it) without the ray extra.
    Ray's usage statistics stay off unless the user turns them on (`RAY_USAGE_STATS_ENABLED=1`): mmsearch runs
    offline, and with them on Ray Data starts a thread that polls a metrics server every 10 s for as long as
    the process lives."""
    if importlib.util.find_spec("ray") is None or importlib.util.find_spec("ray.data") is None:
        raise MissingDependencyError(INSTALL_HINT)
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    import ray
    import ray.data  # Ray Data must import: `ray` alone lacks pyarrow and pandas

    return ray


@contextlib.contextmanager
def connected(address: str) -> Iterator[Any]:
    """Ray, connected to the cluster at `address` ('auto': the running cluster this machine knows, 'local':
    a new one on this machine, else 'host:port' or 'ray://host:port'); a connection this process already has
    is used as it is. A connection opened here is closed on the way out."""
    ray = require_ray()
    if ray.is_initialized():
        yield ray
        return
    options: dict[str, Any] = {} if address.startswith("ray://") else {"log_to_driver": False}  # client mode: defaults
    if address == LOCAL:
        options["include_dashboard"] = False
    ray.init(address=address, **options)
    log.info("connected to Ray at %s: %s", address, ray.cluster_resources())
    try:
        yield ray
    finally:
        ray.shutdown()


def cluster_gpus(ray: Any) -> float:
    """GPUs the connected cluster has in all."""
    return float(ray.cluster_resources().get("GPU", 0))
