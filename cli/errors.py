"""The one place where library errors become a CLI outcome: one `error:` line and exit code 1."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import typer

T = TypeVar("T")


def run_or_exit(action: Callable[[], T]) -> T:
    """Run `action`; an MmsearchError becomes `error: <message>` on stderr and exit code 1."""
    from retrieval.errors import MmsearchError

    try:
        return action()
    except MmsearchError as err:
        typer.echo(f"error: {err}", err=True)
        raise typer.Exit(1) from None
