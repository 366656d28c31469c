"""Run many independent jobs at once on this machine, with a progress bar, keeping what finished on Ctrl-C."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Any, TypeVar

Item = TypeVar("Item")
Work = Callable[[Any, Callable[[], bool]], Any]


def run_many(
    items: Sequence[Item], work: Work, *, workers: int, desc: str = "jobs", progress: bool = True,
    on_done: Callable[[Item, Any], None] = lambda item, result: None, describe: Callable[[Any], str] = str,
) -> list[Any]:
    """``work(item, cancelled)`` for every item, up to ``workers`` at once; the results in the items' order.

    Each job runs in a thread that waits on a child process of its own (the work), so threads
    suffice. ``cancelled()`` turns true on Ctrl-C: a job must then stop its child and return. Jobs
    not started by then are never run (their result is None); once the running ones returned,
    KeyboardInterrupt is raised again. ``on_done`` sees every finished job as it finishes.
    """
    from tqdm.auto import tqdm

    results: list[Any] = [None] * len(items)
    if not items:
        return results
    stop = False
    bar = tqdm(total=len(items), desc=desc, unit="job", disable=not progress)
    pool = ThreadPoolExecutor(max_workers=max(1, min(workers, len(items))))
    futures: dict[Future, int] = {pool.submit(work, item, lambda: stop): i for i, item in enumerate(items)}
    pending = set(futures)
    try:
        while pending:
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                i = futures[future]
                results[i] = future.result()
                bar.update(1)
                bar.set_postfix_str(describe(results[i]))
                on_done(items[i], results[i])
    except KeyboardInterrupt:
        stop = True
        for future in pending:
            future.cancel()
        pool.shutdown(wait=True)
        for future, i in futures.items():
            if future.done() and not future.cancelled() and future.exception() is None:
                results[i] = future.result()
        raise
    finally:
        bar.close()
        pool.shutdown(wait=True)
    return results
