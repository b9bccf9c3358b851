"""The `mmsearch` command: parse arguments, call the retrieval library, render results.

Heavy libraries (torch, faiss, duckdb) are imported inside the commands, so `--help` is fast.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, cast

import typer

from cli import render
from cli.errors import run_or_exit
from cli.eval_commands import eval_app
from cli.finetune_command import finetune_command
from cli.serve_command import serve_command
from cli.transcribe_command import LanguageOption, SpeechModelOption, transcribe_command

if TYPE_CHECKING:
    from retrieval.engine import Engine
    from retrieval.types import Modality

app = typer.Typer(
    name="mmsearch",
    help="Index photos, sounds and captions, then search them in plain language.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(eval_app, name="eval")
app.command("finetune")(finetune_command)
app.command("serve")(serve_command)
app.command("transcribe")(transcribe_command)

DB_HELP = "index folder (default: $MMSEARCH_DB or ~/.local/share/mmsearch/default)"
MODEL_HELP = "model: 'lite' (default), a `mmsearch finetune` folder, or openclip:ARCH/TAG|FILE"
DbOption = typer.Option(None, "--db", envvar="MMSEARCH_DB", help=DB_HELP)
ModelOption = typer.Option(None, "--model", help=MODEL_HELP)
JsonOption = typer.Option(False, "--json", help="print one JSON object")
LangOption = typer.Option(
    "auto", "--lang", help="language of the query text or labels, e.g. zh, es, de (default: detect)"
)


def _engine(db: Path | None, model: str | None) -> "Engine":
    from retrieval.engine import Engine

    return Engine(db, model=model)


@app.command()
def index(
    paths: list[Path] | None = typer.Argument(None, help="folders or files to index (recursive)"),
    captions: list[Path] | None = typer.Option(
        None, "--captions", help="CSV (text|caption column, optional id) or .txt (one text per line) to index"
    ),
    db: Path | None = DbOption,
    model: str | None = ModelOption,
    batch_size: int = typer.Option(64, "--batch-size", min=1, help="items per encoder batch"),
    workers: int | None = typer.Option(
        None,
        "--workers",
        min=0,
        help="decode worker processes; 0: a decode thread, the default on 2 cores (with --ray: embedding actors)",
    ),
    index_type: str = typer.Option("auto", "--index-type", help="'auto' or a FAISS factory string"),
    video_fps: float = typer.Option(1.0, "--video-fps", min=0.01, max=30.0, help="video frames sampled per second"),
    transcribe: bool | None = typer.Option(
        None, "--transcribe/--no-transcribe", help="transcribe speech (default: on when the speech extra is installed)"
    ),
    speech_model: str | None = SpeechModelOption,
    language: str | None = LanguageOption,
    follow_links: bool = typer.Option(
        False, "--follow-links", help="follow links leaving PATHS (files and folders; loops are skipped)"
    ),
    ray: str | None = typer.Option(
        None,
        "--ray",
        help="index on a Ray cluster: auto, local or \\[ray://]host:port (images, audio, captions; "
        "videos and transcripts are local-only for now); needs pip install 'mmsearch\\[ray]'",
    ),
    gpus_per_worker: float | None = typer.Option(
        None, "--gpus-per-worker", min=0, help="with --ray: GPUs per embedding actor (default: 1 with GPUs)"
    ),
    ivf_on_disk: bool = typer.Option(
        False, "--ivf-on-disk", help="with --ray: build an IVF index with its inverted lists on disk"
    ),
    runtime: str = typer.Option(
        "auto",
        "--runtime",
        help="what runs the image and audio towers: onnx (ONNX Runtime, CPU), torch, or auto "
        "(onnx when pip install 'mmsearch\\[onnx]' is done and the run is on the CPU)",
    ),
    as_json: bool = JsonOption,
) -> None:
    """Index images, sounds and videos under PATHS; re-running only embeds new or changed files."""
    from retrieval.types import IndexSettings

    def action() -> None:
        engine = _engine(db, model)
        settings = IndexSettings(
            batch_size=batch_size,
            workers=workers,
            video_fps=video_fps,
            transcribe=transcribe,
            speech_model=speech_model,
            language=language,
            follow_links=follow_links,
            ray=ray,
            gpus_per_worker=gpus_per_worker,
            ivf_on_disk=ivf_on_disk,
            runtime=runtime,
        )
        if as_json:
            report = engine.index(list(paths or []), settings, index_type, captions=list(captions or []))
            render.print_json({"db": str(engine.db), "model": engine.encoder.model_id, **report.to_dict()})
            return
        with render.IndexProgress("indexing") as progress:
            report = engine.index(list(paths or []), settings, index_type, progress, list(captions or []))
        render.index_report(report)

    run_or_exit(action)


@app.command()
def query(
    text: str | None = typer.Argument(None, help="what to look for, in plain language"),
    image: Path | None = typer.Option(None, "--image", help="search by an example image"),
    audio: Path | None = typer.Option(None, "--audio", help="search by an example sound (WAV, FLAC, OGG)"),
    k: int = typer.Option(10, "-k", "--top-k", min=1, help="number of results"),
    where: str | None = typer.Option(None, "--where", help="SQL predicate over catalog columns"),
    threshold: float | None = typer.Option(None, "--threshold", help="minimum cosine score"),
    modality: str | None = typer.Option(None, "--modality", help="only return items of image|audio|video|text files"),
    no_group: bool = typer.Option(
        False, "--no-group", help="list every matching span of a sound or video as its own result"
    ),
    lang: str = LangOption,
    db: Path | None = DbOption,
    model: str | None = ModelOption,
    as_json: bool = JsonOption,
) -> None:
    """Search the index by text or by example."""
    from retrieval.errors import MmsearchError
    from retrieval.types import MODALITIES

    example = image if image is not None else audio
    if sum(x is not None for x in (text, image, audio)) != 1:
        render.error("give exactly one query: TEXT, --image PATH or --audio PATH")
        raise typer.Exit(2)
    if modality is not None and modality not in MODALITIES:
        render.error(f"--modality must be one of {', '.join(MODALITIES)}, not {modality!r}")
        raise typer.Exit(2)

    def action() -> None:
        engine = _engine(db, model)
        query_value: str | Path
        if text is not None:
            query_value, shown = text, text
        elif example is not None and example.is_file():
            query_value, shown = example, str(example.resolve())
        else:
            raise MmsearchError(f"path not found: {example}")
        hits = engine.search(
            query_value,
            k=k,
            where=where,
            threshold=threshold,
            modality=cast("Modality | None", modality),
            group=not no_group,
            lang=lang,
        )
        if as_json:
            render.print_json(
                {"query": shown, "model": engine.encoder.model_id, "results": [h.to_dict() for h in hits]}
            )
        else:
            render.hits_table(hits)

    run_or_exit(action)


@app.command()
def info(db: Path | None = DbOption, as_json: bool = JsonOption) -> None:
    """Where the index lives, its model, counts, dimension, index type and size on disk."""

    def action() -> None:
        details = _engine(db, None).info()
        if as_json:
            from dataclasses import asdict

            render.print_json(asdict(details))
        else:
            render.info_table(details)

    run_or_exit(action)


@app.command("rm")
def remove(
    paths: list[Path] = typer.Argument(..., help="files or folders whose items to drop"),
    db: Path | None = DbOption,
) -> None:
    """Drop items whose files lie under PATHS (the files themselves are not touched)."""

    def action() -> None:
        removed = _engine(db, None).remove(list(paths))
        typer.echo(f"removed {removed} files from the index")

    run_or_exit(action)


@app.command("classify")
def classify_command(
    paths: list[Path] = typer.Argument(..., help="image or audio files, or folders of them"),
    labels: str | None = typer.Option(None, "--labels", help="comma-separated labels, e.g. 'cat,dog,car'"),
    labels_file: Path | None = typer.Option(None, "--labels-file", help="text file with one label per line"),
    template: list[str] | None = typer.Option(
        None, "--template", help="prompt with {} for the label; repeat for an ensemble (default: per modality)"
    ),
    top_k: int = typer.Option(3, "-k", "--top-k", min=1, help="labels to show per input"),
    threshold: float | None = typer.Option(
        None, "--threshold", help="answer 'none' when the best probability is below this"
    ),
    model: str | None = ModelOption,
    as_json: bool = JsonOption,
    csv_out: Path | None = typer.Option(None, "--csv", help="also write source,label,probability rows here"),
    lang: str = LangOption,
    whole: bool = typer.Option(False, "--whole", help="classify each video as one clip instead of per shot"),
) -> None:
    """Zero-shot classification of images, sounds and videos (per shot) among LABELS."""
    from retrieval.errors import MmsearchError

    def action() -> None:
        from retrieval.encoders.registry import DEFAULT_MODEL, load_encoder
        from retrieval.query.zeroshot import classify_inputs

        names = _labels(labels, labels_file)
        encoder = load_encoder(model or DEFAULT_MODEL)
        results = classify_inputs(encoder, list(paths), names, template, top_k, threshold, lang, whole)
        if csv_out:
            render.write_classification_csv(csv_out, results)
        if as_json:
            render.print_json({"labels": names, "results": [r.to_dict() for r in results]})
        else:
            render.classification_table(results)

    def _labels(inline: str | None, file: Path | None) -> list[str]:
        if file is not None and inline is None:
            if not file.is_file():
                raise MmsearchError(f"labels file not found: {file}")
            return [line.strip() for line in file.read_text(encoding="utf-8").splitlines() if line.strip()]
        if inline is not None and file is None:
            return [part.strip() for part in inline.split(",") if part.strip()]
        raise MmsearchError("give the labels with exactly one of --labels or --labels-file")

    run_or_exit(action)


def main() -> None:
    """Console-script entry point."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    app()
