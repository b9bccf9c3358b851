"""Fuzz every GET endpoint of the HTTP API with hostile values (path traversal, SQL, NUL, huge numbers and
strings) placed by its OpenAPI schema: no answer is a 5xx, none hangs (10 s, once the text models are warm),
and no byte of a file outside the index is served. Schemathesis fuzzes every operation from the schema
itself in test_api_schemathesis.py."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.reliability.conftest import Corpus

HOSTILE = (
    "../../../../etc/passwd",
    "/etc/passwd",
    "%2e%2e%2f%2e%2e%2fetc%2fpasswd",
    "' OR 1=1 --",
    "pg_sleep(5)",
    "repeat('a', 2000000000) = ''",
    "path LIKE '%'; DROP TABLE items",
    "\x00",
    "🐱" * 300,
    "a" * 5000,
    "9" * 40,
    "-1",
    "NaN",
    "1e309",
    "2026-13-45",
)


def _value(schema: dict) -> st.SearchStrategy[object]:
    options = schema.get("anyOf") or schema.get("oneOf")
    if options:
        return st.one_of([_value(option) for option in options])
    if "enum" in schema:
        return st.one_of(st.sampled_from(schema["enum"]), st.sampled_from(HOSTILE))
    kind = schema.get("type")
    if kind == "integer":
        return st.one_of(st.integers(-(2**70), 2**70), st.integers(-2, 2000), st.sampled_from(HOSTILE))
    if kind == "number":
        return st.one_of(st.floats(allow_nan=True), st.sampled_from(HOSTILE))
    if kind == "boolean":
        return st.one_of(st.booleans(), st.sampled_from(HOSTILE))
    return st.one_of(st.text(max_size=60), st.sampled_from(HOSTILE), st.sampled_from(("a cat", "modality = 'image'")))


@pytest.fixture(scope="module")
def client(small_corpus: Corpus) -> Iterator:
    from fastapi.testclient import TestClient

    from retrieval import Engine
    from server.app import create_app
    from server.settings import ServerSettings

    db = small_corpus.root / "clean-db"
    with TestClient(create_app(ServerSettings(db=db), Engine(db)), raise_server_exceptions=False) as test_client:
        yield test_client


def _fuzz(client, small_corpus: Corpus, examples: int) -> dict[str, int]:
    schema = client.get("/openapi.json").json()
    endpoints = sorted(
        (path, op)
        for path, ops in schema["paths"].items()
        for method, op in ops.items()
        if method == "get" and path not in ("/", "/docs", "/login")
    )
    indexed = {Path(p).read_bytes() for p in _indexed_paths(small_corpus)}
    for warm_up in ("a cat", "一只猫", "\U000975db"):  # the first query of a script loads its text model
        assert client.get("/api/search", params={"q": warm_up}).status_code == 200
    statuses: dict[str, int] = {}

    @settings(
        max_examples=examples, deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck)
    )
    @given(st.data())
    def check(data: st.DataObject) -> None:
        path, op = data.draw(st.sampled_from(endpoints))
        url, params = path, {}
        for parameter in op.get("parameters", []):
            value = data.draw(_value(parameter.get("schema", {})))
            if parameter["in"] == "path":
                url = url.replace("{" + parameter["name"] + "}", quote(str(value), safe=""))
            elif parameter.get("required") or data.draw(st.booleans()):
                params[parameter["name"]] = str(value)
        started = time.perf_counter()
        answer = client.get(url, params=params)
        seconds = time.perf_counter() - started
        statuses[str(answer.status_code)] = statuses.get(str(answer.status_code), 0) + 1
        assert answer.status_code < 500, (url, params, answer.text[:300])
        assert seconds < 10, (url, params, seconds)
        if url.endswith("/media") and answer.status_code == 200:
            assert answer.content in indexed  # only ever a file the index holds

    check()
    return statuses


def _indexed_paths(corpus: Corpus) -> list[Path]:
    return [corpus.root / p for p in corpus.clean.paths if not p.endswith(".csv")]


def test_api_fuzz_quick(client, small_corpus: Corpus) -> None:
    print(f"API fuzz: {_fuzz(client, small_corpus, 40)}")
