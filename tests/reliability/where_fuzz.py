"""`python -m tests.reliability.where_fuzz CATALOG EXAMPLES`: fuzz `Catalog.filter_ids` with hypothesis
in a fresh process (so its peak RSS is the filter's, not a model's) and print one JSON line of figures.

Inputs come from a grammar of SQL-like expressions over the catalog's columns (comparisons, LIKE, IN
lists, BETWEEN, IS NULL, function calls with huge arguments, boolean combinations), raw random text,
and the known-bad ones (KNOWN_BAD). Every input must run or raise FilterError with one line.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from indexes.catalog import ITEM_COLUMNS, Catalog
from indexes.errors import FilterError
from indexes.sql_filter import UNBOUNDED_FUNCTIONS

KNOWN_BAD = (
    "pg_sleep(5)",
    "sleep_ms(5000) IS NULL",
    "repeat('a', 2000000000) = ''",
    "length(bitstring('1', 2000000000)) > 0",
    "id IN (WITH RECURSIVE t(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM t) SELECT n FROM t)",
    "WITH RECURSIVE t(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM t) SELECT * FROM t",
    "path IN (" + ", ".join(f"'{n}'" for n in range(50_000)) + ")",
    "id IN (" + ", ".join(map(str, range(1_500))) + ")",
    "1 = 1; DROP TABLE items",
    "read_text('/etc/passwd') IS NOT NULL",
    "path = (SELECT path FROM read_csv('/etc/passwd'))",
    "list_sum(range(1000000000)) > 0",
    "error('boom') IS NULL",
)
FUNCTIONS = (
    "length",
    "lower",
    "upper",
    "substr",
    "concat",
    "replace",
    "regexp_matches",
    "strftime",
    "abs",
    "round",
    "coalesce",
    "hash",
    "md5",
    "split_part",
    "to_base",
    "levenshtein",
    "list_value",
    "string_split",
    "starts_with",
    "pg_sleep",
    "sleep_ms",
    *sorted(UNBOUNDED_FUNCTIONS),
)
OPERATORS = ("=", "<>", "<", ">", "<=", ">=", "LIKE", "ILIKE", "||", "+", "*", "/", "%")

text = st.text(st.characters(codec="utf-8"), max_size=30)
literal = st.one_of(
    st.integers(-(2**63), 2**63).map(str),
    st.sampled_from(["2000000000", "0", "-1", "1e308", "NULL", "TRUE"]),
    st.floats(allow_nan=False).map(repr),
    text.map(lambda s: "'" + s.replace("'", "''") + "'"),
    text,
)
column = st.sampled_from(ITEM_COLUMNS + ("vector", "nope", '"path"'))


def _expressions(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.one_of(
        st.tuples(children, st.sampled_from(OPERATORS), children).map(" ".join),
        st.tuples(st.sampled_from(("AND", "OR")), children, children).map(lambda t: f"({t[1]} {t[0]} {t[2]})"),
        children.map(lambda e: f"NOT ({e})"),
        children.map(lambda e: f"{e} IS NULL"),
        st.tuples(children, children, children).map(lambda t: f"{t[0]} BETWEEN {t[1]} AND {t[2]}"),
        st.tuples(column, st.lists(literal, max_size=50)).map(lambda t: f"{t[0]} IN ({', '.join(t[1]) or 'NULL'})"),
        st.tuples(st.sampled_from(FUNCTIONS), st.lists(children, max_size=3)).map(
            lambda t: f"{t[0]}({', '.join(t[1])})"
        ),
    )


predicate = st.one_of(st.recursive(st.one_of(column, literal), _expressions, max_leaves=12), text)


def fuzz(catalog: Catalog, examples: int) -> dict[str, object]:
    """Run `examples` generated inputs (plus KNOWN_BAD); returns counts, slowest seconds and peak RSS."""
    figures: dict[str, object] = {"ran": 0, "refused": 0, "slowest_s": 0.0, "slowest": ""}

    @settings(
        max_examples=examples, deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck)
    )
    @given(predicate)
    def check(where: str) -> None:
        started = time.perf_counter()
        try:
            catalog.filter_ids(where)
            figures["ran"] = int(figures["ran"]) + 1  # type: ignore[call-overload]
        except FilterError as err:
            assert str(err) and "\n" not in str(err), repr(str(err))
            figures["refused"] = int(figures["refused"]) + 1  # type: ignore[call-overload]
        seconds = time.perf_counter() - started
        if seconds > float(figures["slowest_s"]):  # type: ignore[arg-type]
            figures["slowest_s"], figures["slowest"] = round(seconds, 3), where[:80]
        assert seconds < 2, f"{where[:200]!r} took {seconds:.1f} s"

    for bad in reversed(KNOWN_BAD):
        check = example(bad)(check)
    check()
    figures["peak_rss_mb"] = peak_rss_mb()
    return figures


def peak_rss_mb() -> int:
    """This process's peak resident memory (VmHWM: unlike ru_maxrss it does not carry the parent's over exec)."""
    status = Path("/proc/self/status").read_text()
    return int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmHWM:"))) // 1024


if __name__ == "__main__":
    print(json.dumps(fuzz(Catalog(Path(sys.argv[1])), int(sys.argv[2]))))
