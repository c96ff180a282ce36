"""Icons shipped in ``resources/icons`` (SVG), by name."""

from __future__ import annotations

from functools import cache

from PySide6.QtGui import QIcon

from exoref import APP_ID
from exoref.services.sample import resources_dir


@cache
def icon(name: str) -> QIcon:
    """``resources/icons/NAME.svg``, or an empty icon when it is missing."""
    path = resources_dir() / "icons" / f"{name}.svg"
    return QIcon(str(path)) if path.is_file() else QIcon()


def app_icon() -> QIcon:
    return QIcon.fromTheme(APP_ID, icon(APP_ID))
