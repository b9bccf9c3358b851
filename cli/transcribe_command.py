"""`mmsearch transcribe FILE...`: timestamped speech of audio files as text, SRT, WebVTT or JSON."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from cli import render
from cli.errors import run_or_exit

if TYPE_CHECKING:
    from retrieval.speech.transcriber import Segment

SpeechModelOption = typer.Option(
    None, "--speech-model", help="speech model: base (default, multilingual), tiny.en, a faster-whisper folder or name"
)
LanguageOption = typer.Option(None, "--language", help="language spoken, e.g. en, es, de (default: detect per file)")
FORMATS = ("txt", "srt", "vtt", "json")
FILE_HEADER = {"txt": "# {}"}
"""The line naming each file when several are given in text (SRT and WebVTT follow one another; JSON gives
one object per file)."""


def transcribe_command(
    paths: list[Path] = typer.Argument(..., help="audio files (WAV, FLAC, OGG, MP3)"),
    output_format: str = typer.Option("txt", "--format", help="txt, srt, vtt or json"),
    speech_model: str | None = SpeechModelOption,
    language: str | None = LanguageOption,
) -> None:
    """Print what is said in each file, with the time span of every segment."""
    if output_format not in FORMATS:
        render.error(f"--format must be one of {', '.join(FORMATS)}, not {output_format!r}")
        raise typer.Exit(2)

    def action() -> None:
        from retrieval.errors import MmsearchError
        from retrieval.media.audio import load_audio
        from retrieval.speech.models import DEFAULT_SPEECH_MODEL
        from retrieval.speech.transcriber import SAMPLE_RATE, SpeechOptions, transcriber

        missing = [str(p) for p in paths if not p.is_file()]
        if missing:
            raise MmsearchError(f"file not found: {missing[0]}")
        engine = transcriber(SpeechOptions(model=speech_model or DEFAULT_SPEECH_MODEL, language=language))
        for path in paths:
            segments = engine.stream(load_audio(path, SAMPLE_RATE))
            if output_format == "json":
                render.print_json({"path": str(path.resolve()), "segments": [s.to_dict() for s in segments]})
                continue
            if len(paths) > 1 and output_format in FILE_HEADER:
                typer.echo(FILE_HEADER[output_format].format(path))
            _print_segments(segments, output_format)

    run_or_exit(action)


def _print_segments(segments: Iterable["Segment"], output_format: str) -> None:
    if output_format == "vtt":
        typer.echo("WEBVTT\n")
    for n, s in enumerate(segments, start=1):
        if output_format == "txt":
            typer.echo(f"[{render.clock(s.start_s)} – {render.clock(s.end_s)}] {s.text}")
        else:
            sep = "," if output_format == "srt" else "."
            cue = f"{_stamp(s.start_s, sep)} --> {_stamp(s.end_s, sep)}\n{s.text}\n"
            typer.echo(f"{n}\n{cue}" if output_format == "srt" else cue)


def _stamp(seconds: float, separator: str) -> str:
    """HH:MM:SS,mmm (SRT) or HH:MM:SS.mmm (WebVTT)."""
    millis = round(seconds * 1000)
    hours, rest = divmod(millis, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    return f"{hours:02d}:{minutes:02d}:{rest // 1000:02d}{separator}{rest % 1000:03d}"
