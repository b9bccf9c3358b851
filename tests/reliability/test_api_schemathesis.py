"""Fuzz the whole HTTP API from its OpenAPI schema with schemathesis: every operation (the searches, items,
thumbnails, originals, info, and the multipart uploads of search and classify), with values the schema
allows and values it forbids. No answer is a 5xx, none takes 10 s (no hang, once the text models are
warm), and `/media` only ever serves the bytes of an indexed file."""

from __future__ import annotations

import time
from collections import Counter

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error

from tests.reliability.conftest import Corpus

pytestmark = pytest.mark.slow  # ~200 requests, a few of them encode uploads

# schemathesis is imported at collection, before any test starts a thread: importing it rewrites its modules
# with ast.parse, which CPython 3.11 does not make safe against a second thread parsing at the same moment
# (a "SystemError: AST constructor recursion depth mismatch" in CI).

EXAMPLES = 12
"""Cases per operation and generation mode (9 operations x 2 modes: about 200 requests, under a minute)."""
SLOWEST_S = 10


@pytest.fixture(scope="module")
def api(small_corpus: Corpus):
    from retrieval import Engine
    from server.app import create_app
    from server.settings import ServerSettings

    db = small_corpus.root / "clean-db"
    return schemathesis.openapi.from_asgi("/openapi.json", create_app(ServerSettings(db=db), Engine(db)))


def test_schemathesis_finds_no_server_error_no_hang_no_foreign_file(api, small_corpus: Corpus) -> None:
    operations = [result.ok() for result in api.get_all_operations()]
    assert len(operations) >= 9, [op.label for op in operations]
    indexed = {(small_corpus.root / p).read_bytes() for p in small_corpus.clean.paths if not p.endswith(".csv")}
    for warm_up in ("a cat", "一只猫"):  # the first query of a script loads its text model
        assert api["/api/search"]["GET"].Case(query={"q": warm_up}).call().status_code == 200
    statuses: Counter[str] = Counter()
    slowest = 0.0
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @settings(
                max_examples=EXAMPLES,
                deadline=None,
                derandomize=True,
                database=None,
                suppress_health_check=list(HealthCheck),
            )
            @given(case=operation.as_strategy(generation_mode=mode))
            def check(case) -> None:
                nonlocal slowest
                started = time.perf_counter()
                response = case.call()
                seconds = time.perf_counter() - started
                slowest = max(slowest, seconds)
                statuses[f"{case.method} {response.status_code}"] += 1
                case.validate_response(response, checks=[not_a_server_error])
                assert seconds < SLOWEST_S, (case.as_curl_command(), seconds)
                if case.path.endswith("/media") and response.status_code in (200, 206):
                    assert any(f.startswith(response.content) for f in indexed)  # only an indexed file's bytes

            try:
                check()
            except Unsatisfiable:  # no input breaks the schema of an operation without parameters
                spec = api.raw_schema["paths"][operation.path][operation.method.lower()]
                assert mode == GenerationMode.NEGATIVE and not spec.get("parameters") and "requestBody" not in spec
    print(f"schemathesis: {sum(statuses.values())} requests, slowest {slowest:.2f} s: {dict(sorted(statuses.items()))}")
    assert statuses  # it ran
