"""A catalog written by the previous schema (tests/fixtures/catalog-v1) opens and is migrated in place."""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

import duckdb
import pytest

from indexes import migrations
from indexes.catalog import ITEM_COLUMNS, SCHEMA_VERSION, Catalog
from indexes.errors import CatalogVersionError
from tests.conftest import REPO

FIXTURE = REPO / "tests" / "fixtures" / "catalog-v1" / "catalog.duckdb.gz"


def v1_catalog(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "catalog.duckdb"
    with gzip.open(FIXTURE) as src, path.open("wb") as dst:
        shutil.copyfileobj(src, dst)
    return path


def _columns(path: Path) -> list[str]:
    with duckdb.connect(str(path), read_only=True) as con:
        return [r[0] for r in con.execute("DESCRIBE items").fetchall()]


def test_v1_catalog_is_migrated_and_keeps_its_items(tmp_path: Path) -> None:
    path = v1_catalog(tmp_path / "db")
    assert "label" in _columns(path) and "taken_at" not in _columns(path)
    catalog = Catalog(path)
    with pytest.raises(CatalogVersionError, match="upgrade it"):
        catalog.meta()
    assert catalog.upgrade() is True
    assert set(ITEM_COLUMNS) <= set(_columns(path)) and "label" not in _columns(path)
    meta = catalog.meta()
    assert (meta.model_id, meta.dim, meta.index_type) == ("lite-v1+audio-v2", 384, "Flat")
    assert catalog.counts() == {"image": 3, "audio": 1, "text": 3}
    assert len(catalog.filter_ids("taken_at IS NULL AND camera_make IS NULL")) == 7
    kinds = {kind: len(catalog.filter_ids(f"kind = '{kind}'")) for kind in ("image", "window", "caption")}
    assert kinds == {"image": 3, "window": 1, "caption": 3}
    assert not path.with_name("catalog.duckdb.pre-migration").exists()
    assert catalog.upgrade() is False  # already current


def test_failed_migration_leaves_the_old_catalog_and_its_backup(tmp_path: Path, monkeypatch) -> None:
    path = v1_catalog(tmp_path / "db")
    before = path.read_bytes()

    def crash(con: duckdb.DuckDBPyConnection, version: int) -> None:
        con.execute(migrations.STEPS[1][0])
        raise OSError("disk full")

    monkeypatch.setattr("indexes.catalog.migrate", crash)
    with pytest.raises(OSError, match="disk full"):
        Catalog(path).upgrade()
    assert path.with_name("catalog.duckdb.pre-migration").read_bytes() == before
    assert "taken_at" not in _columns(path)
    monkeypatch.undo()
    assert Catalog(path).upgrade() is True and "taken_at" in _columns(path)
    assert not path.with_name("catalog.duckdb.pre-migration").exists()


def test_newer_catalog_is_refused_with_one_line(tmp_path: Path) -> None:
    path = v1_catalog(tmp_path / "db")
    with duckdb.connect(str(path)) as con:
        con.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", [str(SCHEMA_VERSION + 1)])
    with pytest.raises(CatalogVersionError, match="newer than this mmsearch") as err:
        Catalog(path).upgrade()
    assert "\n" not in str(err.value)


def test_engine_and_cli_open_an_old_index(tmp_path: Path, runner) -> None:
    from cli.app import app

    v1_catalog(tmp_path / "db")
    result = runner.invoke(app, ["info", "--db", str(tmp_path / "db"), "--json"])
    assert result.exit_code == 0, result.output
    assert '"files": 5' in result.stdout
    result = runner.invoke(
        app, ["query", "a cat", "--db", str(tmp_path / "db"), "--json", "--where", "taken_at IS NULL"]
    )
    assert result.exit_code == 0, result.output
