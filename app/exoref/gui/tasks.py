"""The one way the window runs work off the GUI thread (Picard's ``run_task``, napari's
``thread_worker``).

``runner.run(fn, on_result=..., on_error=..., on_progress=...)`` calls ``fn(task)`` in a
``QThreadPool``; ``fn`` may call ``task.report(value)`` and should stop early when
``task.is_cancelled()``.  The result, the error (the exception object) and every progress
value come back as signals on the GUI thread.  Workers never touch widgets.

Tests can pass ``TaskRunner(synchronous=True)``: the work then runs in place and the callbacks
are called before ``run`` returns.
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal, Slot

if TYPE_CHECKING:
    from collections.abc import Callable

log = logging.getLogger("exoref.gui.tasks")



class Task(QObject):
    """A handle on one piece of background work.  Lives on the GUI thread."""

    #: a value passed to :meth:`report`, on the GUI thread
    progressed = Signal(object)
    #: the return value of the work
    succeeded = Signal(object)
    #: the exception the work raised
    failed = Signal(object)
    #: after ``succeeded`` or ``failed``
    ended = Signal()

    # Emitted from the worker thread; connected (queued across threads) to the slots below.
    _progress_ready = Signal(object)
    _result_ready = Signal(object)
    _error_ready = Signal(object)

    def __init__(self, fn: Callable[[Task], Any], name: str = "") -> None:
        super().__init__()
        self.name = name or getattr(fn, "__name__", "task")
        self._fn = fn
        self._cancel = threading.Event()
        self.done = False
        self._progress_ready.connect(self._deliver_progress)
        self._result_ready.connect(self._deliver_result)
        self._error_ready.connect(self._deliver_error)

    # -- called by the work, on the worker thread --------------------------------------------

    def report(self, value: object) -> None:
        self._progress_ready.emit(value)

    def is_cancelled(self) -> bool:
        return self._cancel.is_set()

    # -- called on the GUI thread --------------------------------------------------------------

    def cancel(self) -> None:
        """Ask the work to stop; it ends at its next check of :meth:`is_cancelled`."""
        self._cancel.set()

    def execute(self) -> None:
        """Run the work here and now (the pool calls this on a worker thread)."""
        try:
            result = self._fn(self)
        except Exception as exc:  # every failure reaches on_error, none is lost
            self._error_ready.emit(exc)
        else:
            self._result_ready.emit(result)

    @Slot(object)
    def _deliver_progress(self, value: object) -> None:
        self.progressed.emit(value)

    @Slot(object)
    def _deliver_result(self, value: object) -> None:
        self.done = True
        self.succeeded.emit(value)
        self.ended.emit()

    @Slot(object)
    def _deliver_error(self, exc: object) -> None:
        self.done = True
        self.failed.emit(exc)
        self.ended.emit()


class _Runnable(QRunnable):
    def __init__(self, task: Task) -> None:
        super().__init__()
        self.task = task
        self.setAutoDelete(True)

    def run(self) -> None:
        self.task.execute()


class TaskRunner(QObject):
    """Starts tasks and keeps them alive until their result has been delivered.

    ``on_error`` defaults to ``error_handler`` (the window shows the error): no failure is
    silent.
    """

    def __init__(
        self,
        pool: QThreadPool | None = None,
        *,
        synchronous: bool = False,
        error_handler: Callable[[BaseException], None] | None = None,
    ) -> None:
        super().__init__()
        self.synchronous = synchronous
        self.pool = pool if pool is not None else QThreadPool.globalInstance()
        self.error_handler = error_handler
        self._running: set[Task] = set()

    def run(
        self,
        fn: Callable[[Task], Any],
        *,
        on_result: Callable[[Any], None] | None = None,
        on_error: Callable[[BaseException], None] | None = None,
        on_progress: Callable[[Any], None] | None = None,
        name: str = "",
    ) -> Task:
        task = Task(fn, name)
        if on_result is not None:
            task.succeeded.connect(on_result)
        task.failed.connect(on_error if on_error is not None else self._unhandled)
        if on_progress is not None:
            task.progressed.connect(on_progress)
        self._running.add(task)
        task.ended.connect(lambda: self._running.discard(task))
        if self.synchronous:
            task.execute()
        else:
            self.pool.start(_Runnable(task))
        return task

    @property
    def busy(self) -> bool:
        """Whether any task has not delivered its result yet."""
        return bool(self._running)

    def cancel_all(self) -> None:
        for task in list(self._running):
            task.cancel()

    def wait(self, msecs: int = -1) -> bool:
        """Block until the pool's threads are idle (the results may still be queued)."""
        if self.synchronous:
            return True
        return bool(self.pool.waitForDone(msecs))

    def _unhandled(self, exc: BaseException) -> None:
        if self.error_handler is not None:
            self.error_handler(exc)
        else:
            log.error("background task failed", exc_info=exc)
