"""End to end through the CLI on real Caltech-101 photos: text and image queries, JSON, filters, info."""

from __future__ import annotations

import json
from pathlib import Path

from cli.app import app
from tests.conftest import CALTECH_CLASSES

QUERY_NAMES = {"airplanes": "an airplane", "motorbikes": "a motorbike"}


def _query_json(runner, db: Path, *args: str) -> dict:
    result = runner.invoke(app, ["query", *args, "--db", str(db), "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_class_names_find_their_class(runner, caltech_db: Path) -> None:
    hits = 0
    for label in CALTECH_CLASSES:
        payload = _query_json(runner, caltech_db, QUERY_NAMES.get(label, label.replace("_", " ")), "-k", "5")
        top5 = [Path(r["path"]).parent.name for r in payload["results"]]
        hits += label in top5
    assert hits >= 10, f"only {hits}/{len(CALTECH_CLASSES)} class names found their class in the top 5"


def test_image_query_returns_itself_first(runner, caltech_db: Path, caltech_folder: Path) -> None:
    probe = sorted((caltech_folder / "dolphin").iterdir())[3]
    payload = _query_json(runner, caltech_db, "--image", str(probe), "-k", "3")
    assert payload["results"][0]["path"] == str(probe.resolve())
    assert payload["results"][0]["score"] > 0.99


def test_json_schema(runner, caltech_db: Path) -> None:
    payload = _query_json(runner, caltech_db, "a guitar", "-k", "7")
    assert set(payload) == {"query", "model", "results"}
    assert payload["query"] == "a guitar" and payload["model"].startswith("lite")
    assert [r["rank"] for r in payload["results"]] == list(range(1, 8))
    scores = [r["score"] for r in payload["results"]]
    assert scores == sorted(scores, reverse=True)
    for row in payload["results"]:
        assert Path(row["path"]).is_absolute() and Path(row["path"]).is_file()
        assert {
            "id",
            "score",
            "modality",
            "content_hash",
            "size",
            "mtime",
            "width",
            "height",
            "added_at",
            "model_id",
        } <= set(row)
        assert row["modality"] == "image" and row["width"] > 0 and len(row["content_hash"]) == 64


def test_where_filter_returns_k_matching_items(runner, caltech_db: Path) -> None:
    payload = _query_json(
        runner, caltech_db, "an airplane", "-k", "4", "--where", "path LIKE '%/pizza/%' AND width >= 100"
    )
    assert len(payload["results"]) == 4
    assert all("/pizza/" in r["path"] and r["width"] >= 100 for r in payload["results"])


def test_threshold_drops_weak_matches(runner, caltech_db: Path) -> None:
    everything = _query_json(runner, caltech_db, "a sunflower", "-k", "50")["results"]
    cut = everything[4]["score"]
    kept = _query_json(runner, caltech_db, "a sunflower", "-k", "50", "--threshold", str(cut))["results"]
    assert len(kept) >= 5 and all(r["score"] >= cut for r in kept)
    assert len(kept) < len(everything)


def test_table_output_and_info(runner, caltech_db: Path) -> None:
    result = runner.invoke(app, ["query", "an elephant", "--db", str(caltech_db), "-k", "3"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 3 and lines[0].split()[0] == "1"
    info = runner.invoke(app, ["info", "--db", str(caltech_db), "--json"])
    details = json.loads(info.stdout)
    assert details["counts"] == {"image": 10 * len(CALTECH_CLASSES)}
    assert details["dim"] == 384 and details["index_type"] == "Flat" and details["bytes_on_disk"] > 0


def test_bad_where_is_one_error_line(runner, caltech_db: Path) -> None:
    for predicate in (
        "nosuchcolumn > 1",
        "1=1; DROP TABLE items",
        "path IN (SELECT path FROM items)",
        "id IN (SELECT * FROM read_csv('/etc/passwd'))",
    ):
        result = runner.invoke(app, ["query", "x", "--db", str(caltech_db), "--where", predicate])
        assert result.exit_code == 1, predicate
        assert result.stderr.startswith("error: ") and len(result.stderr.strip().splitlines()) == 1


def test_python_api_matches_cli(caltech_db: Path, caltech_folder: Path) -> None:
    from PIL import Image

    from retrieval import Engine

    engine = Engine(caltech_db)
    by_text = engine.search("a pizza", k=3)
    assert by_text and all(h.modality == "image" for h in by_text)
    probe = sorted((caltech_folder / "chair").iterdir())[0]
    by_pil = engine.search(Image.open(probe), k=1)
    by_vector = engine.search(engine.embed_query(probe), k=1)
    assert by_pil[0].path == by_vector[0].path == str(probe)
