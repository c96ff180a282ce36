"""The services the window works with, bundled and passed in explicitly (no global)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from exoref.services.bibliography import BibliographyService
from exoref.services.editing import EditService
from exoref.services.importer import ImportService
from exoref.services.library import Library
from exoref.services.papers import PaperService
from exoref.services.search import SearchService
from exoref.services.thumbnails import ThumbnailService
from exoref.services.views import ViewService

if TYPE_CHECKING:
    from pathlib import Path


@dataclass(frozen=True, slots=True)
class Services:
    """One open library and the use cases over it."""

    library: Library
    views: ViewService
    edit: EditService
    search: SearchService
    importer: ImportService
    papers: PaperService
    thumbnails: ThumbnailService
    bibliography: BibliographyService

    @classmethod
    def for_library(cls, library: Library, *, processes: int | None = None) -> Services:
        return cls(
            library=library,
            views=ViewService(library),
            edit=EditService(library),
            search=SearchService(library),
            importer=ImportService(library, processes=processes),
            papers=PaperService(library),
            thumbnails=ThumbnailService(library),
            bibliography=BibliographyService(library, processes=processes),
        )

    @classmethod
    def open(cls, root: Path, *, processes: int | None = None) -> Services:
        """Open (creating it if needed) the library at ``root``."""
        return cls.for_library(Library.open(root), processes=processes)

    def close(self) -> None:
        self.library.close()
