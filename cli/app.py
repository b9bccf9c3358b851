"""The `mmsearch` command: parse arguments, call the retrieval library, render results.

Heavy libraries (torch, faiss, duckdb) are imported inside the commands, so `--help` is fast.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Optional

import typer

from cli import render
from cli.eval_commands import eval_app
from cli.finetune_command import finetune_command

if TYPE_CHECKING:
    from retrieval.engine import Engine

app = typer.Typer(
    name="mmsearch",
    help="Index photos, sounds and captions, then search them in plain language.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(eval_app, name="eval")
app.command("finetune")(finetune_command)

DB_HELP = "index folder (default: $MMSEARCH_DB or ~/.local/share/mmsearch/default)"
MODEL_HELP = "model: 'lite' (default), a `mmsearch finetune` folder, or openclip:ARCH/TAG|FILE"
DbOption = typer.Option(None, "--db", envvar="MMSEARCH_DB", help=DB_HELP)
ModelOption = typer.Option(None, "--model", help=MODEL_HELP)
JsonOption = typer.Option(False, "--json", help="print one JSON object")


def _engine(db: Optional[Path], model: Optional[str]) -> "Engine":
    from retrieval.engine import Engine

    return Engine(db, model=model)


def _run(action):  # noqa: ANN001, ANN202 - wraps any command body
    """Run `action`, turning library errors into one `error:` line and exit code 1."""
    from retrieval.errors import MmsearchError

    try:
        return action()
    except MmsearchError as err:
        render.error(str(err))
        raise typer.Exit(1) from None


@app.command()
def index(
    paths: list[Path] = typer.Argument(..., help="folders or files to index (recursive)"),
    db: Optional[Path] = DbOption,
    model: Optional[str] = ModelOption,
    batch_size: int = typer.Option(64, "--batch-size", min=1, help="items per encoder batch"),
    workers: Optional[int] = typer.Option(None, "--workers", min=0, help="decode worker processes"),
    index_type: str = typer.Option("auto", "--index-type", help="'auto' or a FAISS factory string"),
    as_json: bool = JsonOption,
) -> None:
    """Index images (and audio) under PATHS; re-running only embeds new or changed files."""
    from retrieval.pipeline import IndexSettings

    def action() -> None:
        engine = _engine(db, model)
        settings = IndexSettings(batch_size=batch_size, workers=workers)
        if as_json:
            report = engine.index(list(paths), settings, index_type)
            render.print_json({"db": str(engine.db), "model": engine.encoder.model_id, **report.to_dict()})
            return
        with render.IndexProgress("indexing") as progress:
            report = engine.index(list(paths), settings, index_type, progress=progress)
        render.index_report(report)

    _run(action)


@app.command()
def query(
    text: Optional[str] = typer.Argument(None, help="what to look for, in plain language"),
    image: Optional[Path] = typer.Option(None, "--image", help="search by an example image"),
    k: int = typer.Option(10, "-k", "--top-k", min=1, help="number of results"),
    where: Optional[str] = typer.Option(None, "--where", help="SQL predicate over catalog columns"),
    threshold: Optional[float] = typer.Option(None, "--threshold", help="minimum cosine score"),
    modality: Optional[str] = typer.Option(None, "--modality", help="only return image|audio|text items"),
    db: Optional[Path] = DbOption,
    model: Optional[str] = ModelOption,
    as_json: bool = JsonOption,
) -> None:
    """Search the index by text or by example."""
    from retrieval.errors import MmsearchError

    if sum(x is not None for x in (text, image)) != 1:
        render.error("give exactly one query: TEXT or --image PATH")
        raise typer.Exit(2)
    if modality not in (None, "image", "audio", "text"):
        render.error(f"--modality must be image, audio or text, not {modality!r}")
        raise typer.Exit(2)

    def action() -> None:
        engine = _engine(db, model)
        if image is not None and not image.is_file():
            raise MmsearchError(f"path not found: {image}")
        query_value = text if text is not None else image
        hits = engine.search(query_value, k=k, where=where, threshold=threshold, modality=modality)
        if as_json:
            shown = text if text is not None else str(image.resolve())
            render.print_json({"query": shown, "model": engine.encoder.model_id,
                               "results": [h.to_dict() for h in hits]})
        else:
            render.hits_table(hits)

    _run(action)


@app.command()
def info(db: Optional[Path] = DbOption, as_json: bool = JsonOption) -> None:
    """Where the index lives, its model, counts, dimension, index type and size on disk."""

    def action() -> None:
        details = _engine(db, None).info()
        if as_json:
            from dataclasses import asdict

            render.print_json(asdict(details))
        else:
            render.info_table(details)

    _run(action)


@app.command("rm")
def remove(
    paths: list[Path] = typer.Argument(..., help="files or folders whose items to drop"),
    db: Optional[Path] = DbOption,
) -> None:
    """Drop items whose files lie under PATHS (the files themselves are not touched)."""

    def action() -> None:
        removed = _engine(db, None).remove(list(paths))
        typer.echo(f"removed {removed} files from the index")

    _run(action)


def main() -> None:
    """Console-script entry point."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    app()
