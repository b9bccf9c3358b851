"""Two writers on one index: a second `mmsearch index`, or an `mmsearch rm`, started while an indexing
run writes, stops at once with one line naming the writer; the first run's index is whole."""

from __future__ import annotations

import contextlib
import json
import signal
import subprocess
import time
from pathlib import Path

import duckdb
import pytest

from tests.reliability.conftest import Corpus
from tests.reliability.harness import assert_whole, probed, run_cli, start_cli, wait_for

pytestmark = pytest.mark.slow  # three `mmsearch` processes


def _pause_between_transactions(process: subprocess.Popen, db: Path) -> None:
    """SIGSTOP `process` at a moment it holds no DuckDB connection (a reader could open the catalog)."""
    while True:
        with contextlib.suppress(duckdb.Error), duckdb.connect(str(db / "catalog.duckdb"), read_only=True):
            process.send_signal(signal.SIGSTOP)
            try:
                duckdb.connect(str(db / "catalog.duckdb"), read_only=True).close()
                return
            except duckdb.Error:
                process.send_signal(signal.SIGCONT)
        time.sleep(0.01)


def test_second_writer_is_refused_with_one_line(small_corpus: Corpus, tmp_path: Path) -> None:
    db, log = tmp_path / "db", tmp_path / "first.log"
    first = start_cli(*small_corpus.index_args(db), probe=log)
    try:
        wait_for(lambda: len(probed(log)) >= 1, first)  # it holds the writer lock and has embedded a batch
        _pause_between_transactions(first, db)  # so that it is still writing, whatever the machine's speed
        second = run_cli(*small_corpus.index_args(db))
        removal = run_cli("rm", str(small_corpus.media / "wav"), "--db", str(db))
    finally:
        first.send_signal(signal.SIGCONT)
        out, err = first.communicate(timeout=600)
    assert first.returncode == 0, err
    for refused in (second, removal):
        assert refused.returncode == 1
        lines = refused.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: another mmsearch (pid "), refused.stderr
        assert str(first.pid) in lines[0]
    assert json.loads(out)["new"] == len(small_corpus.clean.paths)
    assert_whole(db, small_corpus.root, small_corpus.clean)
