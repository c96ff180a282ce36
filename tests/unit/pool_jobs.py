"""Jobs for the worker-pool tests: they must live in an importable module."""

from __future__ import annotations

import os
import signal
import time


def job(item: str) -> str:
    if item == "hang":
        time.sleep(60)
    if item == "crash":
        os.kill(os.getpid(), signal.SIGSEGV)
    if item == "fail":
        raise ValueError("bad item")
    if item == "hog":
        blocks = []
        while True:  # until the memory limit stops it
            blocks.append(bytearray(64 * 1024 * 1024))
    return item.upper()
