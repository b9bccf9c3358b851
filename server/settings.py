"""Server settings: one frozen dataclass, and where the token comes from."""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path

TOKEN_ENV = "MMSEARCH_TOKEN"
MB = 1024 * 1024


MAX_UPLOAD_BYTES = 25 * MB
MAX_QUERY_CHARS = 1_000
MAX_WHERE_CHARS = 2_000
MAX_FILTER_CHARS = 1_000
MAX_K = 1_000
MAX_CLASSIFY_FILES = 20
MAX_LABELS = 100


@dataclass(frozen=True)
class ServerSettings:
    """Everything `create_app` needs: the index folder, the bind address, the token, the thumbnail cache."""

    db: Path
    host: str = "127.0.0.1"
    port: int = 8765
    token: str | None = None
    thumbnail_px: int = 256
    thumbnail_cache_bytes: int = 256 * MB

    def __post_init__(self) -> None:
        if not is_loopback(self.host) and not self.token:
            raise ValueError(
                f"refusing to listen on {self.host} without a token: give --token-file FILE or set ${TOKEN_ENV}"
            )

    @property
    def url(self) -> str:
        """The address to open in a browser."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"


def is_loopback(host: str) -> bool:
    """Whether `host` only accepts connections from this machine ('localhost' or a loopback address)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def read_token(token_file: Path | None) -> str | None:
    """The token from `token_file` (first line, stripped), else $MMSEARCH_TOKEN, else None."""
    if token_file is not None:
        token = token_file.expanduser().read_text(encoding="utf-8").strip()
        if not token:
            raise ValueError(f"token file {token_file} is empty")
        return token
    return os.environ.get(TOKEN_ENV) or None
