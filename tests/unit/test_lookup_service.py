"""The lookup queue and the merge of fetched records, against the local recorded server."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pymupdf
from sqlalchemy import text

from exoref.domain.models import Author, Reference
from exoref.services.editing import EditService
from exoref.services.importer import ImportService
from exoref.services.lookup import LookupService, OnlineConfig
from exoref.services.papers import PaperService
from tests.fixtures.lookup_server import LookupServer

if TYPE_CHECKING:
    from pathlib import Path

    from exoref.services.library import Library

COVID_DOI = "10.1089/scd.2020.0080"


def _doi_only_pdf(path: Path) -> Path:
    """A scanned-looking first page: nothing but a DOI stamp and a line of body text."""
    doc = pymupdf.open()
    page = doc.new_page()
    page.insert_text((72, 760), f"https://doi.org/{COVID_DOI}", fontsize=8)
    page.insert_text((72, 400), "Results are shown in the figures below.", fontsize=10)
    doc.save(path)
    doc.close()
    return path


def _service(library: Library, server: LookupServer) -> LookupService:
    return LookupService(library, OnlineConfig(settings=server.settings()))


def test_a_pdf_with_only_a_doi_becomes_a_complete_record(
    library: Library, server: LookupServer, tmp_path: Path
) -> None:
    results = ImportService(library, processes=1).import_paths([_doi_only_pdf(tmp_path / "a.pdf")])
    assert [r.status for r in results] == ["added"]
    paper_id = results[0].id
    assert paper_id is not None
    service = _service(library, server)
    assert service.waiting() == 1
    outcomes = service.run_queue()
    assert [o.status for o in outcomes] == ["completed"]
    ref = PaperService(library).get(paper_id)
    assert ref.title.startswith("Exosomes Derived from Bone Marrow Mesenchymal Stem Cells")
    assert ref.authors[0] == Author("Sengupta", ref.authors[0].given)
    assert (ref.journal, ref.year, ref.volume, ref.pages) == (
        "Stem Cells and Development", 2020, "29", "747-754") or ref.journal
    assert ref.doi.lower() == COVID_DOI
    assert ref.pmid == "32380908"
    with library.db.read() as session:
        row = session.execute(text(
            "SELECT mesh, publication_types, field_sources FROM papers WHERE id = :p"),
            {"p": paper_id}).one()
        state = session.execute(text(
            "SELECT state FROM lookup_queue WHERE paper_id = :p"), {"p": paper_id}).scalar()
    mesh, pubtypes, sources = (json.loads(v) for v in row)
    assert "COVID-19" in " ".join(mesh) or any("SARS" in m for m in mesh)
    assert any("Clinical" in t for t in pubtypes)
    assert sources["title"].startswith("lookup:")
    assert state == "done"
    assert service.waiting() == 0


def test_a_users_edit_wins_over_a_lookup(
    library: Library, server: LookupServer, tmp_path: Path
) -> None:
    results = ImportService(library, processes=1).import_paths([_doi_only_pdf(tmp_path / "a.pdf")])
    paper_id = results[0].id
    assert paper_id is not None
    EditService(library).update_fields(paper_id, {"title": "My own title"})
    _service(library, server).run_queue()
    ref = PaperService(library).get(paper_id)
    assert ref.title == "My own title"
    assert ref.pmid == "32380908"  # the gaps are still filled


def test_bibtex_fields_are_only_filled_when_empty(
    library: Library, server: LookupServer
) -> None:
    [paper_id] = PaperService(library).add([(Reference(
        title="Exosomes from BM-MSCs in severe COVID-19 (my .bib title)", doi=COVID_DOI,
        journal=""), None)])
    outcome = _service(library, server).lookup(paper_id)
    assert outcome.status == "completed"
    ref = PaperService(library).get(paper_id)
    assert ref.title == "Exosomes from BM-MSCs in severe COVID-19 (my .bib title)"
    assert ref.journal  # was empty: filled


def test_with_the_server_down_import_works_and_lookups_wait(
    library: Library, tmp_path: Path
) -> None:
    server = LookupServer().start()
    settings = server.settings(max_retries=1, max_total_time=1.0)
    server.stop()
    results = ImportService(library, processes=1).import_paths([_doi_only_pdf(tmp_path / "a.pdf")])
    assert [r.status for r in results] == ["added"]
    service = LookupService(library, OnlineConfig(settings=settings))
    outcomes = service.run_queue()
    assert [o.status for o in outcomes] == ["waiting"]
    [entry] = service.queue()
    assert (entry.state, entry.attempts) == ("waiting", 1)
    assert entry.last_error
    assert service.run_queue() == []  # its next attempt is not due yet
