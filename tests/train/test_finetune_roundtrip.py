"""finetune -> index with the new model -> query: the index remembers and enforces its model."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cli.app import app
from retrieval.media.text import read_rows
from tests.conftest import write_csv

pytestmark = pytest.mark.slow  # real processes, kills or a browser: tens of seconds


@pytest.mark.parametrize("train", [["--train", "heads"], ["--train", "lora", "--blocks", "1", "--lora-rank", "4"]])
def test_finetune_index_query_round_trip(
    train: list[str], runner, tmp_path: Path, data_dir: Path, caltech_folder: Path
) -> None:
    rows = [
        [str(data_dir / "caltech101" / row["path"]), row["label"]]
        for row in read_rows(data_dir / "caltech101/labels.csv", ("path", "label", "split"))
        if row["split"] == "train" and row["label"] in ("pizza", "laptop", "crab", "dolphin")
    ]
    labels = write_csv(tmp_path / "labels.csv", ["path", "label"], rows)
    out = tmp_path / "my-model"
    args = ["finetune", "--labels", str(labels), "--out", str(out), "--epochs", "3", "--json", *train]
    tuned = runner.invoke(app, args)
    assert tuned.exit_code == 0, tuned.output
    assert json.loads((out / "config.json").read_text())["tuned_blocks"] == (1 if "lora" in train else 0)

    db = tmp_path / "db"
    indexed = runner.invoke(
        app,
        [
            "index",
            str(caltech_folder / "crab"),
            str(caltech_folder / "laptop"),
            "--db",
            str(db),
            "--model",
            str(out),
            "--json",
        ],
    )
    assert indexed.exit_code == 0, indexed.output
    model_id = json.loads(indexed.stdout)["model"]
    assert "+ft-" in model_id

    found = runner.invoke(app, ["query", "a crab", "--db", str(db), "-k", "3", "--json"])  # model read from the index
    assert found.exit_code == 0, found.output
    payload = json.loads(found.stdout)
    assert payload["model"] == model_id and all("/crab/" in r["path"] for r in payload["results"])

    refused = runner.invoke(app, ["query", "a crab", "--db", str(db), "--model", "lite"])
    assert refused.exit_code == 1 and f"use --model {out}" in refused.stderr
