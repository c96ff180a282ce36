"""Shared fixtures.  Tests never read or write a user's real library or settings."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from exoref.domain.models import Author, Reference
from exoref.services.library import Library

if TYPE_CHECKING:
    from collections.abc import Iterator

    from tests.fixtures.lookup_server import LookupServer

# Qt tests never need a display (CI has none); set before pytest-qt makes the QApplication.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
CORPUS = SHARED / "corpus"
SEEDS = SHARED / "seeds"


@pytest.fixture(autouse=True)
def _isolated_dirs(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch)\
        -> None:
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("EXOREF_LIBRARY", str(home / "library"))
    monkeypatch.setenv("EXOREF_CONFIG_DIR", str(home / "config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / "data"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / "config-xdg"))


@pytest.fixture
def library_dir(tmp_path: Path) -> Path:
    return tmp_path / "lib"


@pytest.fixture
def library(library_dir: Path) -> Iterator[Library]:
    lib = Library.open(library_dir)
    yield lib
    lib.close()


@pytest.fixture
def server() -> Iterator[LookupServer]:
    """The local stand-in for Crossref, doi.org, PubMed and the PMC id converter: a real HTTP
    server on 127.0.0.1 serving recorded answers (tests/data/lookup)."""
    from tests.fixtures.lookup_server import LookupServer

    with LookupServer() as running:
        yield running


@pytest.fixture
def corpus() -> Path:
    if not CORPUS.is_dir():
        pytest.skip("../shared/corpus is not present")
    return CORPUS


@pytest.fixture
def seeds_dir() -> Path:
    if not SEEDS.is_dir():
        pytest.skip("../shared/seeds is not present")
    return SEEDS


def make_ref(title: str, *authors: str, year: int | None = 2020, **fields: object) -> Reference:
    """A reference from 'Given Family' author strings."""
    people = []
    for name in authors:
        given, _, family = name.rpartition(" ")
        people.append(Author(family, given))
    ref = Reference(title=title, authors=people, year=year)
    for key, value in fields.items():
        setattr(ref, key, value)
    return ref
