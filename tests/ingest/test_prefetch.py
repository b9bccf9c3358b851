"""The decode thread: items in order, a failure raised where they are consumed, a consumer that stops
early stops the thread."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

from retrieval.ingest.prefetch import prefetched


def test_items_arrive_in_order_and_a_failure_after_them() -> None:
    def items() -> Iterator[int]:
        yield from range(50)
        raise OSError("disk gone")

    seen = []
    with pytest.raises(OSError, match="disk gone"):
        for item in prefetched(items(), depth=3):
            seen.append(item)
    assert seen == list(range(50))


def test_a_consumer_that_stops_stops_the_thread() -> None:
    produced = []

    def endless() -> Iterator[int]:
        n = 0
        while True:
            produced.append(n)
            yield n
            n += 1

    stream = prefetched(endless(), depth=2)
    assert [next(stream) for _ in range(5)] == [0, 1, 2, 3, 4]
    stream.close()
    deadline = time.monotonic() + 5
    while any(t.name == "mmsearch-prefetch" for t in threading.enumerate()) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(t.name == "mmsearch-prefetch" for t in threading.enumerate())
    assert len(produced) <= 5 + 2 + 2  # at most `depth` ahead, plus the one in hand when it stopped
