"""Bad input gives one clear error line and a non-zero exit, and loses nothing already indexed."""

from __future__ import annotations

import json
from pathlib import Path

from cli.app import app


def test_missing_path(runner, tmp_path: Path) -> None:
    result = runner.invoke(app, ["index", str(tmp_path / "nope"), "--db", str(tmp_path / "db")])
    assert result.exit_code == 1
    assert result.stderr.strip() == f"error: path not found: {tmp_path / 'nope'}"


def test_empty_folder(runner, tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "notes.txt").write_text("not media")
    result = runner.invoke(app, ["index", str(tmp_path / "empty"), "--db", str(tmp_path / "db")])
    assert result.exit_code == 1
    assert "no supported files" in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_query_without_index(runner, tmp_path: Path) -> None:
    result = runner.invoke(app, ["query", "a cat", "--db", str(tmp_path / "none")])
    assert result.exit_code == 1
    assert result.stderr.startswith("error: no index at")


def test_wrong_model_is_refused(runner, caltech_db: Path) -> None:
    before = json.loads(runner.invoke(app, ["info", "--db", str(caltech_db), "--json"]).stdout)
    result = runner.invoke(app, ["query", "a cat", "--db", str(caltech_db), "--model", "openclip:ViT-B-32/random"])
    assert result.exit_code == 1
    assert "was built with model" in result.stderr and "openclip:ViT-B-32/random" in result.stderr
    after = json.loads(runner.invoke(app, ["info", "--db", str(caltech_db), "--json"]).stdout)
    assert after == before


def test_wrong_dimension_vector_is_refused(caltech_db: Path) -> None:
    import numpy as np
    import pytest

    from retrieval import Engine
    from retrieval.errors import IndexMismatchError

    with pytest.raises(IndexMismatchError, match="dimension 512"):
        Engine(caltech_db).search(np.ones(512, dtype=np.float32))


def test_unknown_model_name(runner, tmp_path: Path, caltech_folder: Path) -> None:
    result = runner.invoke(app, ["index", str(caltech_folder), "--db", str(tmp_path / "db"), "--model", "nosuch"])
    assert result.exit_code == 1 and result.stderr.startswith("error: unknown model 'nosuch'")


def test_openclip_pretrained_offline_says_how_to_use_a_file(runner, tmp_path: Path, caltech_folder: Path) -> None:
    result = runner.invoke(
        app, ["index", str(caltech_folder), "--db", str(tmp_path / "db"), "--model", "openclip:RN50/openai"]
    )
    assert result.exit_code == 1
    assert "pass it as a file: --model openclip:RN50/" in result.stderr
    assert not (tmp_path / "db" / "catalog.duckdb").exists()


def test_index_location_that_is_a_file(runner, tmp_path: Path) -> None:
    (tmp_path / "db").write_text("not an index")
    for command in (["query", "a cat"], ["info"]):
        result = runner.invoke(app, [*command, "--db", str(tmp_path / "db")])
        assert result.exit_code == 1
        assert result.stderr.strip() == f"error: index location {tmp_path / 'db'} is a file; an index is a folder"


def test_damaged_catalog_gives_one_line(runner, tmp_path: Path, caltech_folder: Path) -> None:
    db = tmp_path / "db"
    db.mkdir()
    (db / "catalog.duckdb").write_bytes(bytes(range(256)) * 400)
    for command in (["query", "a cat"], ["info"], ["index", str(caltech_folder)]):
        result = runner.invoke(app, [*command, "--db", str(db)])
        assert result.exit_code == 1, command
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith(f"error: cannot open catalog {db / 'catalog.duckdb'}"), lines
