"""Once an index run has exported the lite towers to ONNX Runtime, later index runs (photos, a recording, a
video) and text, image and sound queries never import torch, the largest import of all (about 0.5 GB and 2 s here)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO
from tests.fixtures.videos import Shot, write_video

PROBE = (
    "import atexit, sys\n"
    "atexit.register(lambda: print('torch imported:', 'torch' in sys.modules, file=sys.stderr))\n"
    "from cli.app import main\n"
    "sys.argv = ['mmsearch', *sys.argv[1:]]\n"
    "main()\n"
)


def _mmsearch(args: list[str], cache: Path) -> tuple[str, bool]:
    """Run `mmsearch ARGS` in a fresh process; its output and whether it imported torch."""
    env = {**os.environ, "MMSEARCH_CACHE": str(cache)}
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout, "torch imported: True" in done.stderr


def test_index_runs_and_queries_after_the_first_import_no_torch(tmp_path: Path, data_dir: Path) -> None:
    caltech = data_dir / "caltech101" / "images"
    cache, first, second = tmp_path / "cache", tmp_path / "first", tmp_path / "second"
    first.mkdir()
    second.mkdir()
    shutil.copy(data_dir / "skimage_data" / "images" / "chelsea.png", first)
    for name in ("airplanes", "dolphin", "Leopards"):
        shutil.copy(sorted((caltech / name).glob("*.jpg"))[0], second / f"{name}.jpg")
    shutil.copy(data_dir / "fsdd" / "recordings" / "7_yweweler_0.wav", second)
    shots = [Shot(sorted((caltech / name).glob("*.jpg"))[1], 2.0) for name in ("watch", "Motorbikes")]
    write_video(second / "clip.mp4", shots)

    _, exported_with_torch = _mmsearch(["index", str(first), "--db", str(tmp_path / "db1")], cache)
    assert exported_with_torch, "the first run exports the towers, which needs torch"
    indexed, imported = _mmsearch(["index", str(second), "--db", str(tmp_path / "db2")], cache)
    assert not imported, indexed
    assert "new 5" in indexed and "skipped 0" in indexed, indexed
    answer, imported = _mmsearch(["query", "an airplane", "--db", str(tmp_path / "db2"), "-k", "1"], cache)
    assert not imported and "airplanes.jpg" in answer, answer
    db = str(tmp_path / "db2")
    photo = sorted((caltech / "dolphin").glob("*.jpg"))[2]
    answer, imported = _mmsearch(["query", "--image", str(photo), "--db", db, "-k", "1"], cache)
    assert not imported and "dolphin.jpg" in answer, answer
    sound = data_dir / "fsdd" / "recordings" / "7_jackson_0.wav"
    answer, imported = _mmsearch(["query", "--audio", str(sound), "--db", db, "-k", "1"], cache)
    assert not imported and "7_yweweler_0.wav" in answer, answer
