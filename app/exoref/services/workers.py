"""A pool of worker processes with a time limit per item.

PDF parsing runs untrusted input through a C library: a hostile file can loop, allocate
gigabytes or crash the process.  Each item therefore runs in a worker process with a memory
limit; a worker that overruns the time limit is killed and replaced, and a worker that dies takes
only its own item down.  Results come back in completion order; the caller (a single writer)
stores them.

The workers come from a ``forkserver`` that has already imported PyMuPDF, so starting or
replacing one costs a fork, not a new interpreter, and the parent's threads and database
connections are never forked.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing as mp
import os
import time
import traceback
from collections import deque
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from typing import TYPE_CHECKING, Any, Generic, TypeVar

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator

log = logging.getLogger("exoref.workers")

T = TypeVar("T")
R = TypeVar("R")

#: Items sent ahead to each worker, so that it never waits for the writer.
_IN_FLIGHT = 2


@dataclass(slots=True)
class Outcome(Generic[R]):
    """The result of one item, or why there is none."""

    value: R | None = None
    error: str | None = None


def _limit_memory(limit_bytes: int | None) -> None:
    if not limit_bytes:
        return
    import resource

    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_AS, (limit_bytes, limit_bytes))


def _worker_main(conn: Connection, fn: Callable[[Any], Any], limit_bytes: int | None) -> None:
    _limit_memory(limit_bytes)
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            return
        if message is None:
            return
        index, item = message
        try:
            result: tuple[int, bool, Any] = (index, True, fn(item))
        except MemoryError:
            result = (index, False, "too large: reading it needed more memory than allowed")
        except Exception as exc:  # reported per item; the worker lives on
            log.debug("worker failed on %r\n%s", item, traceback.format_exc())
            result = (index, False, f"{type(exc).__name__}: {exc}")
        try:
            conn.send(result)
        except (BrokenPipeError, OSError):
            return


@dataclass(eq=False)
class _Worker:
    process: mp.process.BaseProcess
    conn: Connection
    pending: deque[int] = field(default_factory=deque)
    head_started: float = 0.0


class WorkerPool(Generic[T, R]):
    """Runs ``fn`` over items in ``processes`` workers with a per-item ``timeout``."""

    def __init__(
        self,
        fn: Callable[[T], R],
        *,
        processes: int | None = None,
        timeout: float = 10.0,
        memory_limit: int | None = 2 * 1024**3,
        preload: Iterable[str] = (),
    ) -> None:
        self.fn = fn
        self.processes = max(1, processes or os.cpu_count() or 1)
        self.timeout = timeout
        self.memory_limit = memory_limit
        methods = mp.get_all_start_methods()
        # Any: the fork-server and spawn contexts share no useful static type.
        self._ctx: Any = mp.get_context("forkserver" if "forkserver" in methods else "spawn")
        if "forkserver" in methods:
            self._ctx.set_forkserver_preload([fn.__module__, *preload])
        self._workers: list[_Worker] = []

    def _start_worker(self) -> _Worker:
        parent, child = self._ctx.Pipe(duplex=True)
        process = self._ctx.Process(
            target=_worker_main, args=(child, self.fn, self.memory_limit), daemon=True
        )
        process.start()
        child.close()
        return _Worker(process, parent)

    def _stop_worker(self, worker: _Worker, *, kill: bool) -> None:
        if kill:
            worker.process.kill()
        else:
            with contextlib.suppress(OSError):
                worker.conn.send(None)
        worker.process.join(timeout=5)
        if worker.process.is_alive():
            worker.process.kill()
            worker.process.join()
        worker.conn.close()

    def run(self, items: Iterable[T]) -> Iterator[tuple[T, Outcome[R]]]:
        """Yield ``(item, outcome)`` for every item, in completion order."""
        todo = deque(enumerate(items))
        by_index: dict[int, T] = {}
        if not todo:
            return
        self._workers = [
            self._start_worker() for _ in range(min(self.processes, len(todo)))
        ]
        try:
            yield from self._loop(todo, by_index)
        finally:
            for worker in self._workers:
                self._stop_worker(worker, kill=not self._is_idle(worker))
            self._workers = []

    @staticmethod
    def _is_idle(worker: _Worker) -> bool:
        return not worker.pending

    def _feed(self, worker: _Worker, todo: deque[tuple[int, T]], by_index: dict[int, T]) -> None:
        while todo and len(worker.pending) < _IN_FLIGHT:
            index, item = todo.popleft()
            by_index[index] = item
            if not worker.pending:
                worker.head_started = time.monotonic()
            worker.pending.append(index)
            worker.conn.send((index, item))

    def _loop(
        self, todo: deque[tuple[int, T]], by_index: dict[int, T]
    ) -> Iterator[tuple[T, Outcome[R]]]:
        for worker in self._workers:
            self._feed(worker, todo, by_index)
        while any(w.pending for w in self._workers):
            busy = [w for w in self._workers if w.pending]
            deadline = min(w.head_started for w in busy) + self.timeout
            ready = wait([w.conn for w in busy], timeout=max(0.0, deadline - time.monotonic()))
            for worker in busy:
                if worker.conn in ready:
                    try:
                        index, ok, payload = worker.conn.recv()
                    except (EOFError, OSError):
                        index = worker.pending[0]
                        yield by_index.pop(index), Outcome(error=self._death_reason(worker))
                        self._replace(worker, todo, by_index)
                        continue
                    worker.pending.popleft()
                    worker.head_started = time.monotonic()
                    item = by_index.pop(index)
                    yield item, Outcome(value=payload) if ok else Outcome(error=payload)
                elif time.monotonic() - worker.head_started >= self.timeout:
                    index = worker.pending[0]
                    reason = f"gave up after {self.timeout:g} s (the file takes too long to read)"
                    yield by_index.pop(index), Outcome(error=reason)
                    self._replace(worker, todo, by_index)
            for worker in self._workers:
                self._feed(worker, todo, by_index)

    def _death_reason(self, worker: _Worker) -> str:
        worker.process.join(timeout=1)
        code = worker.process.exitcode
        if code is not None and code < 0:
            return f"the PDF reader crashed on it (signal {-code})"
        return "the PDF reader crashed on it"

    def _replace(
        self, worker: _Worker, todo: deque[tuple[int, T]], by_index: dict[int, T]
    ) -> None:
        """Retire a dead or stuck worker; items sent ahead to it go back to the front."""
        worker.pending.popleft()
        for index in reversed(worker.pending):
            todo.appendleft((index, by_index.pop(index)))
        worker.pending.clear()
        self._stop_worker(worker, kill=True)
        self._workers[self._workers.index(worker)] = self._start_worker()
