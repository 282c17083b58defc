"""Run one generator per task on a bounded thread pool and hand their items to one consumer.

Why: dlt consumes a resource from a single generator, but the API is read best with several client-routes
in flight at once. Items pass through a bounded queue, so memory is bounded by the queue (not by how much a
client has); a worker blocked on a full queue holds no HTTP slot.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")

_DONE = object()


def fan_out(
    tasks: Iterable[T], work: Callable[[T], Iterator[R]], *, workers: int, queue_size: int | None = None
) -> Iterator[R]:
    """Yield items of `work(task)` for every task as they come; re-raise the first worker error."""
    task_list = list(tasks)
    if not task_list:
        return
    items: queue.Queue[object] = queue.Queue(maxsize=queue_size or max(4, 2 * workers))
    cancel = threading.Event()
    errors: list[BaseException] = []

    def put(item: object) -> bool:
        while not cancel.is_set():
            try:
                items.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def run(task: T) -> None:
        try:
            for item in work(task):
                if not put(item):
                    return
        except BaseException as exc:  # handed to the consumer, which re-raises it
            errors.append(exc)
            cancel.set()
        finally:
            put(_DONE)

    pool = ThreadPoolExecutor(max_workers=max(1, min(workers, len(task_list))), thread_name_prefix="lp-scan")
    try:
        for task in task_list:
            pool.submit(run, task)
        remaining = len(task_list)
        while remaining:
            try:
                item = items.get(timeout=0.1)
            except queue.Empty:
                if errors:
                    raise errors[0] from None
                continue
            if item is _DONE:
                remaining -= 1
                if errors:
                    raise errors[0]
                continue
            yield item  # type: ignore[misc]
        if errors:
            raise errors[0]
    finally:
        cancel.set()
        pool.shutdown(wait=True, cancel_futures=True)
