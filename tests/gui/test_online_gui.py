"""Issue 7 in the window: lookups in the background, duplicates merged and undone, watch folders.

The real window on a real library; lookups go to the recorded services on 127.0.0.1
(tests/fixtures/lookup_server.py), never to the internet.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialogButtonBox, QDockWidget

from exoref.domain.models import Author, Reference, Tag, TagKind
from exoref.errors import NotFoundError
from exoref.gui import duplicates, online, watch
from exoref.gui.online import LookupRun, OnlineSettingsDialog, find_menu, outcome_message
from exoref.gui.settings import Settings
from exoref.gui.window import MainWindow
from exoref.services.duplicates import DuplicateService
from exoref.services.lookup import LookupOutcome, OnlineConfig
from tests.fixtures.lookup_server import LookupServer
from tests.fixtures.pdfgen import ArticleSpec, render_article
from tests.gui.conftest import BACKGROUND_MS, file_mime, make_pdf

if TYPE_CHECKING:
    from pathlib import Path

    from pytestqt.qtbot import QtBot

    from exoref.gui.context import Services

COVID_DOI = "10.1089/scd.2020.0080"
COVID_TITLE = "Exosomes Derived from Bone Marrow Mesenchymal Stem Cells"


def _titles(window: MainWindow) -> list[str]:
    model = window.model
    return [row.title for r in range(model.rowCount()) if (row := model.paper_row(r))]


def _doi_only_pdf(path: Path) -> Path:
    """A first page that says little but its DOI (a scan's stamp, a preprint's cover)."""
    return render_article(ArticleSpec(title="Results of the treatment group", authors=[],
                                      journal="", year=None, doi=COVID_DOI), path)


# -- online lookups --------------------------------------------------------------------------


def test_a_pdf_with_only_a_doi_is_completed_in_the_background(
    qtbot: QtBot, window: MainWindow, server: LookupServer, tmp_path: Path
) -> None:
    lookups = online.install(window)
    assert online.install(window) is lookups  # once per window
    lookups.set_config(OnlineConfig(settings=server.settings()))
    assert OnlineConfig.load(window.settings.folder).settings.crossref_url.startswith(server.url)
    pdf = _doi_only_pdf(tmp_path / "scan.pdf")

    # the import ends first (it never waits for the network); the lookup follows on its own
    with qtbot.waitSignal(lookups.finished, timeout=BACKGROUND_MS,
                          check_params_cb=lambda run: bool(run.outcomes)) as blocker:
        with qtbot.waitSignal(window.import_finished, timeout=BACKGROUND_MS) as imported:
            assert window.handle_drop(file_mime(pdf))
        [paper_id] = imported.args[0].added
        assert window.services.papers.get(paper_id).title == "Results of the treatment group"
    run: LookupRun = blocker.args[0]

    assert [(o.paper_id, o.status) for o in run.outcomes] == [(paper_id, "completed")]
    ref = window.services.papers.get(paper_id)
    assert ref.title.startswith(COVID_TITLE)
    assert ref.authors[0].family == "Sengupta"
    assert ref.pmid == "32380908"
    # the table and the details show the completed record; the status bar says so
    assert any(t.startswith(COVID_TITLE) for t in _titles(window))
    window.table.select_ids([paper_id])
    details = window.details.reference
    assert details is not None
    assert details.title.startswith(COVID_TITLE)
    assert window.statusBar().currentMessage() == "1 record completed online"
    # the services were asked with the contact address in the User-Agent
    agents = {r.headers.get("User-Agent", "") for r in server.requests}
    assert agents
    assert all("mailto:lookup-test@example.org" in a for a in agents)


def test_offline_the_import_goes_through_and_the_lookup_waits(
    qtbot: QtBot, window: MainWindow, tmp_path: Path
) -> None:
    down = LookupServer().start()
    settings = down.settings(max_retries=0, max_total_time=1.0)
    down.stop()
    lookups = online.install(window)
    lookups.set_config(OnlineConfig(settings=settings))
    pdf = _doi_only_pdf(tmp_path / "scan.pdf")
    with qtbot.waitSignal(lookups.finished, timeout=BACKGROUND_MS,
                          check_params_cb=lambda run: bool(run.outcomes)) as blocker:
        with qtbot.waitSignal(window.import_finished, timeout=BACKGROUND_MS) as imported:
            window.handle_drop(file_mime(pdf))
        assert [r.status for r in imported.args[0].results] == ["added"]
    run: LookupRun = blocker.args[0]
    assert [o.status for o in run.outcomes] == ["waiting"]
    assert run.waiting == 1
    assert window.statusBar().currentMessage() == "1 waits for the network"

    # "Look up online" on the selection asks again at once, and says how it went
    window.table.select_ids(imported.args[0].added)
    action = next(a for a in window.actions() if a.objectName() == "act-look-up")
    with qtbot.waitSignal(lookups.finished, timeout=BACKGROUND_MS) as again:
        action.trigger()
    assert [o.status for o in again.args[0].outcomes] == ["waiting"]
    assert "wait" in window.statusBar().currentMessage()


def test_switched_off_nothing_is_looked_up(
    qtbot: QtBot, window: MainWindow, server: LookupServer, services: Services
) -> None:
    lookups = online.install(window)
    lookups.set_config(OnlineConfig(enabled=False, settings=server.settings()))
    [pid] = services.papers.add([(Reference(doi=COVID_DOI), None)])
    lookups.look_up([pid])
    assert "switched off" in window.statusBar().currentMessage()
    lookups.run_queue()
    assert not lookups.busy
    assert server.requests == []


def test_the_online_settings_dialog_saves_the_contact_and_addresses(
    qtbot: QtBot, window: MainWindow
) -> None:
    lookups = online.install(window)
    lookups.set_config(OnlineConfig(enabled=False))  # never the real services here
    tools = find_menu(window, "Tools")
    assert tools is not None
    names = [a.objectName() for a in tools.actions()]
    assert {"act-look-up", "act-complete-missing", "act-online-settings"} <= set(names)
    paper = find_menu(window, "Paper")
    assert paper is not None
    assert "act-look-up" in [a.objectName() for a in paper.actions()]

    dialog = online.open_settings(window, lookups)
    assert isinstance(dialog, OnlineSettingsDialog)
    assert not dialog.enabled_box.isChecked()
    ok = dialog.buttons.button(QDialogButtonBox.StandardButton.Ok)
    dialog.email_edit.setText("not an address")
    assert not ok.isEnabled()
    assert "e-mail" in dialog.problem_label.text()
    dialog.email_edit.setText("ana@uni.example")
    assert ok.isEnabled()
    assert "mailto:ana@uni.example" in dialog.agent_label.text()
    dialog.url_edits["crossref_url"].setText("ftp://mirror")
    assert not ok.isEnabled()
    dialog.url_edits["crossref_url"].setText("https://crossref.mirror.example/")
    dialog.url_edits["eutils_url"].setText("")  # empty: the service's own address
    dialog.key_edit.setText("abc123")
    ok.click()

    saved = OnlineConfig.load(window.settings.folder)
    assert saved.enabled is False
    assert saved.settings.contact_email == "ana@uni.example"
    assert saved.settings.crossref_url == "https://crossref.mirror.example"
    assert saved.settings.eutils_url == "https://eutils.ncbi.nlm.nih.gov/entrez/eutils"
    assert saved.settings.ncbi_api_key == "abc123"
    assert lookups.config == saved


def test_the_status_line_counts_each_outcome() -> None:
    run = LookupRun([
        LookupOutcome(1, "completed", ["title"]), LookupOutcome(2, "completed", ["journal"]),
        LookupOutcome(3, "completed", ["year"]), LookupOutcome(4, "waiting"),
        LookupOutcome(5, "waiting"),
    ])
    assert outcome_message(run) == "3 records completed online; 2 wait for the network"
    quiet = LookupRun([LookupOutcome(1, "completed", []), LookupOutcome(2, "not_found")])
    assert outcome_message(quiet) == ("1 record was complete already; "
                                      "1 paper not found by the services")
    assert outcome_message(LookupRun()) == ""
    assert outcome_message(LookupRun(explicit=True)) == "No record needed a lookup."


# -- duplicates ------------------------------------------------------------------------------

TITLE = "Exosomes from umbilical cord MSCs attenuate cartilage degeneration in knee osteoarthritis"


def _plant_pair(services: Services, suffix: str = "") -> tuple[int, int]:
    a, b = services.papers.add([
        (Reference(title=TITLE + suffix, authors=[Author("Zhang", "Wei"), Author("Chen", "Li")],
                   year=2021, journal="Stem Cell Research & Therapy",
                   doi=f"10.1186/s13287-021-0{len(suffix)}", tags=[Tag("to read")]), None),
        (Reference(title=(TITLE + suffix).upper(), authors=[Author("Zhang", "W.")], year=2021,
                   doi=f"10.1186/s13287-021-0{len(suffix)}", pmid=f"3400000{len(suffix)}",
                   tags=[Tag("osteoarthritis", TagKind.INDICATION)]), None),
    ])
    return a, b


def test_the_duplicates_dialog_merges_a_pair_and_undo_brings_it_back(
    qtbot: QtBot, window: MainWindow, services: Services
) -> None:
    a, b = _plant_pair(services)
    [other] = services.papers.add([(Reference(title="Adipose MSC exosomes in rheumatoid "
                                              "arthritis", authors=[Author("Zhang", "W.")],
                                              year=2021), None)])
    window.refresh()
    duplicates.install(window)
    duplicates.install(window)  # once per window: one action, one menu entry
    [action] = [a for a in window.actions() if a.objectName() == "act-find-duplicates"]
    action.trigger()
    dialog = window.findChild(duplicates.DuplicatesDialog, "duplicates")
    assert dialog is not None
    qtbot.waitUntil(lambda: bool(dialog.groups), timeout=BACKGROUND_MS)

    # the planted pair, and only it, with both papers listed
    assert [g.ids for g in dialog.groups] == [[a, b]]
    group = dialog.tree.topLevelItem(0)
    assert group is not None
    assert group.text(0) == "2 papers — same DOI 10.1186/s13287-021-00"
    assert group.childCount() == 2
    child = group.child(1)
    assert child is not None
    assert child.text(0) == TITLE.upper()
    choice = dialog.current()
    assert choice is not None
    assert choice.keep == a
    # the chooser offers the fields that differ, defaulting to the kept paper
    assert {"title", "authors", "journal", "pmid"} <= set(dialog.field_buttons)
    assert "year" not in dialog.field_buttons
    title_buttons = dialog.field_buttons["title"]
    assert title_buttons.checkedId() == a
    assert dialog.field_buttons["pmid"].checkedId() == b  # the kept paper has none

    dialog.choose("authors", b)
    assert choice.choices == {"authors": b}
    with qtbot.waitSignal(dialog.merged, timeout=BACKGROUND_MS):
        dialog.merge_button.click()
    kept = services.papers.get(a)
    assert kept.title == TITLE
    assert [x.family for x in kept.authors] == ["Zhang"]  # as chosen
    assert kept.pmid == "34000000"
    assert {t.name for t in kept.tags} == {"to read", "osteoarthritis"}  # every tag kept
    with pytest.raises(NotFoundError):
        services.papers.get(b)
    assert dialog.groups == []
    assert sorted(_titles(window)) == sorted([TITLE, services.papers.get(other).title])

    with qtbot.waitSignal(dialog.groups_listed, timeout=BACKGROUND_MS):
        dialog.undo_button.click()
    assert services.papers.get(b).title == TITLE.upper()
    assert [x.family for x in services.papers.get(a).authors] == ["Zhang", "Chen"]
    assert [g.ids for g in dialog.groups] == [[a, b]]
    assert len(_titles(window)) == 3
    assert DuplicateService(services.library).merges()[0].undone


def test_merge_all_checked_and_undo_merge_from_the_edit_menu(
    qtbot: QtBot, window: MainWindow, services: Services
) -> None:
    first = _plant_pair(services)
    second = _plant_pair(services, " in rats")
    third = _plant_pair(services, " in a rabbit model")
    duplicates.install(window)
    edit = find_menu(window, "Edit")
    assert edit is not None
    undo = next(a for a in edit.actions() if a.objectName() == "act-undo-merge")
    dialog = duplicates.open_dialog(window)
    qtbot.waitUntil(lambda: len(dialog.groups) == 3, timeout=BACKGROUND_MS)
    # one group is not wanted: unchecked, it stays
    item = dialog.tree.topLevelItem(2)
    assert item is not None
    item.setCheckState(0, Qt.CheckState.Unchecked)
    assert dialog.merge_all_button.text() == "Merge all checked (2)"
    with qtbot.waitSignal(dialog.merged, timeout=BACKGROUND_MS) as blocker:
        dialog.merge_all_button.click()
    assert len(blocker.args[0]) == 2
    assert services.papers.stats().papers == 4
    assert [g.ids for g in dialog.groups] == [list(third)]
    assert list(services.library.paths.backups.glob("*before-merge*"))

    dialog.close()
    qtbot.waitUntil(lambda: window.findChild(duplicates.DuplicatesDialog) is None)
    with qtbot.waitSignal(window.library_changed, timeout=BACKGROUND_MS):
        undo.trigger()  # the latest merge: the second group
    assert services.papers.stats().papers == 5
    assert services.papers.get(second[1]).title == (TITLE + " in rats").upper()
    with pytest.raises(NotFoundError):
        services.papers.get(first[1])


# -- watch folders ---------------------------------------------------------------------------


def test_a_pdf_dropped_into_a_watched_folder_arrives_in_the_library(
    qtbot: QtBot, window: MainWindow, tmp_path: Path
) -> None:
    inbox = tmp_path / "Inbox"
    inbox.mkdir()
    watcher = watch.install(window)
    assert watch.install(window) is watcher
    watcher.timer.setInterval(100)
    watcher.settle = 0.2
    dialog = watch.open_dialog(window, watcher)
    assert dialog.add_folder(inbox / "osteoarthritis")
    assert dialog.add_folder(inbox)  # covers the one inside it, which goes
    assert not dialog.add_folder(inbox / "osteoarthritis")  # inside a watched folder already
    assert dialog.folders() == [str(inbox)]
    dialog.accept()
    saved = json.loads((window.settings.folder / watch.CONFIG_FILE).read_text())
    assert saved == {"folders": [str(inbox)], "tag_subfolders": True}

    with qtbot.waitSignal(watcher.arrived, timeout=BACKGROUND_MS) as blocker:
        spec = make_pdf(inbox / "osteoarthritis" / "new-paper.pdf", seed=41)
    [arrival] = blocker.args[0]
    assert arrival.result.status == "added"
    assert arrival.tags == ["osteoarthritis"]
    assert spec.title in _titles(window)
    ref = window.services.papers.get(arrival.result.id or 0)
    assert "osteoarthritis" in {t.name for t in ref.tags}
    assert (inbox / "osteoarthritis" / "new-paper.pdf").is_file()  # the user's file stays
    dock = window.findChild(QDockWidget, "arrived-dock")
    assert dock is not None
    assert dock.isVisible()
    panel = dock.widget()
    assert isinstance(panel, watch.ArrivedPanel)
    assert panel.rows() == [("osteoarthritis/new-paper.pdf", f"Added: {spec.title}",
                             "osteoarthritis")]
    assert window.statusBar().currentMessage() == "From watch folders: 1 paper added"

    # a second scan does not import it again; nothing arrives while nothing changes
    scans = []
    watcher.scanned.connect(lambda: scans.append(1))
    qtbot.waitUntil(lambda: len(scans) >= 3, timeout=BACKGROUND_MS)
    assert len(panel.rows()) == 1
    watcher.set_config(watch.WatchConfig())
    assert not watcher.timer.isActive()


def test_the_arrived_dock_starts_hidden_and_comes_back_as_it_was_left(
    qtbot: QtBot, window: MainWindow, services: Services, tmp_path: Path
) -> None:
    """A first start watches nothing: no empty "Arrived" pane.  Once the user shows it, the
    next window opens with it shown (the saved window state), and hidden once hidden."""
    dock = window.findChild(QDockWidget, "arrived-dock")
    assert dock is not None
    assert dock.isHidden()
    dock.show()
    window.close()  # saves the window state

    def reopen() -> tuple[MainWindow, QDockWidget]:
        again = MainWindow(services, settings=Settings(tmp_path / "config"))
        qtbot.addWidget(again)
        again.show()
        qtbot.waitExposed(again)
        found = again.findChild(QDockWidget, "arrived-dock")
        assert found is not None
        return again, found

    second, shown = reopen()
    assert not shown.isHidden()
    shown.hide()
    second.close()
    third, hidden = reopen()
    assert hidden.isHidden()
    third.close()
