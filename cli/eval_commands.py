"""`mmsearch eval retrieval|zeroshot`: measure a model on a captions or labels CSV."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer

from cli.errors import run_or_exit

eval_app = typer.Typer(help="Measure a model: caption retrieval recall or zero-shot accuracy.", no_args_is_help=True)

MODEL_HELP = "model: 'lite' or a folder written by `mmsearch finetune`"


def _encoder(model: str) -> Any:
    from retrieval.encoders.registry import load_encoder

    return load_encoder(model)


@eval_app.command("retrieval")
def retrieval_command(
    captions: Path = typer.Option(..., "--captions", help="CSV with columns image,caption (paths relative to it)"),
    model: str = typer.Option("lite", "--model", help=MODEL_HELP),
    as_json: bool = typer.Option(False, "--json", help="print one JSON object"),
) -> None:
    """Text->image and image->text recall@1/5/10."""
    from retrieval.evaluation.runs import eval_retrieval

    result = run_or_exit(lambda: eval_retrieval(captions, _encoder(model)))
    if as_json:
        typer.echo(json.dumps(result))
        return
    typer.echo(f"model {result['model']}: {result['n_images']} images, {result['n_texts']} texts")
    typer.echo(f"{'direction':<10} {'R@1':>6} {'R@5':>6} {'R@10':>6}")
    for key, name in (("t2i", "text->img"), ("i2t", "img->text")):
        r = result[key]
        typer.echo(f"{name:<10} {r['R@1']:>6.3f} {r['R@5']:>6.3f} {r['R@10']:>6.3f}")


@eval_app.command("zeroshot")
def zeroshot_command(
    labels: Path = typer.Option(..., "--labels", help="CSV with columns path,label (paths relative to it)"),
    template: list[str] | None = typer.Option(
        None, "--template", help="prompt template with {} for the label; repeat for an ensemble"
    ),
    split: str | None = typer.Option(None, "--split", help="only rows whose split column equals this"),
    model: str = typer.Option("lite", "--model", help=MODEL_HELP),
    as_json: bool = typer.Option(False, "--json", help="print one JSON object"),
) -> None:
    """Zero-shot classification accuracy (top-1/top-5) over the CSV's distinct labels."""
    from retrieval.evaluation.runs import eval_zeroshot

    templates = list(template) if template else None
    result = run_or_exit(lambda: eval_zeroshot(labels, _encoder(model), templates, split=split))
    if as_json:
        typer.echo(json.dumps(result))
        return
    typer.echo(f"model {result['model']}: {result['n']} items, {result['classes']} classes")
    typer.echo(f"top-1 {result['top1']:.3f}   top-5 {result['top5']:.3f}")
