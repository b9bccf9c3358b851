"""Videos indexed next to photos with the real lite model: shots found by text, spans, re-indexing, bad files."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from typer.testing import CliRunner

from cli.app import app
from retrieval.engine import Engine
from retrieval.media.audio import load_audio, resample
from tests.conftest import CALTECH_CLASSES, caltech_test_images
from tests.fixtures.speech import speak
from tests.fixtures.videos import Shot, shot_spans, speech_track, write_video

pytestmark = pytest.mark.slow  # builds videos and indexes them with the real model: about 20 s

WORDS = {"airplanes": "airplane", "motorbikes": "motorbike", "electric_guitar": "electric guitar"}


@pytest.fixture(scope="module")
def library(tmp_path_factory: pytest.TempPathFactory, data_dir: Path) -> tuple[Path, Path, dict[str, list], dict]:
    """(media folder, db, shots per video, first index report): three 4-shot videos of 12 classes,
    one with a spoken 'seven' at 5 s, one with a sentence spoken at 5 s, photos of other images of the
    same classes, and bad files."""
    media = tmp_path_factory.mktemp("library")
    images = caltech_test_images(data_dir, CALTECH_CLASSES, per_class=2)
    firsts = [(p, label) for n, (p, label) in enumerate(images) if n % 2 == 0]
    videos: dict[str, list[Shot]] = {}
    seven, rate = sf.read(data_dir / "fsdd/recordings/7_jackson_3.wav", dtype="float32")
    sentence = load_audio(speak("The dog jumps into the lake.", media / "sentence.wav"), 16_000)
    (media / "sentence.wav").unlink()
    sounds = [[(5.0, resample(seven, rate, 16_000))], [(5.0, sentence)], None]
    for n in range(3):
        shots = [Shot(p, 3.0, label) for p, label in firsts[4 * n : 4 * n + 4]]
        sound = speech_track(sounds[n], 12.0) if sounds[n] else None
        videos[f"clip{n}.mp4"] = shots
        write_video(media / f"clip{n}.mp4", shots, sound=sound)
    (media / "photos").mkdir()
    for path, label in images[1::2][:6]:
        shutil.copy2(path, media / "photos" / f"{label}.jpg")
    (media / "empty.mov").write_bytes(b"")
    (media / "junk.mkv").write_bytes(np.random.default_rng(2).integers(0, 256, 3000, dtype=np.uint8).tobytes())
    db = media.parent / f"{media.name}-db"
    report = _index(media, db)
    return media, db, videos, report


def _index(media: Path, db: Path) -> dict:
    result = CliRunner().invoke(app, ["index", str(media), "--db", str(db), "--json", "--workers", "0"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def _query(db: Path, *args: str) -> list[dict]:
    result = CliRunner().invoke(app, ["query", *args, "--db", str(db), "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)["results"]


def test_first_index_counts_and_skips_bad_files(library) -> None:
    _media, db, _videos, report = library
    assert (report["new"], report["skipped"]) == (9, 2)
    assert {Path(f["path"]).name for f in report["failures"]} == {"empty.mov", "junk.mkv"}
    assert all("\n" not in f["reason"] for f in report["failures"])
    # 12 shots; two sound tracks of 12.06 s (AAC pads them) in 1 s hops: 12 windows each, the last ending
    # at the end; their transcript segments; 6 photos
    transcripts = len(Engine(db).catalog.filter_ids("kind = 'transcript'"))
    assert 1 <= transcripts <= 3 and report["items"] == 12 + 24 + transcripts + 6


def test_text_query_finds_the_shot(library) -> None:
    """Through the Python API: the top video hit for each class is its shot (span overlapping the truth)."""
    _media, db, videos, _ = library
    engine, right = Engine(db), 0
    for name, shots in videos.items():
        for shot, (start, end) in zip(shots, shot_spans(shots)):
            hit = engine.search(f"a photo of a {WORDS.get(shot.label, shot.label)}", k=1, modality="video")[0]
            assert hit.modality == "video" and hit.fields["kind"] == "shot"
            right += Path(hit.path).name == name and hit.fields["start_s"] < end and hit.fields["end_s"] > start
    assert right >= 10  # of 12 classes


def test_video_rows_carry_file_facts(library) -> None:
    _media, db, _videos, _ = library
    hits = _query(db, "a photo", "--modality", "video", "--no-group", "-k", "100")
    shots = [h for h in hits if h["kind"] == "shot"]
    windows = [h for h in hits if h["kind"] == "window"]
    assert len(shots) == 12 and len(windows) == 24
    assert {Path(h["path"]).name for h in windows} == {"clip0.mp4", "clip1.mp4"}
    assert {(h["codec"], h["fps"], h["width"], h["height"], h["rotation"]) for h in shots + windows} == {
        ("h264", 12.0, 192, 144, 0)
    }
    assert all(h["duration_s"] == pytest.approx(12.0, abs=0.1) and h["end_s"] - h["start_s"] <= 30 for h in hits)


def test_the_sound_tracks_words_are_found_with_their_time(library) -> None:
    """The sentence spoken at 5 s of clip1 is a transcript segment found by what was said, its span within
    1 s of the truth."""
    _media, db, _videos, _ = library
    hit = _query(db, "a dog jumping into a lake", "--where", "kind = 'transcript'", "-k", "1")[0]
    assert Path(hit["path"]).name == "clip1.mp4" and hit["modality"] == "video"
    assert "dog" in hit["transcript"].lower() and abs(hit["start_s"] - 5.0) <= 1.0
    keyword = _query(db, "x", "--where", "text ILIKE '%dog%'", "-k", "5")
    assert [Path(h["path"]).name for h in keyword] == ["clip1.mp4"]


def test_table_shows_the_span(library) -> None:
    _media, db, _videos, _ = library
    result = CliRunner().invoke(app, ["query", "a photo of a pizza", "--modality", "video", "-k", "1", "--db", str(db)])
    assert result.exit_code == 0 and ".mp4 @ 00:" in result.stdout, result.stdout


def test_reindex_skips_unchanged_and_redoes_a_changed_video(library, data_dir: Path) -> None:
    media, db, videos, _ = library
    again = _index(media, db)
    assert (again["new"], again["changed"], again["unchanged"], again["items"]) == (0, 0, 9, 0)
    shots = videos["clip2.mp4"][:2]
    write_video(media / "clip2.mp4", shots)
    os.utime(media / "clip2.mp4", (1e9, 1e9))
    changed = _index(media, db)
    assert (changed["changed"], changed["unchanged"], changed["items"]) == (1, 8, 2)
    names = [Path(h["path"]).name for h in _query(db, "a photo", "--modality", "video", "--no-group", "-k", "100")]
    assert names.count("clip2.mp4") == 2


def test_classify_per_shot_and_whole(library) -> None:
    media, _db, videos, _ = library
    labels = ",".join(WORDS.get(s.label, s.label) for s in videos["clip1.mp4"])
    result = CliRunner().invoke(app, ["classify", str(media / "clip1.mp4"), "--labels", labels, "--json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)["results"]
    assert len(rows) == 4 and [r["start_s"] for r in rows] == sorted(r["start_s"] for r in rows)
    assert sum(r["label"] == WORDS.get(s.label, s.label) for r, s in zip(rows, videos["clip1.mp4"])) >= 3
    whole = CliRunner().invoke(app, ["classify", str(media / "clip1.mp4"), "--labels", labels, "--whole", "--json"])
    assert len(json.loads(whole.stdout)["results"]) == 1


def test_server_shows_the_shot_frame_and_serves_ranges(library) -> None:
    """The page's API: a shot's thumbnail is its own frame (one per shot), the video comes in byte ranges."""
    from fastapi.testclient import TestClient

    from server.app import create_app
    from server.settings import ServerSettings

    _media, db, _videos, _ = library
    with TestClient(create_app(ServerSettings(db=db))) as client:
        found = client.get("/api/search", params={"q": "a photo", "modality": "video", "where": "kind = 'shot'"})
        assert found.status_code == 200, found.text
        hits = [h for h in found.json()["results"] if h["path"].endswith("clip1.mp4")]
        shots = [{"id": h["id"]} for h in hits] + [s for h in hits for s in h.get("other_spans") or []]
        thumbs = [client.get(f"/api/items/{h['id']}/thumbnail") for h in shots]
        assert len(shots) == 4 and all(
            t.status_code == 200 and t.headers["content-type"] == "image/jpeg" for t in thumbs
        )
        assert len({t.headers["etag"] for t in thumbs}) == 4 and "placeholder" not in thumbs[0].headers["etag"]
        part = client.get(f"/api/items/{shots[0]['id']}/media", headers={"Range": "bytes=0-99"})
        assert part.status_code == 206 and len(part.content) == 100 and part.headers["content-type"] == "video/mp4"
