"""`mmsearch serve`: the HTTP API and web page on an index (registered by cli/app.py)."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from cli.errors import run_or_exit

if TYPE_CHECKING:
    import logging

    from server.settings import ServerSettings


def serve_command(
    db: Path | None = typer.Option(
        None,
        "--db",
        envvar="MMSEARCH_DB",
        help="index folder (default: $MMSEARCH_DB or ~/.local/share/mmsearch/default)",
    ),
    host: str = typer.Option("127.0.0.1", "--host", help="address to listen on; anything but loopback needs a token"),
    port: int = typer.Option(8765, "--port", min=0, max=65535, help="port (0: any free port)"),
    open_browser: bool = typer.Option(False, "--open", help="open the page in a browser"),
    token_file: Path | None = typer.Option(
        None, "--token-file", help="file holding the access token (else $MMSEARCH_TOKEN)"
    ),
) -> None:
    """Serve a JSON API and a search page on the index (read-only)."""
    from retrieval.engine import default_db
    from server.settings import ServerSettings, read_token

    try:
        token = read_token(token_file)
        settings = ServerSettings(db=(db or default_db()).expanduser().resolve(), host=host, port=port, token=token)
    except (OSError, ValueError) as err:
        typer.echo(f"error: {err}", err=True)
        raise typer.Exit(1) from None
    run_or_exit(lambda: _serve(settings, open_browser))


def _serve(settings: "ServerSettings", open_browser: bool) -> None:
    import dataclasses
    import logging
    import webbrowser

    import uvicorn

    from server.app import create_app

    app = create_app(settings)
    app.state.service.warm_up()
    sock = _listen(settings.host, settings.port)
    settings = dataclasses.replace(settings, port=sock.getsockname()[1])
    config = uvicorn.Config(app, log_level="info", access_log=True, server_header=False)
    logging.getLogger("uvicorn.error").setLevel(logging.WARNING)  # our line below says where we listen
    if settings.token:
        logging.getLogger("uvicorn.access").addFilter(_Redact(settings.token))
    typer.echo(f"serving {settings.url}  (Ctrl-C stops)")
    if open_browser:
        webbrowser.open(settings.url)
    uvicorn.Server(config).run(sockets=[sock])


class _Redact:
    """A logging filter writing `***` for the token wherever it appears in a record (e.g. a URL a client sent)."""

    def __init__(self, secret: str) -> None:
        self.secret = secret

    def filter(self, record: "logging.LogRecord") -> bool:
        """Redact the record in place; always keep it."""
        record.msg = str(record.msg).replace(self.secret, "***")
        if isinstance(record.args, tuple):
            record.args = tuple(str(a).replace(self.secret, "***") if isinstance(a, str) else a for a in record.args)
        return True


def _listen(host: str, port: int) -> socket.socket:
    """A listening socket on host:port, so a busy port fails before we say we are serving."""
    family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
    except OSError as err:
        sock.close()
        typer.echo(f"error: cannot listen on {host}:{port}: {err.strerror}", err=True)
        raise typer.Exit(1) from None
    sock.listen(2048)
    return sock
