"""Terminal and JSON rendering of results; the only module that formats output for people."""

from __future__ import annotations

import csv
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

if TYPE_CHECKING:
    from retrieval.engine import IndexInfo
    from retrieval.query.zeroshot import Classification
    from retrieval.types import IndexReport, SearchHit


def print_json(payload: Any) -> None:
    """One JSON object on stdout."""
    typer.echo(json.dumps(payload, ensure_ascii=False, default=str))


def error(message: str) -> None:
    """One `error: ...` line on stderr."""
    typer.echo(f"error: {message}", err=True)


def hits_table(hits: Sequence["SearchHit"]) -> None:
    """rank, score, path (with the time span of audio and video items, and the words of text items);
    a file's other matching spans follow on indented lines."""
    if not hits:
        typer.echo("no results")
        return
    width = len(str(len(hits)))
    for hit in hits:
        typer.echo(f"{hit.rank:>{width}} {hit.score:7.4f}  {hit.path}{_span_text(hit.fields)}")
        others = hit.fields.get("other_spans") or []
        for span in others[:MORE_SPANS_SHOWN]:
            typer.echo(f"{'':>{width}} {span['score']:7.4f}    also{_span_text(span)}")
        if len(others) > MORE_SPANS_SHOWN:
            typer.echo(f"{'':>{width}}          ... {len(others) - MORE_SPANS_SHOWN} more in this file")


MORE_SPANS_SHOWN = 3


def _span_text(fields: dict[str, Any]) -> str:
    text = ""
    if fields.get("start_s") is not None:
        text += f" @ {clock(fields['start_s'])}–{clock(fields['end_s'])}"
    if fields.get("text"):
        text += f"  {fields['text']!r}"
    return text


def clock(seconds: float) -> str:
    """A time offset as mm:ss.s (h:mm:ss.s from an hour on)."""
    minutes, secs = divmod(round(max(0.0, float(seconds)), 1), 60)
    hours, minutes = divmod(int(minutes), 60)
    return f"{hours}:{minutes:02d}:{secs:04.1f}" if hours else f"{minutes:02d}:{secs:04.1f}"


def classification_table(results: Sequence["Classification"]) -> None:
    """One line per input (per shot of a video): source and span, then label (probability) pairs; 'none'
    under the threshold."""
    for result in results:
        ranked = ", ".join(f"{s.label} ({s.probability:.2f})" for s in result.scores)
        verdict = result.label if result.label is not None else "none"
        span = _span_text({"start_s": result.start_s, "end_s": result.end_s})
        typer.echo(f"{result.source}{span}: {verdict}  [{ranked}]")


def write_classification_csv(path: Path, results: Sequence["Classification"]) -> None:
    """source,modality,label,probability per input (label empty under the threshold), written atomically."""
    from indexes.atomic import atomic_path

    with atomic_path(path) as tmp, open(tmp, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["source", "modality", "label", "probability"])
        for r in results:
            writer.writerow([r.source, r.modality, r.label or "", f"{r.scores[0].probability:.6f}"])


def index_report(report: "IndexReport") -> None:
    """Counts of an indexing run and the files that were skipped."""
    runtime = f" ({report.runtime})" if report.runtime else ""
    typer.echo(
        f"indexed in {report.seconds:.1f}s{runtime}: new {report.new}, changed {report.changed}, "
        f"unchanged {report.unchanged}, moved {report.moved}, duplicates {report.duplicates}, "
        f"removed {report.removed}, skipped {report.skipped} ({report.items} vectors written)"
    )
    if report.links_skipped:
        from retrieval.media.scan import LINK_SKIPS

        why = ", ".join(f"{n} {LINK_SKIPS.get(k, k)}" for k, n in sorted(report.links_skipped.items()))
        typer.echo(f"links skipped: {why}")
    for _path, reason in report.failures:
        typer.echo(f"skipped: {reason}", err=True)


def info_table(info: "IndexInfo") -> None:
    """`mmsearch info` as aligned key/value lines."""
    counts = ", ".join(f"{k} {v}" for k, v in sorted(info.counts.items())) or "empty"
    rows = [
        ("index", info.db),
        ("model", info.model_id),
        ("dim", str(info.dim)),
        ("index type", info.index_type),
        ("items", counts),
        ("files", str(info.files)),
        ("size on disk", _human_bytes(info.bytes_on_disk)),
        ("created", info.created_at),
    ]
    for key, value in rows:
        typer.echo(f"{key + ':':<14}{value}")


def _human_bytes(size: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GiB"


class IndexProgress:
    """Progress bar on stderr with files/s and ETA, fed by the pipeline's progress callback."""

    def __init__(self, label: str) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        self._progress = Progress(
            TextColumn(label),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[rate]:>8.1f} files/s"),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            console=Console(file=sys.stderr),
        )
        self._task = self._progress.add_task(label, total=None, rate=0.0)
        self._started = 0.0

    def __enter__(self) -> "IndexProgress":
        return self

    def __exit__(self, *exc: object) -> None:
        if self._started:
            self._progress.stop()

    def __call__(self, done: int, total: int) -> None:
        if not self._started:  # shown only once files are actually being processed
            self._started = time.perf_counter()
            self._progress.start()
        rate = done / max(time.perf_counter() - self._started, 1e-9)
        self._progress.update(self._task, completed=done, total=total, rate=rate)
