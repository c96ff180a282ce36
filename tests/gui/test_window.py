"""The window, driven like a user would: drops, edits, search, tags, trash, undo, export."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import bibtexparser
from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QDragMoveEvent, QDropEvent
from PySide6.QtWidgets import QDialogButtonBox, QMessageBox

from exoref.domain.models import Tag, TagKind
from exoref.gui import errors
from exoref.gui.dialogs import ExportRequest
from exoref.gui.sidebar import Sidebar
from exoref.services.views import View, ViewKind
from tests.conftest import make_ref
from tests.fixtures import pdfgen
from tests.gui.conftest import BACKGROUND_MS, file_mime, make_pdf

if TYPE_CHECKING:
    from pathlib import Path

    import pytest
    from pytestqt.qtbot import QtBot

    from exoref.gui.context import Services
    from exoref.gui.window import ImportOutcome, MainWindow

OA = Tag("osteoarthritis", TagKind.INDICATION)


def titles(window: MainWindow) -> list[str]:
    model = window.model
    return [row.title for r in range(model.rowCount()) if (row := model.paper_row(r))]


def drop_and_wait(qtbot: QtBot, window: MainWindow, *paths: Path) -> ImportOutcome:
    with qtbot.waitSignal(window.import_finished, timeout=BACKGROUND_MS) as blocker:
        assert window.handle_drop(file_mime(*paths))
    outcome: ImportOutcome = blocker.args[0]
    return outcome


def add_papers(services: Services) -> list[int]:
    ids = services.papers.add([
        (make_ref("Exosomes in knee osteoarthritis cartilage repair", "Elaheh Mianehsaz",
                  "B Two", "C Three", year=2019, doi="10.1/oa", journal="Stem Cell Res Ther",
                  tags=[OA]), "cartilage body"),
        (make_ref("Adipose vesicles in wound healing", "Ana García", year=2021, doi="10.1/w",
                  journal="Wound Repair"), None),
        (make_ref("Zebrafish exosomes and fin regeneration", "Wei Zhang", year=2015), None),
    ])
    return ids


# -- drag and drop ---------------------------------------------------------------------------


def test_dropping_pdfs_and_a_folder_adds_papers(
    qtbot: QtBot, window: MainWindow, tmp_path: Path
) -> None:
    assert window.centre.currentWidget() is window.welcome  # an empty library welcomes
    folder = tmp_path / "downloads"
    specs = [make_pdf(folder / f"paper{i}.pdf", seed=i) for i in range(2)]
    (folder / "notes.txt").write_text("not a paper")
    loose = make_pdf(tmp_path / "loose.pdf", seed=10)

    # The real drop event, as a file manager sends it: a thin pass-through.
    mime = file_mime(folder, tmp_path / "loose.pdf")  # the event does not own it: keep it
    event = QDropEvent(QPointF(200, 200), Qt.DropAction.CopyAction | Qt.DropAction.MoveAction,
                       mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    with qtbot.waitSignal(window.import_finished, timeout=BACKGROUND_MS) as blocker:
        window.dropEvent(event)
        assert event.isAccepted()
        assert event.dropAction() == Qt.DropAction.CopyAction  # never a move
        assert window._import is None  # deferred out of the drop event
        qtbot.waitUntil(window.progress_box.isVisible)  # progress shows while it runs
    outcome: ImportOutcome = blocker.args[0]

    assert [r.status for r in outcome.results] == ["added"] * 3, outcome.results
    assert window.centre.currentWidget() is window.table_page
    assert sorted(titles(window)) == sorted(s.title for s in [*specs, loose])
    assert not window.progress_box.isVisible()
    # the files were copied in: the originals are where they were
    assert (folder / "paper0.pdf").is_file()
    assert (tmp_path / "loose.pdf").is_file()
    assert len(list(window.services.library.paths.files.iterdir())) == 3
    summary = window.summary
    assert summary is not None
    assert summary.isVisible()
    assert summary.headline.text() == "3 papers added"
    assert window.sidebar.count_of(View()) == 3

    # the details show the first page of the selected paper's PDF
    window.table.select_ids([outcome.results[-1].id or 0])
    qtbot.waitUntil(lambda: not window.details.thumbnail.pixmap().isNull(),
                    timeout=BACKGROUND_MS)
    assert window.details.attachments.count() == 1


def test_a_broken_pdf_in_a_drop_is_reported_and_the_window_lives_on(
    qtbot: QtBot, window: MainWindow, tmp_path: Path
) -> None:
    folder = tmp_path / "mixed"
    good = make_pdf(folder / "good-paper.pdf", seed=3)
    bad = pdfgen.write_bad_files(folder / "bad")
    outcome = drop_and_wait(qtbot, window, folder)

    by_name = {r.path.rsplit("/", 1)[-1]: r for r in outcome.results}
    assert by_name["good-paper.pdf"].status == "added"
    failed = [r for r in outcome.results if r.status == "failed"]
    assert {"fake.pdf", "empty.pdf", "encrypted.pdf", "huge_page_count.pdf"} <= {
        r.path.rsplit("/", 1)[-1] for r in failed}
    assert all(r.reason for r in failed)
    assert len(outcome.results) == len(bad) + 1  # every file is accounted for

    summary = window.summary
    assert summary is not None
    assert summary.isVisible()
    assert "failed" in summary.headline.text()
    failures = summary.tree.topLevelItem(0)
    assert failures is not None
    assert failures.text(0).startswith("Failed")
    listed = {failures.child(i).text(0): failures.child(i).text(1)
              for i in range(failures.childCount())}
    assert listed["empty.pdf"] == by_name["empty.pdf"].reason
    assert summary.retry_button.isEnabled()

    # the window goes on working: the good paper is there and can be searched
    assert good.title in titles(window)
    with qtbot.waitSignal(window.search_finished, timeout=BACKGROUND_MS):
        window.search_box.setText(f'title:"{good.title.split()[0]}"')
    assert good.title in titles(window)

    # Retry imports the failures again (they fail again, the same way)
    with qtbot.waitSignal(window.import_finished, timeout=BACKGROUND_MS) as blocker:
        summary.retry_button.click()
    again: ImportOutcome = blocker.args[0]
    assert {r.path for r in again.results} == {str(p) for p in summary.retryable()}

    # the failures wait under "Needs attention", with Retry and Dismiss
    window.select_view(View(ViewKind.ATTENTION))
    assert window.failures_box.isVisible()
    assert "empty.pdf: empty file" in window.failures_label.text()
    window.failures_buttons[1].click()  # Dismiss
    assert not window.failures_box.isVisible()


def test_an_import_can_be_cancelled(qtbot: QtBot, window: MainWindow, tmp_path: Path) -> None:
    folder = tmp_path / "many"
    for i in range(8):
        make_pdf(folder / f"p{i}.pdf", seed=100 + i)
    cancelled: list[bool] = []

    def on_progress(_text: str) -> None:
        if not cancelled:
            cancelled.append(True)
            assert window.cancel_button.isVisible()
            window.cancel_button.click()

    qtbot.waitUntil(lambda: not window.runner.busy)
    with qtbot.waitSignal(window.import_finished, timeout=BACKGROUND_MS) as blocker:
        window.import_paths([folder])
        window._import.progressed.connect(on_progress)  # type: ignore[union-attr]
    outcome: ImportOutcome = blocker.args[0]
    assert outcome.cancelled
    assert 1 <= len(outcome.results) < 8
    assert window.summary is not None
    assert window.summary.headline.text().startswith("Import cancelled")


def test_dropping_files_onto_a_tag_imports_and_tags_them(
    qtbot: QtBot, window: MainWindow, services: Services, tmp_path: Path
) -> None:
    add_papers(services)
    window.refresh()
    view = View(ViewKind.TAG, "osteoarthritis", TagKind.INDICATION)
    assert window.sidebar.count_of(view) == 1
    make_pdf(tmp_path / "new.pdf", seed=21)

    # the drag hovers the tag: accepted as a copy, the tag is outlined
    sidebar = window.sidebar
    index = sidebar.index_of(view)
    assert index is not None
    pos = QPointF(sidebar.visualRect(index).center())
    mime = file_mime(tmp_path / "new.pdf")
    move = QDragMoveEvent(pos.toPoint(), Qt.DropAction.CopyAction | Qt.DropAction.MoveAction,
                          mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    sidebar.dragMoveEvent(move)
    assert move.isAccepted()
    assert move.dropAction() == Qt.DropAction.CopyAction
    assert sidebar.drop_target == index

    drop = QDropEvent(pos, Qt.DropAction.CopyAction | Qt.DropAction.MoveAction, mime,
                      Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    with qtbot.waitSignal(window.import_finished, timeout=BACKGROUND_MS) as blocker:
        sidebar.dropEvent(drop)
        assert drop.isAccepted()
        assert sidebar.drop_target is None
    outcome: ImportOutcome = blocker.args[0]
    [new_id] = outcome.added
    assert OA in services.edit.reference(new_id).tags
    assert window.sidebar.count_of(view) == 2


def test_files_dropped_on_a_text_field_are_imported_not_pasted(
    qtbot: QtBot, window: MainWindow, services: Services, tmp_path: Path
) -> None:
    ids = add_papers(services)
    window.refresh()
    window.table.select_ids([ids[0]])
    make_pdf(tmp_path / "onto-field.pdf", seed=31)
    field = window.details.editors["journal"]
    mime = file_mime(tmp_path / "onto-field.pdf")
    drop = QDropEvent(QPointF(5, 5), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                      Qt.KeyboardModifier.NoModifier)
    # (QApplication routes a Drop only to the target of a real drag: call the filter the
    # window installed on its text fields, as Qt does then.)
    assert field.acceptDrops()
    with qtbot.waitSignal(window.import_finished, timeout=BACKGROUND_MS) as blocker:
        assert window._drop_filter.eventFilter(field, drop)
        assert drop.isAccepted()
    assert [r.status for r in blocker.args[0].results] == ["added"]
    assert services.edit.reference(ids[0]).journal == "Stem Cell Res Ther"  # not pasted into
    assert "file:" not in field.text()


def test_dragging_papers_onto_a_tag_tags_them_and_undo_untags(
    qtbot: QtBot, window: MainWindow, services: Services
) -> None:
    ids = add_papers(services)
    window.refresh()
    view = View(ViewKind.TAG, "osteoarthritis", TagKind.INDICATION)
    window.table.select_ids(ids[1:])
    rows = window.table.selectionModel().selectedRows()
    mime = window.model.mimeData(rows)
    assert window.sidebar.accepts(mime, view)
    assert not window.sidebar.accepts(mime, View(ViewKind.UNTAGGED))

    with qtbot.waitSignal(window.library_changed, timeout=5000):
        assert window.sidebar.handle_drop(mime, view)
    assert all(OA in services.edit.reference(pid).tags for pid in ids)
    assert window.sidebar.count_of(view) == 3

    window.undo_stack.undo()
    assert OA in services.edit.reference(ids[0]).tags  # it had the tag before: kept
    assert not any(OA in services.edit.reference(pid).tags for pid in ids[1:])
    assert window.sidebar.count_of(view) == 1


# -- editing ---------------------------------------------------------------------------------


def test_editing_a_field_saves_it_and_undo_restores_it(
    qtbot: QtBot, window: MainWindow, services: Services
) -> None:
    ids = add_papers(services)
    window.refresh()
    window.table.select_ids([ids[1]])
    details = window.details
    assert details.reference is not None
    assert details.reference.id == ids[1]

    journal = details.editors["journal"]
    journal.setFocus()
    journal.setText("International Wound Journal")
    journal.editingFinished.emit()
    assert services.edit.reference(ids[1]).journal == "International Wound Journal"
    row = window.model.row_of(ids[1])
    assert row is not None
    assert window.model.index(row, 3).data() == "International Wound Journal"

    details.editors["authors"].setText("García, Ana María; Smith, John")
    details.commit()
    assert [a.family for a in services.edit.reference(ids[1]).authors] == ["García", "Smith"]

    window.undo_stack.undo()
    window.undo_stack.undo()
    ref = services.edit.reference(ids[1])
    assert (ref.journal, [a.given for a in ref.authors]) == ("Wound Repair", ["Ana"])
    assert details.editors["journal"].text() == "Wound Repair"
    window.undo_stack.redo()
    assert services.edit.reference(ids[1]).journal == "International Wound Journal"


def test_a_bad_year_is_refused_with_a_message(
    qtbot: QtBot, window: MainWindow, services: Services
) -> None:
    ids = add_papers(services)
    window.refresh()
    window.table.select_ids([ids[0]])
    year = window.details.editors["year"]
    year.setText("soon")
    year.editingFinished.emit()
    assert services.edit.reference(ids[0]).year == 2019
    assert year.text() == "2019"  # the stored value is shown again
    boxes = [w for w in window.findChildren(QMessageBox) if w.isVisible()]
    assert boxes
    assert "year" in boxes[0].text().lower()


def test_tag_editor_adds_a_known_tag_with_its_kind(
    qtbot: QtBot, window: MainWindow, services: Services
) -> None:
    ids = add_papers(services)
    window.refresh()
    window.table.select_ids([ids[2]])
    details = window.details
    assert "osteoarthritis" in details.tag_names.stringList()  # the completer knows it
    details.tag_input.setText("Osteoarthritis")
    details.add_typed_tag()
    assert OA in services.edit.reference(ids[2]).tags  # the existing tag and its kind
    details.tag_input.setText("zebrafish model")
    details.add_typed_tag()
    assert Tag("zebrafish model") in services.edit.reference(ids[2]).tags
    assert window.sidebar.count_of(View(ViewKind.TAG, "zebrafish model", TagKind.FREE)) == 1


# -- search ----------------------------------------------------------------------------------


def test_typing_in_the_search_box_filters_the_table(
    qtbot: QtBot, window: MainWindow, services: Services
) -> None:
    add_papers(services)
    window.refresh()
    assert window.model.rowCount() == 3
    window.activateWindow()
    qtbot.keyClick(window, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(window.search_box.hasFocus)
    with qtbot.waitSignal(window.search_finished, timeout=BACKGROUND_MS):
        qtbot.keyClicks(window.search_box, "exosomes")
    assert sorted(titles(window)) == [
        "Exosomes in knee osteoarthritis cartilage repair",
        "Zebrafish exosomes and fin regeneration",
    ]
    assert window.model.sort_key == "relevance"

    with qtbot.waitSignal(window.search_finished, timeout=BACKGROUND_MS):
        window.search_box.setText("cartilage year:2019")
    assert titles(window) == ["Exosomes in knee osteoarthritis cartilage repair"]
    qtbot.waitUntil(lambda: window.details.snippet.isVisible(), timeout=BACKGROUND_MS)
    assert "<b" in window.details.snippet.text()

    # a query that cannot be parsed says so, and the last results stay
    with qtbot.waitSignal(window.search_finished, timeout=BACKGROUND_MS):
        window.search_box.setText('"unclosed phrase')
    assert window.search_error.isVisible()
    assert "Search:" in window.search_error.text()
    assert titles(window) == ["Exosomes in knee osteoarthritis cartilage repair"]

    with qtbot.waitSignal(window.search_finished, timeout=BACKGROUND_MS):
        window.search_box.clear()
    assert not window.search_error.isVisible()
    assert window.model.rowCount() == 3


def test_sorting_by_a_header_requeries(qtbot: QtBot, window: MainWindow,
                                       services: Services) -> None:
    add_papers(services)
    window.refresh()
    header = window.table.horizontalHeader()
    header.setSortIndicator(2, Qt.SortOrder.AscendingOrder)  # Year, as a click does
    years = [window.model.paper_row(r).year for r in range(3)]  # type: ignore[union-attr]
    assert years == [2015, 2019, 2021]
    assert (window.model.sort_key, window.model.descending) == ("year", False)
    header.setSortIndicator(4, Qt.SortOrder.AscendingOrder)  # Indications: not sortable
    assert header.sortIndicatorSection() == 2
    assert window.model.sort_key == "year"


# -- trash and undo --------------------------------------------------------------------------


def test_delete_moves_to_the_trash_and_undo_restores(
    qtbot: QtBot, window: MainWindow, services: Services
) -> None:
    ids = add_papers(services)
    window.refresh()
    window.table.select_ids([ids[1]])
    window.table.setFocus()
    window.activateWindow()
    qtbot.waitUntil(window.table.hasFocus)
    qtbot.keyClick(window.table, Qt.Key.Key_Delete)
    assert ids[1] not in window.model.ids
    assert window.sidebar.count_of(View(ViewKind.TRASH)) == 1
    assert window.table.selected_ids()  # the next paper is selected

    window.undo_stack.undo()
    assert ids[1] in window.model.ids
    assert window.sidebar.count_of(View(ViewKind.TRASH)) == 0

    window.undo_stack.redo()
    window.select_view(View(ViewKind.TRASH))
    assert window.model.ids == [ids[1]]
    window.table.select_ids([ids[1]])
    window.restore_selected()
    assert window.model.ids == []
    assert window.sidebar.count_of(View()) == 3

    window.select_view(View())
    window.trash_papers([ids[2]])
    window.empty_trash(confirm=False)
    assert window.sidebar.count_of(View()) == 2
    assert window.sidebar.count_of(View(ViewKind.TRASH)) == 0
    assert window.undo_stack.count() == 0  # nothing left to undo into


def test_copy_citation_key(qtbot: QtBot, window: MainWindow, services: Services) -> None:
    ids = add_papers(services)
    window.refresh()
    window.table.select_ids(ids[:2])
    text = window.copy_citekeys()
    keys = {services.edit.reference(pid).citekey for pid in ids[:2]}
    assert set(text.split(",")) == keys
    from PySide6.QtGui import QGuiApplication

    assert QGuiApplication.clipboard().text() == text


# -- export, preferences, first start ---------------------------------------------------------


def test_export_writes_a_bib_that_parses(
    qtbot: QtBot, window: MainWindow, services: Services, tmp_path: Path
) -> None:
    ids = add_papers(services)
    window.refresh()
    target = tmp_path / "out" / "library.bib"
    dialog = window.choose_export("library")
    dialog.path_edit.setText(str(target))
    dialog.accept()
    qtbot.waitUntil(target.is_file, timeout=BACKGROUND_MS)
    qtbot.waitUntil(lambda: not window.runner.busy, timeout=BACKGROUND_MS)
    parsed = bibtexparser.parse_string(target.read_text(encoding="utf-8"))
    assert not parsed.failed_blocks
    keys = {services.edit.reference(pid).citekey for pid in ids}
    assert {e.key for e in parsed.entries} == keys

    window.table.select_ids([ids[0]])
    selection = tmp_path / "one.ris"
    window.export(ExportRequest(selection, "selection", fmt="ris"))
    qtbot.waitUntil(selection.is_file, timeout=BACKGROUND_MS)
    assert selection.read_text(encoding="utf-8").count("TY  -") == 1


def test_preferences_change_the_citekey_pattern(
    qtbot: QtBot, window: MainWindow, services: Services
) -> None:
    dialog = window.open_preferences()
    ok = dialog.buttons.button(QDialogButtonBox.StandardButton.Ok)
    dialog.pattern_edit.setText("[auth][year")
    assert not ok.isEnabled()
    dialog.pattern_edit.setText("[Auth]_[year]")
    assert ok.isEnabled()
    assert "Mianehsaz_2019" in dialog.pattern_preview.text()
    dialog.abstract_box.setChecked(False)
    ok.click()
    assert services.library.setting("citekey_pattern") == "[Auth]_[year]"
    assert window.settings.preferences.export_include_abstract is False
    [pid] = services.papers.add([(make_ref("A new paper", "Jo Smith", year=2022), None)])
    assert services.edit.reference(pid).citekey == "Smith_2022"


def test_first_start_welcomes_and_adds_the_sample_library(
    qtbot: QtBot, window: MainWindow
) -> None:
    assert window.centre.currentWidget() is window.welcome
    with qtbot.waitSignal(window.library_changed, timeout=BACKGROUND_MS):
        window.welcome.sample_button.click()
    assert window.centre.currentWidget() is window.table_page
    assert window.model.rowCount() == 5
    oa = View(ViewKind.TAG, "osteoarthritis", TagKind.INDICATION)
    assert window.sidebar.count_of(oa) == 2
    assert window.details.reference is not None
    assert window.details.editors["notes"].text()  # a short summary ships as a note


# -- errors ----------------------------------------------------------------------------------


def test_unexpected_errors_open_a_dialog_with_the_traceback(
    qtbot: QtBot, window: MainWindow, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "excepthook", sys.excepthook)
    errors.install_excepthook(lambda: window)
    try:
        raise RuntimeError("a bug in a slot")
    except RuntimeError as exc:
        sys.excepthook(type(exc), exc, exc.__traceback__)
    dialogs = [d for d in window.findChildren(errors.BugDialog) if d.isVisible()]
    assert dialogs
    assert "RuntimeError: a bug in a slot" in dialogs[0].details
    assert "test_unexpected_errors" in dialogs[0].details  # the traceback


def test_background_failures_reach_the_error_handler(qtbot: QtBot, window: MainWindow) -> None:
    from exoref.errors import LibraryLockedError

    def fail(_task: object) -> None:
        raise LibraryLockedError("The library is busy.", hint="close the other window")

    window.runner.run(fail)
    qtbot.waitUntil(lambda: any(b.isVisible() for b in window.findChildren(QMessageBox)),
                    timeout=BACKGROUND_MS)
    box = next(b for b in window.findChildren(QMessageBox) if b.isVisible())
    assert box.text() == "The library is busy."
    assert "Close the other window" in box.informativeText()


def test_sidebar_shows_indications_as_a_tree(qtbot: QtBot, services: Services) -> None:
    from exoref.services.views import SidebarCounts

    sidebar = Sidebar()
    qtbot.addWidget(sidebar)
    sidebar.set_counts(SidebarCounts(all=3, tags=[
        ("arthritis", TagKind.INDICATION, None, 3),
        ("osteoarthritis", TagKind.INDICATION, "arthritis", 2),
        ("knee osteoarthritis", TagKind.INDICATION, "osteoarthritis", 1),
        ("review", TagKind.STUDY_TYPE, None, 1),
    ]))
    knee = sidebar.index_of(View(ViewKind.TAG, "knee osteoarthritis", TagKind.INDICATION))
    assert knee is not None
    assert knee.parent().data() == "osteoarthritis"
    assert knee.parent().parent().data() == "arthritis"
    headers = [sidebar.items.item(r).text() for r in range(sidebar.items.rowCount())]
    assert headers[5:] == ["Indications", "arthritis", "Study type", "review"]


def test_columns_and_sort_are_remembered_apart_from_preferences(
    qtbot: QtBot, services: Services, tmp_path: Path
) -> None:
    from exoref.gui.settings import Settings
    from exoref.gui.table import COLUMN_KEYS
    from exoref.gui.window import MainWindow

    add_papers(services)
    settings = Settings(tmp_path / "config")
    first = MainWindow(services, settings=settings)
    qtbot.addWidget(first)
    first.table.set_column_visible(COLUMN_KEYS.index("journal"), False)
    first.table.set_column_visible(COLUMN_KEYS.index("citekey"), True)
    first.table.horizontalHeader().setSortIndicator(COLUMN_KEYS.index("year"),
                                                    Qt.SortOrder.AscendingOrder)
    first.close()
    assert (tmp_path / "config" / "window-state.ini").is_file()

    again = MainWindow(services, settings=Settings(tmp_path / "config"))
    qtbot.addWidget(again)
    shown = again.table.visible_columns()
    assert "journal" not in shown
    assert "citekey" in shown
    assert (again.model.sort_key, again.model.descending) == ("year", False)
