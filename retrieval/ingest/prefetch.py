"""Run an iterator in a thread of this process, a bounded number of items ahead of its consumer.

Decoding photos and sound mostly runs in C code that releases the GIL (Pillow, PyAV, soundfile, numpy),
as does encoding (ONNX Runtime, torch), so one decode thread overlaps with the encoder without a worker
process: no process start, no copying of model inputs between processes.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from typing import TypeVar

T = TypeVar("T")

_POLL_S = 0.1
"""How often a producer blocked on a full queue checks whether its consumer has gone."""


def prefetched(items: Iterator[T], depth: int) -> Iterator[T]:
    """`items`, produced by a thread up to `depth` ahead; an exception there is raised here, in order, and
    closing this generator stops the thread after the item it is producing."""
    handoff: queue.Queue[tuple[bool, object]] = queue.Queue(depth)
    stop = threading.Event()

    def put(done: bool, value: object) -> bool:
        while not stop.is_set():
            try:
                handoff.put((done, value), timeout=_POLL_S)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in items:
                if not put(False, item):
                    return
            put(True, None)
        except BaseException as err:  # handed to the consumer, raised there
            put(True, err)

    threading.Thread(target=produce, name="mmsearch-prefetch", daemon=True).start()
    try:
        while True:
            done, value = handoff.get()
            if done:
                if isinstance(value, BaseException):
                    raise value
                return
            yield value  # type: ignore[misc]
    finally:
        stop.set()
