"""`mmsearch finetune`: train a lite or OpenCLIP model on your own pairs or labels (registered by cli/app.py)."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from cli.errors import run_or_exit


def finetune_command(
    out: Path = typer.Option(..., "--out", help="new folder for the fine-tuned model (must not exist)"),
    pairs: Path | None = typer.Option(None, "--pairs", help="CSV with columns image,caption"),
    labels: Path | None = typer.Option(None, "--labels", help="CSV with columns path,label"),
    base: str = typer.Option(
        "lite", "--base", help="starting model: 'lite', a fine-tune folder, or openclip:ARCH/TAG|FILE"
    ),
    epochs: int = typer.Option(20, "--epochs"),
    batch_size: int = typer.Option(128, "--batch-size"),
    lr: float = typer.Option(1e-3, "--lr"),
    train: str = typer.Option(
        "heads",
        "--train",
        help="heads | last-n-blocks (also train the tower's last --blocks) | lora (low-rank updates of them)",
    ),
    blocks: int = typer.Option(2, "--blocks", help="tower blocks trained by last-n-blocks and lora"),
    lora_rank: int = typer.Option(8, "--lora-rank", help="rank of the LoRA updates"),
    val_fraction: float = typer.Option(0.2, "--val-fraction", help="share of images held out for validation"),
    seed: int = typer.Option(0, "--seed"),
    resume: Path | None = typer.Option(None, "--resume", help="fine-tune folder or safetensors to start from"),
    wise_ft: float | None = typer.Option(
        None, "--wise-ft", help="ALPHA in \\[0,1]: keep (1-ALPHA)*start + ALPHA*trained weights"
    ),
    as_json: bool = typer.Option(False, "--json", help="print one JSON object"),
) -> None:
    """Fine-tune a model on your pairs or labels and save a new model folder."""
    from retrieval.train.finetune import FinetuneSettings, finetune
    from retrieval.train.loop import EpochStats

    def on_epoch(stats: EpochStats) -> None:
        if not as_json:
            recall = " ".join(f"{k} {v:.3f}" for k, v in stats.val.items())
            typer.echo(f"epoch {stats.epoch:>3}  loss {stats.loss:.4f}  {recall}", err=True)

    settings = FinetuneSettings(
        out=out,
        pairs=pairs,
        labels=labels,
        base=base,
        epochs=epochs,
        batch_size=batch_size,
        lr=lr,
        train=train,
        blocks=blocks,
        lora_rank=lora_rank,
        val_fraction=val_fraction,
        seed=seed,
        resume=resume,
        wise_ft=wise_ft,
    )
    report = run_or_exit(lambda: finetune(settings, on_epoch))
    if as_json:
        typer.echo(json.dumps(report.to_dict()))
        return
    typer.echo(f"saved {report.model_id} to {report.out} ({report.seconds:.0f} s, best epoch {report.best_epoch})")
    for key in report.before:
        typer.echo(f"  val t2i {key}: {report.before[key]:.3f} -> {report.after[key]:.3f}")
    if report.got_worse:
        typer.echo("warning: validation recall got worse than the base model", err=True)
