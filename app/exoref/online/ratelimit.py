"""Requests per second to one service, shared by every thread that uses it.

A sliding window: at most ``rate`` requests start within any window of one second (plus a
small margin, so that the services, which count on their side of the network, never see
more).  A thread that would exceed it reserves the first free slot and sleeps until then;
reservations are made under a lock, so threads queue in order instead of racing.

:meth:`RateLimiter.pause_until` holds every thread back after a 429 with ``Retry-After``:
the service asked the client, not one request, to wait.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["RateLimiter"]

#: The window is this much longer than a second: request start times measured by the
#: server differ from ours by the network's jitter.
WINDOW_MARGIN = 0.02


class RateLimiter:
    """At most ``rate`` request starts per second (``rate`` may be fractional: 0.5 means
    one request every two seconds)."""

    def __init__(self, rate: float, *, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        # A fractional rate r allows one request per 1/r seconds.
        self.count = max(1, math.floor(rate))
        self.window = (self.count / rate) + WINDOW_MARGIN
        self.rate = rate
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._starts: deque[float] = deque()
        self._paused_until = 0.0

    def reserve(self, deadline: float | None = None) -> float | None:
        """Reserve the next free start time and return it (it may be now).  Returns ``None``,
        reserving nothing, when that time is after ``deadline`` (a clock time)."""
        with self._lock:
            now = self._clock()
            start = max(now, self._paused_until)
            while self._starts and self._starts[0] <= start - self.window:
                self._starts.popleft()
            if len(self._starts) >= self.count:
                # The slot frees when the oldest of the last `count` starts leaves the window.
                start = max(start, self._starts[-self.count] + self.window)
            if deadline is not None and start > deadline:
                return None
            self._starts.append(start)
            return start

    def acquire(self, deadline: float | None = None) -> bool:
        """Wait for a slot.  Returns ``False`` at once, reserving nothing, when the slot would
        start after ``deadline`` (a :func:`time.monotonic` time)."""
        start = self.reserve(deadline)
        if start is None:
            return False
        delay = start - self._clock()
        if delay > 0:
            self._sleep(delay)
        return True

    def pause_until(self, when: float) -> None:
        """Start no request before ``when`` (a :func:`time.monotonic` time)."""
        with self._lock:
            self._paused_until = max(self._paused_until, when)
