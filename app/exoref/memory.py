"""Memory helpers shared by every layer (no Qt, no database)."""

from __future__ import annotations

import contextlib
import gc
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterator


@contextlib.contextmanager
def paused_cyclic_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector for a bulk step that builds hundreds of thousands of
    small acyclic objects (reading or writing a whole .bib, unpickling a chunk of entries,
    scanning a library for duplicates): the collector would walk them again and again for
    nothing (a fifth of an export, six times the unpickling, twice the duplicate scan).
    Reference counting still frees everything; the previous state is restored afterwards."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
