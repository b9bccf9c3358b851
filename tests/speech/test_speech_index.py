"""Transcripts through the real CLI: indexed by default, found by meaning and by keyword, incremental."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest

from cli.app import app
from tests.fixtures.speech import speak

pytestmark = pytest.mark.slow
SPEECH = ["--speech-model", "tiny.en", "--language", "en"]


def _index(runner, folder: Path, db: Path, *extra: str, workers: int = 0) -> dict:
    command = ["index", str(folder), "--db", str(db), "--json", "--workers", str(workers), *SPEECH, *extra]
    result = runner.invoke(app, command)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def _query(runner, db: Path, *args: str) -> list[dict]:
    result = runner.invoke(app, ["query", *args, "--db", str(db), "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)["results"]


def _transcripts(runner, db: Path) -> dict[str, tuple[int, str]]:
    rows = _query(runner, db, "anything", "--where", "kind = 'transcript'", "-k", "50", "--no-group")
    return {Path(r["path"]).name: (r["id"], r["text"]) for r in rows}


def test_spoken_words_are_found_by_meaning_and_keyword(runner, spoken: Path, tmp_path: Path) -> None:
    db = tmp_path / "db"
    _index(runner, spoken, db)
    best = _query(runner, db, "a bill for the accountants", "-k", "1", "--modality", "audio")[0]
    assert Path(best["path"]).name == "invoice.wav" and "invoice" in best["transcript"].lower()
    assert best["modality"] == "audio" and best["start_s"] == 0.0 and best["end_s"] > 2.0
    keyword = _query(runner, db, "x", "--where", "text ILIKE '%tomorrow%'", "--no-group")
    assert [Path(r["path"]).name for r in keyword] == ["weather.wav"]
    assert "tone.wav" not in _transcripts(runner, db)


def test_only_changed_files_are_transcribed_again(runner, spoken: Path, tmp_path: Path) -> None:
    """Through a worker process, in a process that has already run torch (a forked worker would hang)."""
    folder, db = tmp_path / "clips", tmp_path / "db"
    shutil.copytree(spoken, folder)
    _index(runner, folder, db, workers=1)
    before = _transcripts(runner, db)
    again = _index(runner, folder, db, workers=1)
    assert (again["new"], again["changed"], again["unchanged"]) == (0, 0, 3)
    speak("Remember to water the plants in the garden.", folder / "weather.wav")
    changed = _index(runner, folder, db, workers=1)
    assert (changed["changed"], changed["unchanged"]) == (1, 2)
    after = _transcripts(runner, db)
    assert after["invoice.wav"] == before["invoice.wav"]  # same row: not transcribed again
    assert "plants" in after["weather.wav"][1].lower()


def test_without_the_speech_extra(runner, spoken: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "faster_whisper", None)  # `import faster_whisper` now fails
    hint = "error: speech recognition needs the speech extra: pip install 'mmsearch[speech]'"
    result = runner.invoke(app, ["transcribe", str(spoken / "invoice.wav")])
    assert (result.exit_code, result.stderr.strip()) == (1, hint)
    result = runner.invoke(app, ["index", str(spoken), "--db", str(tmp_path / "a"), "--transcribe"])
    assert (result.exit_code, result.stderr.strip()) == (1, hint)
    report = _index(runner, spoken, tmp_path / "b")  # transcription on by default: skipped quietly
    assert report["new"] == 3 and not _transcripts(runner, tmp_path / "b")


def test_transcribe_command_formats(runner, spoken: Path) -> None:
    path = str(spoken / "invoice.wav")
    txt = runner.invoke(app, ["transcribe", path, "--speech-model", "tiny.en"])
    assert txt.exit_code == 0, txt.output
    assert txt.stdout.startswith("[00:00.0 – ") and "invoice" in txt.stdout.lower()
    srt = runner.invoke(app, ["transcribe", path, "--speech-model", "tiny.en", "--format", "srt"]).stdout
    assert srt.startswith("1\n00:00:00,000 --> 00:00:0")
    vtt = runner.invoke(app, ["transcribe", path, "--speech-model", "tiny.en", "--format", "vtt"]).stdout
    assert vtt.startswith("WEBVTT\n\n00:00:00.000 --> ")
    segments = json.loads(
        runner.invoke(app, ["transcribe", path, "--speech-model", "tiny.en", "--format", "json"]).stdout
    )
    assert segments["segments"][0]["language"] == "en"
