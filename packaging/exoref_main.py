"""The frozen app's entry point (PyInstaller): the ``exoref`` command; no arguments open the
window."""

from __future__ import annotations

import multiprocessing
import sys

if __name__ == "__main__":
    # The import workers are started from a fork server, which re-runs this program.
    multiprocessing.freeze_support()
    from exoref.cli import main

    raise SystemExit(main(sys.argv[1:] or ["gui"]))
