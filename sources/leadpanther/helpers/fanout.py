"""Run one generator per task on a bounded thread pool and hand their items to one consumer.

Why: dlt consumes a resource from a single generator, but the API is read best with several client-routes
in flight at once. Items pass through a bounded queue, so memory is bounded by the queue (not by how much a
client has); a worker blocked on a full queue holds no HTTP slot, so several fan-outs started at once (one
per route) cannot starve each other: the HTTP semaphore, not the pools, bounds the requests in flight.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")

_DONE = object()


class FanOut(Generic[T, R]):
    """`start()` begins the work in the background; iterating yields items as they come and re-raises the
    first worker error; `close()` (also on leaving the iteration) cancels what is left."""

    def __init__(
        self,
        tasks: Iterable[T],
        work: Callable[[T], Iterator[R]],
        *,
        workers: int,
        queue_size: int | None = None,
        idle: bool = False,
    ) -> None:
        self.tasks = list(tasks)
        # idle=True: yield None while nothing is ready instead of waiting, so that dlt (which reads several
        # resources in turn from one thread) serves the other resources meanwhile; dlt skips None items.
        self.idle = idle
        self.work = work
        self.workers = max(1, min(workers, len(self.tasks) or 1))
        self.items: queue.Queue[object] = queue.Queue(maxsize=queue_size or max(4, 2 * workers))
        self.cancel = threading.Event()
        self.errors: list[BaseException] = []
        self.pool: ThreadPoolExecutor | None = None

    def start(self) -> FanOut[T, R]:
        if self.pool is None and self.tasks:
            self.pool = ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="lp-scan")
            for task in self.tasks:
                self.pool.submit(self._run, task)
        return self

    def _put(self, item: object) -> bool:
        while not self.cancel.is_set():
            try:
                self.items.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _run(self, task: T) -> None:
        try:
            for item in self.work(task):
                if not self._put(item):
                    return
        except BaseException as exc:  # handed to the consumer, which re-raises it
            self.errors.append(exc)
            self.cancel.set()
        finally:
            self._put(_DONE)

    def __iter__(self) -> Iterator[R]:
        self.start()
        try:
            remaining = len(self.tasks)
            while remaining:
                try:
                    item = self.items.get(timeout=0.1) if not self.idle else self.items.get_nowait()
                except queue.Empty:
                    if self.errors:
                        raise self.errors[0] from None
                    if self.idle:
                        yield None  # type: ignore[misc]
                    continue
                if item is _DONE:
                    remaining -= 1
                    if self.errors:
                        raise self.errors[0]
                    continue
                yield item  # type: ignore[misc]
            if self.errors:
                raise self.errors[0]
        finally:
            self.close()

    def close(self) -> None:
        self.cancel.set()
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)


def fan_out(
    tasks: Iterable[T], work: Callable[[T], Iterator[R]], *, workers: int, queue_size: int | None = None
) -> Iterator[R]:
    """Yield items of `work(task)` for every task as they come; re-raise the first worker error."""
    yield from FanOut(tasks, work, workers=workers, queue_size=queue_size)
