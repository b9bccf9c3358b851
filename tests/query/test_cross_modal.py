"""A mixed folder (photos, spoken digits, a long recording, captions) searched in every direction."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from cli.app import app
from tests.conftest import write_csv

pytestmark = pytest.mark.slow  # real processes, kills or a browser: tens of seconds

DIGITS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")


@pytest.fixture(scope="module")
def mixed(tmp_path_factory: pytest.TempPathFactory, data_dir: Path) -> tuple[Path, Path, Path]:
    """(folder, captions csv, db) indexed once through the CLI."""
    root = tmp_path_factory.mktemp("mixed")
    media = root / "media"
    (media / "photos").mkdir(parents=True)
    (media / "sounds").mkdir()
    for name in ("chelsea.png", "coffee.png", "rocket.jpg", "astronaut.png"):
        shutil.copy2(data_dir / "skimage_data/images" / name, media / "photos" / name)
    for digit in range(10):
        shutil.copy2(data_dir / f"fsdd/recordings/{digit}_yweweler_1.wav", media / "sounds" / f"{digit}.wav")
    # a 9-second recording: seven, pause, three, pause... so that it is cut into several windows
    parts = [sf.read(data_dir / f"fsdd/recordings/{d}_yweweler_2.wav")[0] for d in (7, 3, 7, 3)]
    gap = np.zeros(int(8000 * 1.8))
    sf.write(media / "sounds" / "long.wav", np.concatenate([np.concatenate([p, gap]) for p in parts]), 8000)
    (media / "sounds" / "silent.wav").write_bytes(b"")
    sf.write(media / "sounds" / "quiet.wav", np.zeros(8000), 8000)
    with open(data_dir / "flickr8k_800/captions.csv", newline="") as src:
        rows = [(n, r["caption"]) for n, r in enumerate(csv.DictReader(src))]  # all 4,000 real captions
    captions = write_csv(root / "captions.csv", ["id", "caption"], rows)
    db = root / "db"
    from typer.testing import CliRunner

    args = ["index", str(media), "--captions", str(captions), "--db", str(db), "--json", "--no-transcribe"]
    result = CliRunner().invoke(app, args)  # acoustic windows only: tests/speech covers transcripts
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["skipped"] == 2 and {Path(f["path"]).name for f in report["failures"]} == {"silent.wav", "quiet.wav"}
    return media, captions, db


def _results(runner, db: Path, *args: str) -> list[dict]:
    result = runner.invoke(app, ["query", *args, "--db", str(db), "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)["results"]


def test_text_to_audio(runner, mixed) -> None:
    _media, _, db = mixed
    hits = _results(runner, db, "seven", "--modality", "audio", "-k", "3")
    assert {h["modality"] for h in hits} == {"audio"}
    assert any(Path(h["path"]).name in ("7.wav", "long.wav") for h in hits[:2])


def test_audio_to_text_and_image(runner, mixed, data_dir: Path) -> None:
    _, _, db = mixed
    clip = str(data_dir / "fsdd/recordings/7_yweweler_5.wav")
    assert {h["modality"] for h in _results(runner, db, "--audio", clip, "--modality", "text", "-k", "3")} == {"text"}
    images = _results(runner, db, "--audio", clip, "--modality", "image", "-k", "4")
    assert len(images) == 4 and {h["modality"] for h in images} == {"image"}
    nearest_audio = _results(runner, db, "--audio", clip, "--modality", "audio", "-k", "1")
    assert Path(nearest_audio[0]["path"]).name in ("7.wav", "long.wav")


def test_image_to_text_finds_cat_captions(runner, mixed, data_dir: Path) -> None:
    """The issue's check: the skimage cat photo against the flickr8k_800 captions has a cat caption in the top 5."""
    _, _, db = mixed
    hits = _results(
        runner, db, "--image", str(data_dir / "skimage_data/images/chelsea.png"), "--modality", "text", "-k", "5"
    )
    assert {h["modality"] for h in hits} == {"text"}
    assert any("cat" in h["text"].lower() for h in hits)
    assert hits[0]["path"].endswith("captions.csv") and hits[0]["ref"] is not None


def test_text_to_image(runner, mixed) -> None:
    _, _, db = mixed
    hits = _results(runner, db, "a rocket launch", "--modality", "image", "-k", "1")
    assert Path(hits[0]["path"]).name == "rocket.jpg"


def test_long_file_windows_have_spans(runner, mixed) -> None:
    media, _, db = mixed
    long_path = str(media / "sounds" / "long.wav")
    hits = _results(runner, db, "seven", "--where", f"path = '{long_path}'", "-k", "20", "--no-group")
    spans = sorted((h["start_s"], h["end_s"]) for h in hits)
    duration = sf.info(long_path).duration
    assert len(spans) >= 4
    assert spans[0][0] == 0.0 and abs(spans[-1][1] - duration) < 1e-3
    assert all(0 <= s < e <= duration + 1e-6 for s, e in spans)
    assert all(b[0] <= a[1] for a, b in zip(spans, spans[1:]))  # windows overlap or touch: full coverage


def test_a_files_windows_are_one_hit_with_its_spans(runner, mixed) -> None:
    media, _, db = mixed
    long_path = str(media / "sounds" / "long.wav")
    (hit,) = _results(runner, db, "seven", "--where", f"path = '{long_path}'", "-k", "20")
    others = hit["other_spans"]
    assert len(others) >= 3 and all(o["score"] <= hit["score"] for o in others)
    table = runner.invoke(app, ["query", "seven", "--where", f"path = '{long_path}'", "--db", str(db)])
    lines = table.stdout.splitlines()
    assert lines[0].endswith(f"{long_path} @ 00:{hit['start_s']:04.1f}–00:{hit['end_s']:04.1f}"), lines[0]
    assert "also @ " in lines[1] and lines[-1].strip().endswith("more in this file")


def test_classify_json_images_and_audio(runner, mixed, data_dir: Path, tmp_path: Path) -> None:
    media, _, _ = mixed
    out_csv = tmp_path / "labels.csv"
    result = runner.invoke(
        app,
        [
            "classify",
            str(media / "sounds" / "7.wav"),
            str(media / "photos" / "chelsea.png"),
            "--labels",
            ",".join(DIGITS + ("cat", "rocket")),
            "--json",
            "-k",
            "3",
            "--csv",
            str(out_csv),
        ],
    )
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert set(payload) == {"labels", "results"} and len(payload["results"]) == 2
    by_name = {Path(r["source"]).name: r for r in payload["results"]}
    assert by_name["7.wav"]["modality"] == "audio" and by_name["chelsea.png"]["label"] == "cat"
    for r in payload["results"]:
        assert len(r["scores"]) == 3
        probs = [s["probability"] for s in r["scores"]]
        assert probs == sorted(probs, reverse=True) and 0 < sum(probs) <= 1.0 + 1e-6
    assert out_csv.read_text().splitlines()[0] == "source,modality,label,probability"


def test_classify_threshold_says_none(runner, data_dir: Path) -> None:
    result = runner.invoke(
        app,
        [
            "classify",
            str(data_dir / "skimage_data/images/chelsea.png"),
            "--labels",
            "cat,kitten,tabby cat",
            "--threshold",
            "0.99",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["results"][0]["label"] is None
