"""Overlap for ingest jobs: the next batch is parsed and the last one committed while the caller maps.

The heavy work of each stage releases the GIL (numba kernels compiled ``nogil``, OpenSSL's
SHA-256, file reads, Parquet encoding, fsync), so a parse thread and a commit thread keep a
second core busy beside the mapping thread. At most one batch waits between stages, so
memory holds a few batches whatever the chain length. Commits run one at a time and in order,
so the store's atomic commit protocol, and a resumed run's bytes, are what they are without threads.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Generator, Iterator, MutableMapping
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")
_END = object()


def _put(q: queue.Queue, item: Any, stop: threading.Event) -> bool:
    """Put ``item`` unless the consumer has gone away; False if it has."""
    while not stop.is_set():
        try:
            q.put(item, timeout=0.05)
            return True
        except queue.Full:
            continue
    return False


def ahead(items: Iterator[T], depth: int = 1, name: str = "chaintrail-ahead",
          cpu: MutableMapping[str, float] | None = None) -> Generator[T, None, None]:
    """The items of ``items``, produced by a background thread up to ``depth`` ahead of the consumer.

    An error raised while producing is raised to the consumer where that item would have come.
    Closing the returned generator early stops the producer after the item it is working on.
    ``cpu[name]`` is credited with the producer thread's CPU seconds.
    """
    q: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def produce() -> None:
        t0 = time.thread_time()
        try:
            for it in items:
                if not _put(q, (it, None), stop):
                    return
            _put(q, (_END, None), stop)
        except BaseException as exc:   # handed to the consumer, which re-raises it
            _put(q, (None, exc), stop)
        finally:
            if cpu is not None:
                cpu[name] = cpu.get(name, 0.0) + time.thread_time() - t0

    worker = threading.Thread(target=produce, name=name, daemon=True)
    worker.start()
    try:
        while True:
            it, exc = q.get()
            if exc is not None:
                raise exc
            if it is _END:
                return
            yield it
    finally:
        stop.set()
        worker.join()


class InOrder:
    """Runs jobs one at a time, in submission order, in a background thread.

    ``submit`` first waits for the job ``depth`` submissions back (re-raising its error), so at most
    ``depth`` jobs are queued or running; ``wait`` and ``close`` wait for all of them. ``cpu[name]`` is
    credited with the jobs' CPU seconds.
    """

    def __init__(self, name: str = "chaintrail-commit", cpu: MutableMapping[str, float] | None = None,
                 depth: int = 1):
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix=name)
        self._jobs: list[Future] = []
        self._depth = depth
        self._name, self._cpu = name, cpu

    def _timed(self, fn: Callable[..., Any], *args: Any) -> Any:
        t0 = time.thread_time()
        try:
            return fn(*args)
        finally:
            if self._cpu is not None:
                self._cpu[self._name] = self._cpu.get(self._name, 0.0) + time.thread_time() - t0

    def wait(self) -> Any:
        """Wait for every job submitted; the last one's result (the first error raised)."""
        out = None
        while self._jobs:
            out = self._jobs.pop(0).result()
        return out

    def submit(self, fn: Callable[..., Any], *args: Any) -> None:
        while len(self._jobs) >= self._depth:
            self._jobs.pop(0).result()
        self._jobs.append(self._pool.submit(self._timed, fn, *args))

    def close(self) -> None:
        try:
            self.wait()
        finally:
            self._pool.shutdown(wait=True)

    def __enter__(self) -> "InOrder":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
