"""Tagging in the window, driven as a user would: the indication tree in the sidebar, the
suggestions in the details pane (✓ / ✗), the off-topic banner, the library overview, the
threshold in Preferences, and tags arriving with an import."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialogButtonBox, QLabel
from sqlalchemy import text

from exoref.domain.models import Tag, TagKind
from exoref.gui import window as window_module
from exoref.gui.details import TagChip
from exoref.gui.overview import ANY
from exoref.gui.settings import TaggingPreferencesBox
from exoref.services.tagging import OFF_TOPIC_FLAG, TaggingService
from exoref.services.views import View, ViewKind
from tests.conftest import make_ref
from tests.gui.conftest import BACKGROUND_MS, file_mime, make_pdf

if TYPE_CHECKING:
    from pathlib import Path

    from pytestqt.qtbot import QtBot

    from exoref.gui.context import Services
    from exoref.gui.window import ImportOutcome, MainWindow

OA = View(ViewKind.TAG, "osteoarthritis", TagKind.INDICATION)
KNEE_OA = View(ViewKind.TAG, "knee osteoarthritis", TagKind.INDICATION)
MUSCULOSKELETAL = View(ViewKind.TAG, "musculoskeletal", TagKind.INDICATION)

PAPERS = [
    ("Umbilical cord mesenchymal stem cell-derived exosomes attenuate cartilage degeneration "
     "in a rat model of knee osteoarthritis", 2021,
     "Exosomes from human umbilical cord MSCs were injected into the knee joints of rats "
     "with osteoarthritis induced by anterior cruciate ligament transection. The vesicles "
     "reduced cartilage loss and synovitis."),
    ("Extracellular vesicles from bone marrow MSCs in collagen-induced arthritis", 2020,
     "We tested bone marrow mesenchymal stromal cell extracellular vesicles in mice with "
     "collagen-induced arthritis, a model of rheumatoid arthritis. Treatment lowered joint "
     "swelling and Th17 cells."),
    ("Adipose-derived stem cell exosomes: a review of their use in tendon repair", 2019,
     "This narrative review summarises studies of exosomes from adipose-derived mesenchymal "
     "stem cells in tendon injury and tendinopathy. Some studies also mention "
     "osteoarthritis."),
    ("Prevalence of knee pain in older adults: a population survey", 2018,
     "We surveyed 3,000 adults about knee pain and osteoarthritis. Prevalence rose with age."),
]


def tagged_library(services: Services) -> list[int]:
    """Four papers (knee OA with umbilical cord MSC exosomes in rats; rheumatoid arthritis
    with bone marrow EVs in mice; a review of adipose exosomes in tendon repair that
    mentions osteoarthritis in passing; an off-topic survey), tagged by the real tagger."""
    ids = services.papers.add([
        (make_ref(title, "Li Wang", year=year, abstract=abstract), None)
        for title, year, abstract in PAPERS
    ])
    TaggingService(services.library).apply(ids)
    return ids


def tag_id(services: Services, name: str, kind: TagKind = TagKind.INDICATION) -> int:
    with services.library.db.read() as session:
        return int(session.execute(
            text("SELECT id FROM tags WHERE name_key = :n AND kind = :k"),
            {"n": name.casefold(), "k": kind.value}).scalar_one())


def link_source(services: Services, paper_id: int, tag: int) -> str | None:
    with services.library.db.read() as session:
        row = session.execute(
            text("SELECT source FROM paper_tags WHERE paper_id = :p AND tag_id = :t"),
            {"p": paper_id, "t": tag}).first()
    return None if row is None else str(row[0])


def select_paper(qtbot: QtBot, window: MainWindow, paper_id: int) -> None:
    """Select one paper and wait until the details show what the tagger knows about it."""
    window.table.select_ids([paper_id])
    qtbot.waitUntil(lambda: window.details.tagging is not None
                    and window.details.tagging.paper_id == paper_id, timeout=BACKGROUND_MS)


def test_tree_suggestions_and_the_off_topic_banner(
    qtbot: QtBot, window: MainWindow, services: Services
) -> None:
    knee, arthritis, review, survey = tagged_library(services)
    window.refresh()
    sidebar = window.sidebar

    # the indication tree: counts include narrower tags, empty indications are left out
    assert sidebar.count_of(KNEE_OA) == 1
    assert sidebar.count_of(OA) == 1
    assert sidebar.count_of(MUSCULOSKELETAL) == 2  # knee OA and tendon injury
    oa_index = sidebar.index_of(OA)
    assert oa_index is not None
    assert oa_index.parent().data() == "musculoskeletal"
    assert sidebar.index_of(View(ViewKind.TAG, "liver fibrosis", TagKind.INDICATION)) is None
    assert sidebar.count_of(View(ViewKind.TAG, "umbilical cord", TagKind.MSC_SOURCE)) == 1

    # a click on osteoarthritis shows its papers, knee osteoarthritis included
    rect = sidebar.visualRect(oa_index)
    qtbot.mouseClick(sidebar.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert window.view == OA
    assert window.model.ids == [knee]

    # the review mentions osteoarthritis in passing: a suggestion with its evidence
    window.select_view(View())
    select_paper(qtbot, window, review)
    details = window.details
    row = details.suggestion_row("osteoarthritis")
    assert row is not None
    assert row.isVisible()
    evidence = row.findChild(QLabel, "evidence")
    assert evidence is not None
    assert "Abstract:" in evidence.text()
    assert "<b>osteoarthritis</b>" in evidence.text()
    # its automatic tags carry a badge with their score
    autos = {c.tag.name: c.automatic for c in _chips(window)}
    assert autos["tendon injury"] is not None
    assert autos["tendon injury"].score >= window.tagging.threshold
    badge = next(c for c in _chips(window) if c.tag.name == "tendon injury").findChild(
        QLabel, "auto-badge")
    assert badge is not None
    assert badge.text() == f"auto {autos['tendon injury'].score:.2f}"

    # ✓ confirms it: the user's tag, in the database and in the sidebar
    oa = tag_id(services, "osteoarthritis")
    qtbot.mouseClick(row.accept_button, Qt.MouseButton.LeftButton)
    assert link_source(services, review, oa) == "user"
    assert Tag("osteoarthritis", TagKind.INDICATION) in services.edit.reference(review).tags
    assert window.tagging.pending(review) == []
    assert sidebar.count_of(OA) == 2
    qtbot.waitUntil(lambda: details.tagging is not None and not details.suggestion_rows,
                    timeout=BACKGROUND_MS)
    assert "osteoarthritis" in {c.tag.name for c in _chips(window)}

    # the survey is off-topic: a banner, and two weak suggestions
    select_paper(qtbot, window, survey)
    assert details.banner.isVisible()
    assert "epidemiological study" in details.banner.text.text().lower()
    row = details.suggestion_row("osteoarthritis")
    assert row is not None
    qtbot.mouseClick(row.reject_button, Qt.MouseButton.LeftButton)
    with services.library.db.read() as session:
        rejected = session.execute(
            text("SELECT count(*) FROM tag_rejections WHERE paper_id = :p AND tag_id = :t"),
            {"p": survey, "t": oa}).scalar_one()
    assert rejected == 1
    assert link_source(services, survey, oa) is None
    # the rejected tag leaves the waiting list (what else waits is the engine's business)
    assert "osteoarthritis" not in {s.label for s in window.tagging.pending(survey)}
    states = {s.label: s.state for s in window.tagging.suggest(survey).suggestions}
    assert states["osteoarthritis"] == "rejected"

    # "Keep in library" clears the flag for good
    select_paper(qtbot, window, survey)
    qtbot.mouseClick(details.banner.keep_button, Qt.MouseButton.LeftButton)
    assert OFF_TOPIC_FLAG not in services.edit.reference(survey).flags
    assert not details.banner.isVisible()
    window.tagging.apply([survey])
    assert OFF_TOPIC_FLAG not in services.edit.reference(survey).flags
    assert arthritis in window.model.ids


def _chips(window: MainWindow) -> list[TagChip]:
    return window.details.chips_holder.findChildren(TagChip)


def test_overview_cells_filter_the_table(
    qtbot: QtBot, window: MainWindow, services: Services
) -> None:
    knee, _arthritis, review, _survey = tagged_library(services)
    window.refresh()
    window.activateWindow()
    qtbot.keyClick(window, Qt.Key.Key_L,
                   Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    dialog = window.overview_dialog
    assert dialog is not None
    assert dialog.isVisible()
    qtbot.waitUntil(lambda: dialog.overview is not None, timeout=BACKGROUND_MS)
    heat = dialog.heat_map
    names = dict(heat.rows)
    assert set(names.values()) == {"osteoarthritis", "rheumatoid arthritis", "tendon injury"}
    oa, cord = tag_id(services, "osteoarthritis"), tag_id(services, "umbilical cord",
                                                        TagKind.MSC_SOURCE)
    assert heat.values[(oa, cord)] == 1
    assert heat.values[(oa, ANY)] == 1

    # a click on osteoarthritis × umbilical cord lists that paper
    with qtbot.waitSignal(window.search_finished, timeout=BACKGROUND_MS):
        qtbot.mouseClick(heat, Qt.MouseButton.LeftButton, pos=heat.cell_rect(oa, cord).center())
    assert window.search_box.text() == 'tag:"osteoarthritis" tag:"umbilical cord"'
    assert window.model.ids == [knee]

    # only reviews: the tendon review is left, and its "any source" cell lists it
    dialog.study_combo.setCurrentIndex(dialog.study_combo.findText("review"))
    tendon = tag_id(services, "tendon injury")
    assert [name for _id, name in heat.rows] == ["tendon injury"]
    assert heat.cell_rect(oa, cord).isNull()
    with qtbot.waitSignal(window.search_finished, timeout=BACKGROUND_MS):
        qtbot.mouseClick(heat, Qt.MouseButton.LeftButton,
                         pos=heat.cell_rect(tendon, ANY).center())
    assert window.search_box.text() == 'tag:"tendon injury" tag:"review"'
    assert window.model.ids == [review]

    # papers per year: one series per indication; a click on a bar lists that year's papers
    chart = dialog.year_chart
    assert chart.years == [2019, 2020, 2021]
    dialog.grab()  # paints, which places the bars
    bar = next(h for h in chart.hits if h.tag_id == oa and h.year == 2021)
    with qtbot.waitSignal(window.search_finished, timeout=BACKGROUND_MS):
        qtbot.mouseClick(chart, Qt.MouseButton.LeftButton, pos=bar.rect.center().toPoint())
    assert window.model.ids == [knee]


def test_threshold_in_preferences_and_suggest_tags(
    qtbot: QtBot, window: MainWindow, services: Services
) -> None:
    _knee, _arthritis, review, _survey = tagged_library(services)
    window.refresh()
    oa = tag_id(services, "osteoarthritis")
    score = window.tagging.pending(review)[0].score
    assert score < window.tagging.threshold

    dialog = window.open_preferences()
    box = dialog.findChild(TaggingPreferencesBox)
    assert box is not None
    assert box.spin.value() == pytest.approx(window.tagging.threshold)
    box.spin.setValue(0.3)
    assert box.apply_now.isChecked()  # a new threshold offers to tag the library again
    box.apply_now.setChecked(False)
    dialog.buttons.button(QDialogButtonBox.StandardButton.Ok).click()
    assert window.tagging.threshold == pytest.approx(0.3)
    assert link_source(services, review, oa) is None  # nothing re-tagged yet

    # "Suggest tags" on the paper tags it again with the new threshold
    select_paper(qtbot, window, review)
    with qtbot.waitSignal(window.library_changed, timeout=BACKGROUND_MS):
        window.details.suggest_button.click()
    assert window.last_tagging is not None
    assert window.last_tagging.papers == 1
    assert link_source(services, review, oa) == "auto"
    qtbot.waitUntil(lambda: window.details.tagging is not None
                    and any(s.tag_id == oa for s in window.details.tagging.automatic),
                    timeout=BACKGROUND_MS)
    chip = next(c for c in _chips(window) if c.tag.name == "osteoarthritis")
    assert chip.automatic is not None


@pytest.mark.parametrize("in_background", [False, True], ids=["small", "large"])
def test_imported_papers_arrive_tagged(
    qtbot: QtBot, window: MainWindow, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    in_background: bool,
) -> None:
    if in_background:  # as in a large library: the tree is counted off the GUI thread
        monkeypatch.setattr(window_module, "SYNC_TREE_LIMIT", 0)
    make_pdf(tmp_path / "ra.pdf", seed=5, topic="rheumatoid arthritis")
    with qtbot.waitSignal(window.import_finished, timeout=BACKGROUND_MS) as blocker:
        assert window.handle_drop(file_mime(tmp_path / "ra.pdf"))
    outcome: ImportOutcome = blocker.args[0]
    [paper] = outcome.added
    ra = View(ViewKind.TAG, "rheumatoid arthritis", TagKind.INDICATION)
    if in_background:
        qtbot.waitUntil(lambda: window.sidebar.count_of(ra) == 1, timeout=BACKGROUND_MS)
    assert window.sidebar.count_of(ra) == 1
    assert window.sidebar.count_of(View(ViewKind.TAG, "autoimmune disease",
                                        TagKind.INDICATION)) == 1
    window.select_view(ra)
    assert window.model.ids == [paper]
