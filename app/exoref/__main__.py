"""``python -m exoref``: the same as the ``exoref`` command."""

from __future__ import annotations

from exoref.cli import main

raise SystemExit(main())
