"""A real `mmsearch serve` process over HTTP, also while `mmsearch index` adds files in another process."""

from __future__ import annotations

import shutil
import subprocess
import threading
import time
from pathlib import Path

import httpx
import pytest

pytestmark = pytest.mark.slow  # real processes, kills or a browser: tens of seconds


def test_the_served_process_answers_over_http(server_process) -> None:
    assert server_process.url.startswith("http://127.0.0.1:")
    assert httpx.get(f"{server_process.url}/api/health").json()["status"] == "ok"
    body = httpx.get(
        f"{server_process.url}/api/search", params={"q": "an airplane", "k": 3, "modality": "image"}
    ).json()
    assert "/airplanes/" in body["results"][0]["path"]
    page = httpx.get(server_process.url)
    assert page.status_code == 200 and '<script type="module" src="/static/js/main.js">' in page.text


def test_queries_keep_answering_while_an_indexer_adds_files(
    served_index, start_server, mmsearch, tmp_path: Path
) -> None:
    first, later = tmp_path / "first", tmp_path / "later"
    shutil.copytree(served_index.media / "photos" / "airplanes", first / "airplanes")
    shutil.copytree(served_index.media / "photos" / "pizza", later / "pizza")
    shutil.copytree(served_index.media / "skimage", later / "skimage")
    script, env = mmsearch
    db = tmp_path / "db"
    subprocess.run(
        [str(script), "index", str(first), "--db", str(db), "--workers", "0"],
        env=env,
        check=True,
        capture_output=True,
        timeout=300,
    )
    with start_server(db) as running:
        statuses: list[int] = []
        stop = threading.Event()

        def query() -> None:
            while not stop.is_set():
                statuses.append(
                    httpx.get(f"{running.url}/api/search", params={"q": "a pizza", "k": 3}, timeout=30).status_code
                )

        thread = threading.Thread(target=query)
        thread.start()
        indexer = subprocess.run(
            [str(script), "index", str(later), "--db", str(db), "--workers", "0"],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        time.sleep(0.5)
        stop.set()
        thread.join()
        assert indexer.returncode == 0, indexer.stderr
        assert len(statuses) >= 3 and set(statuses) == {200}, statuses
        hits = httpx.get(f"{running.url}/api/search", params={"q": "a pizza", "k": 3, "modality": "image"}).json()[
            "results"
        ]
        assert "/pizza/" in hits[0]["path"]
        assert httpx.get(f"{running.url}/api/info").json()["files"] == 3 + 3 + 8
