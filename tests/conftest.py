"""Shared fixtures: the real data folder, small real image sets, and a CLI runner."""

from __future__ import annotations

import csv
import os
import shutil
from collections.abc import Iterable, Sequence
from pathlib import Path

import pytest
from typer.testing import CliRunner

REPO = Path(__file__).resolve().parent.parent

# A handful of Caltech-101 classes with distinctive everyday names (test split only).
CALTECH_CLASSES = (
    "airplanes",
    "dolphin",
    "elephant",
    "chair",
    "electric_guitar",
    "laptop",
    "pizza",
    "sunflower",
    "umbrella",
    "watch",
    "motorbikes",
    "crab",
)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Collecting no test is a failure, never a silent pass (pytest's exit code 5)."""
    if exitstatus == pytest.ExitCode.NO_TESTS_COLLECTED:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def _data_dir() -> Path:
    for candidate in (os.environ.get("MMSEARCH_DATA"), REPO.parent / "shared" / "data"):
        if candidate and Path(candidate, "MANIFEST.md").is_file():
            return Path(candidate).resolve()
    raise RuntimeError("test data not found: set MMSEARCH_DATA or put shared/data beside the repo")


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """The real data folder (../shared/data or $MMSEARCH_DATA)."""
    return _data_dir()


@pytest.fixture(scope="session")
def fsdd_dir(data_dir: Path) -> Path:
    """The real FSDD spoken-digit recordings."""
    return data_dir / "fsdd" / "recordings"


def caltech_test_images(
    data_dir: Path, classes: tuple[str, ...] = CALTECH_CLASSES, per_class: int = 10
) -> list[tuple[Path, str]]:
    """(path, label) of the first `per_class` test-split images of each class in `classes`."""
    rows: dict[str, list[Path]] = {}
    with open(data_dir / "caltech101" / "labels.csv", newline="") as handle:
        for row in csv.DictReader(handle):
            if row["split"] == "test" and row["label"].lower() in classes:
                rows.setdefault(row["label"].lower(), []).append(data_dir / "caltech101" / row["path"])
    return [(p, label) for label in classes for p in rows[label][:per_class]]


@pytest.fixture(scope="session")
def caltech_folder(tmp_path_factory: pytest.TempPathFactory, data_dir: Path) -> Path:
    """A folder of real Caltech-101 test images laid out as <class>/<file>.jpg (session-wide, read-only use)."""
    root = tmp_path_factory.mktemp("caltech")
    for path, label in caltech_test_images(data_dir):
        (root / label).mkdir(exist_ok=True)
        shutil.copy2(path, root / label / path.name)
    return root


def write_csv(path: Path, header: list[str], rows: Iterable[Sequence[object]]) -> Path:
    """Write a CSV input file (captions, labels) for a test; returns `path`."""
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


@pytest.fixture()
def runner() -> CliRunner:
    """Typer's CliRunner (stderr kept apart from stdout)."""
    return CliRunner()


@pytest.fixture(scope="session")
def caltech_db(tmp_path_factory: pytest.TempPathFactory, caltech_folder: Path) -> Path:
    """An index of `caltech_folder` built once through the CLI with the default model."""
    from cli.app import app

    db = tmp_path_factory.mktemp("caltech-db")
    result = CliRunner().invoke(app, ["index", str(caltech_folder), "--db", str(db), "--workers", "1"])
    assert result.exit_code == 0, result.output
    return db
