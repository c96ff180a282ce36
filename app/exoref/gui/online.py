"""Online lookups in the window: the background runner, its actions and its settings dialog.

An import never waits for the network: the importer puts each new paper in the lookup queue
(:mod:`exoref.services.lookup`) and this module works the queue off the GUI thread, through the
window's one :class:`~exoref.gui.tasks.TaskRunner`, after every import and every few minutes
while papers wait.  Only one lookup job runs at a time; a job asked for meanwhile waits its
turn, so two jobs never look the same paper up at once.

:func:`install` adds the actions to the window's menus and starts the timer; the window needs
nothing else from this module.
"""

from __future__ import annotations

import dataclasses
import logging
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGroupBox,
    QLabel,
    QLineEdit,
    QMenu,
    QVBoxLayout,
    QWidget,
)

from exoref.errors import ExorefError, NotFoundError
from exoref.online.settings import OnlineSettings
from exoref.services.lookup import LookupOutcome, LookupService, OnlineConfig

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from pathlib import Path

    from exoref.gui.tasks import Task
    from exoref.gui.window import MainWindow

log = logging.getLogger("exoref.gui.online")

#: How often the queue is worked while the window is open (the service decides which
#: papers are due: a paper that could not reach a service waits longer after each try).
QUEUE_INTERVAL_MS = 3 * 60 * 1000
#: The first run after the window opens: papers left waiting by the last session.
FIRST_RUN_MS = 5_000
MESSAGE_MS = 8_000
#: Changed fields after which the paper's tags may have changed (the service tags again).
_RETAGGING_FIELDS = frozenset({"mesh", "publication_types", "title", "abstract", "keywords"})
_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_URL_FIELDS = (
    ("crossref_url", "Crossref"),
    ("doi_url", "doi.org"),
    ("eutils_url", "E-utilities (PubMed)"),
    ("idconv_url", "PMC id converter"),
)


# == menus ===================================================================================


def find_menu(window: MainWindow, title: str) -> QMenu | None:
    """The window's menu called ``title`` (ampersands ignored), or ``None``."""
    wanted = title.replace("&", "").casefold()
    for action in window.menuBar().actions():
        menu = action.menu()
        if isinstance(menu, QMenu) and action.text().replace("&", "").casefold() == wanted:
            return menu
    return None


def tools_menu(window: MainWindow) -> QMenu:
    """The Tools menu, made (before View) the first time a module asks for it."""
    menu = find_menu(window, "Tools")
    if menu is not None:
        return menu
    bar = window.menuBar()
    menu = QMenu("&Tools", bar)
    menu.setObjectName("tools-menu")
    before = next((a for a in bar.actions()
                   if a.text().replace("&", "").casefold() in ("view", "help")), None)
    if before is not None:
        bar.insertMenu(before, menu)
    else:
        bar.addMenu(menu)
    return menu


# == what a run did ==========================================================================


@dataclass(slots=True)
class LookupRun:
    """The outcomes of one job and how many papers still wait in the queue afterwards."""

    outcomes: list[LookupOutcome] = field(default_factory=list)
    waiting: int = 0
    #: the user asked for it (and wants to hear how it went even when nothing changed)
    explicit: bool = False

    @property
    def changed_ids(self) -> list[int]:
        return [o.paper_id for o in self.outcomes if o.status == "completed" and o.changed]


def _count(number: int, one: str, many: str) -> str:
    return f"{number} {one if number == 1 else many}"


def outcome_message(run: LookupRun) -> str:
    """One status-bar line: "3 records completed online; 2 wait for the network"."""
    by_status: dict[str, int] = {}
    for outcome in run.outcomes:
        key = outcome.status
        if key == "completed" and not outcome.changed:
            key = "unchanged"
        by_status[key] = by_status.get(key, 0) + 1
    parts = []
    if by_status.get("completed"):
        parts.append(_count(by_status["completed"], "record", "records") + " completed online")
    if by_status.get("unchanged"):
        parts.append(_count(by_status["unchanged"], "record was", "records were")
                     + " complete already")
    if by_status.get("not_found"):
        parts.append(_count(by_status["not_found"], "paper", "papers")
                     + " not found by the services")
    if by_status.get("skipped"):
        parts.append(_count(by_status["skipped"], "paper has", "papers have")
                     + " no identifier or title to look up")
    if by_status.get("failed"):
        parts.append(f"{by_status['failed']} failed")
    waiting = by_status.get("waiting", 0)
    if waiting:
        parts.append(f"{waiting} wait for the network" if waiting > 1
                     else "1 waits for the network")
    elif run.waiting and run.explicit:
        parts.append(f"{run.waiting} more in the queue")
    if not parts:
        return "No record needed a lookup." if run.explicit else ""
    return "; ".join(parts)


@dataclass(frozen=True, slots=True)
class _Job:
    #: papers to look up now; empty: work the queue
    ids: tuple[int, ...] = ()
    #: queue every incomplete paper first
    missing: bool = False
    explicit: bool = False


# == the runner ==============================================================================


class OnlineLookups(QObject):
    """Runs lookups for one window, one job at a time, never on the GUI thread."""

    #: a job ended (LookupRun); the window has been refreshed
    finished = Signal(object)

    def __init__(self, window: MainWindow, *, interval_ms: int = QUEUE_INTERVAL_MS) -> None:
        super().__init__(window)
        self.setObjectName("online-lookups")
        self.window = window
        self.folder: Path = window.settings.folder
        self.config = OnlineConfig.load(self.folder)
        self._task: Task | None = None
        self._pending: list[_Job] = []
        self._paused = False
        self.timer = QTimer(self)
        self.timer.setInterval(interval_ms)
        self.timer.timeout.connect(self.run_queue)
        self.timer.start()
        window.import_finished.connect(self._import_finished)
        window.installEventFilter(self)

    @property
    def busy(self) -> bool:
        return self._task is not None or bool(self._pending)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802
        if watched is self.window and event.type() == QEvent.Type.Close:
            self.timer.stop()  # the window cancels the running job itself
            self._pending.clear()
        return False

    # -- what the actions and timers ask for ---------------------------------------------------

    def _import_finished(self, _outcome: object) -> None:
        self.run_queue()

    def run_queue(self) -> None:
        """Look up the papers whose turn has come (quietly: the timer and imports call it)."""
        if not self.config.enabled or self._paused:
            return
        self._start(_Job())

    def look_up(self, ids: Sequence[int]) -> None:
        """Look these papers up now, whatever the queue says."""
        if not ids:
            self._say("Select the papers to look up first.")
            return
        if self._refuse_when_off():
            return
        self._say(f"Looking up {_count(len(ids), 'paper', 'papers')} online…", 0)
        self._start(_Job(ids=tuple(ids), explicit=True))

    def complete_missing(self) -> None:
        """Queue every paper with gaps (or an identifier never looked up) and work the queue."""
        if self._refuse_when_off():
            return
        self._say("Looking up incomplete records online…", 0)
        self._start(_Job(missing=True, explicit=True))

    def set_config(self, config: OnlineConfig) -> None:
        """Save the settings; the next job uses them."""
        config.save(self.folder)
        self.config = config
        self._paused = False
        if config.enabled:
            self.run_queue()

    # -- running -------------------------------------------------------------------------------

    def _refuse_when_off(self) -> bool:
        if self.config.enabled:
            return False
        self._say("Online lookups are switched off: Tools ▸ Online lookups… switches them on.")
        return True

    def _start(self, job: _Job) -> None:
        if self._task is not None:
            if job not in self._pending:
                self._pending.append(job)
            return
        library = self.window.services.library
        config = self.config

        def work(task: Task) -> LookupRun:
            service = LookupService(library, config)
            try:
                if job.missing:
                    service.enqueue_missing()
                if job.ids:
                    outcomes = []
                    for done, pid in enumerate(job.ids, 1):
                        if task.is_cancelled():
                            break
                        try:
                            outcome = service.lookup(pid)
                        except ExorefError as exc:  # the paper went away meanwhile
                            outcome = LookupOutcome(pid, "failed", message=exc.user_message)
                        outcomes.append(outcome)
                        task.report((done, len(job.ids)))
                elif service.waiting():
                    outcomes = service.run_queue(
                        progress=lambda _o, done, total: task.report((done, total)),
                        cancelled=task.is_cancelled)
                else:
                    outcomes = []
                return LookupRun(outcomes, service.waiting(), job.explicit)
            finally:
                service.close()

        task = self.window.runner.run(
            work, on_result=self._done, on_error=self._failed,
            on_progress=self._progressed if job.explicit else None, name="online lookups")
        if not task.done:  # a synchronous runner has delivered already
            self._task = task

    def _progressed(self, value: object) -> None:
        if isinstance(value, tuple) and len(value) == 2:
            done, total = value
            self._say(f"Looking up online: {done} of {total}…", 0)

    def _done(self, run: LookupRun) -> None:
        self._task = None
        if run.explicit:
            self._paused = False  # the user's own request went through: the timer may go on
        changed = run.changed_ids
        if changed:
            self._refresh(changed, run)
        message = outcome_message(run)
        if message and (run.explicit or run.outcomes):
            self._say(message)
        elif run.explicit:
            self.window.statusBar().clearMessage()
        self.finished.emit(run)
        self._next()

    def _failed(self, exc: BaseException) -> None:
        self._task = None
        if isinstance(exc, ExorefError):
            log.warning("online lookups failed: %s", exc)
            self._say(f"Online lookups stopped: {exc}")
        else:
            # A bug: show it once and stop the timer's runs until the user asks again.
            self._paused = True
            self.window.report_error(exc)
        self.finished.emit(LookupRun())
        self._next()

    def _next(self) -> None:
        while self._pending:
            job = self._pending.pop(0)
            if job.explicit or (self.config.enabled and not self._paused):
                self._start(job)
                return

    def _refresh(self, ids: list[int], run: LookupRun) -> None:
        window = self.window
        window.model.refresh(ids)
        current = window.details.reference
        if current is not None and current.id in ids:
            try:
                window.details.refresh(window.services.edit.reference(current.id))
            except NotFoundError:
                pass
        if any(_RETAGGING_FIELDS & set(o.changed) for o in run.outcomes):
            window.refresh_counts()  # the paper was tagged again: counts may differ
        window.library_changed.emit()

    def _say(self, text: str, msecs: int = MESSAGE_MS) -> None:
        self.window.statusBar().showMessage(text, msecs)


# == the settings dialog =====================================================================


class OnlineSettingsDialog(QDialog):
    """Whether ExoRef may go online, the contact address it sends, and where the services
    are.  The window saves :meth:`config` when the dialog is accepted."""

    def __init__(self, config: OnlineConfig, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("online-settings")
        self.setWindowTitle("Online lookups")
        self.original = config
        settings = config.settings
        layout = QVBoxLayout(self)

        self.enabled_box = QCheckBox("Complete records online (Crossref, PubMed, PMC)")
        self.enabled_box.setObjectName("online-enabled")
        self.enabled_box.setChecked(config.enabled)
        layout.addWidget(self.enabled_box)
        note = QLabel("Imports never wait for the network: new papers queue for a lookup, "
                      "which runs in the background when the services can be reached. "
                      "Fields you typed yourself are never overwritten.")
        note.setWordWrap(True)
        note.setStyleSheet("color: #4b5563;")
        layout.addWidget(note)

        contact = QGroupBox("Contact")
        form = QFormLayout(contact)
        self.email_edit = QLineEdit(settings.contact_email)
        self.email_edit.setObjectName("contact-email")
        self.email_edit.setPlaceholderText("you@university.edu")
        self.email_edit.textChanged.connect(self._validate)
        form.addRow("E-mail", self.email_edit)
        why = QLabel("Sent in the User-Agent (and as Crossref's mailto / NCBI's email), as "
                     "both services ask, so they can write to you before blocking a client:")
        why.setWordWrap(True)
        why.setStyleSheet("color: #4b5563;")
        form.addRow("", why)
        self.agent_label = QLabel()
        self.agent_label.setObjectName("user-agent")
        self.agent_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.agent_label.setStyleSheet("color: #4b5563; font-family: monospace;")
        form.addRow("", self.agent_label)
        self.key_edit = QLineEdit(settings.ncbi_api_key)
        self.key_edit.setObjectName("ncbi-api-key")
        self.key_edit.setPlaceholderText("optional")
        form.addRow("NCBI API key", self.key_edit)
        key_note = QLabel("With a key NCBI allows 10 requests a second instead of 3 "
                          "(free, from your NCBI account settings).")
        key_note.setWordWrap(True)
        key_note.setStyleSheet("color: #4b5563;")
        form.addRow("", key_note)
        layout.addWidget(contact)

        services = QGroupBox("Service addresses")
        form = QFormLayout(services)
        self.url_edits: dict[str, QLineEdit] = {}
        for name, label in _URL_FIELDS:
            edit = QLineEdit(str(getattr(settings, name)))
            edit.setObjectName(name.replace("_", "-"))
            edit.setPlaceholderText(str(getattr(OnlineSettings(), name)))
            edit.textChanged.connect(self._validate)
            self.url_edits[name] = edit
            form.addRow(label, edit)
        url_note = QLabel("Change these only for a mirror or a proxy; an empty field means "
                          "the service's own address.")
        url_note.setWordWrap(True)
        url_note.setStyleSheet("color: #4b5563;")
        form.addRow("", url_note)
        layout.addWidget(services)

        self.problem_label = QLabel()
        self.problem_label.setObjectName("online-problem")
        self.problem_label.setWordWrap(True)
        self.problem_label.setStyleSheet("color: #b91c1c;")
        layout.addWidget(self.problem_label)

        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                        | QDialogButtonBox.StandardButton.Cancel
                                        | QDialogButtonBox.StandardButton.RestoreDefaults)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        restore = self.buttons.button(QDialogButtonBox.StandardButton.RestoreDefaults)
        restore.setText("Default addresses")
        restore.clicked.connect(self.restore_addresses)
        layout.addWidget(self.buttons)
        self._validate()
        self.resize(580, layout.totalHeightForWidth(580))  # wrapped notes at this width

    def restore_addresses(self) -> None:
        defaults = OnlineSettings()
        for name, edit in self.url_edits.items():
            edit.setText(str(getattr(defaults, name)))

    def problem(self) -> str | None:
        """What keeps the settings from being saved, or ``None``."""
        email = self.email_edit.text().strip()
        if email and not _EMAIL_RE.match(email):
            return f"“{email}” does not look like an e-mail address."
        for name, label in _URL_FIELDS:
            url = self.url_edits[name].text().strip()
            if url and not re.match(r"^https?://[^\s/]+", url):
                return f"The {label} address must start with https:// (or http://)."
        return None

    def _validate(self) -> None:
        from exoref.online.client import user_agent  # httpx: only once the dialog opens

        email = self.email_edit.text().strip()
        self.agent_label.setText(user_agent(email if _EMAIL_RE.match(email) else ""))
        problem = self.problem()
        self.problem_label.setText(problem or "")
        self.problem_label.setVisible(problem is not None)
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(problem is None)

    def config(self) -> OnlineConfig:
        defaults = OnlineSettings()
        urls = {name: (edit.text().strip().rstrip("/") or str(getattr(defaults, name)))
                for name, edit in self.url_edits.items()}
        settings = dataclasses.replace(
            self.original.settings,
            contact_email=self.email_edit.text().strip(),
            ncbi_api_key=self.key_edit.text().strip(),
            crossref_url=urls["crossref_url"],
            doi_url=urls["doi_url"],
            eutils_url=urls["eutils_url"],
            idconv_url=urls["idconv_url"],
        )
        return OnlineConfig(enabled=self.enabled_box.isChecked(), settings=settings)


# == wiring ==================================================================================


def lookups_of(window: MainWindow) -> OnlineLookups | None:
    """The window's lookup runner, once :func:`install` has run."""
    return window.findChild(OnlineLookups, "online-lookups")


def open_settings(window: MainWindow, lookups: OnlineLookups) -> OnlineSettingsDialog:
    dialog = OnlineSettingsDialog(lookups.config, parent=window)
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    dialog.accepted.connect(lambda: _apply(window, lookups, dialog.config()))
    dialog.open()
    return dialog


def _apply(window: MainWindow, lookups: OnlineLookups, config: OnlineConfig) -> None:
    try:
        lookups.set_config(config)
    except OSError as exc:
        window.report_error(ExorefError(
            f"Cannot save the online settings in {lookups.folder}: {exc.strerror or exc}.",
            hint="check that the configuration folder can be written"))
        return
    state = "on" if config.enabled else "off"
    window.statusBar().showMessage(f"Online lookups are {state}.", 4000)


def install(window: MainWindow) -> OnlineLookups:
    """Add the lookup actions to the window's menus and start the background runner
    (once: a second call returns the runner already there)."""
    existing = lookups_of(window)
    if existing is not None:
        return existing
    lookups = OnlineLookups(window)

    def action(text: str, slot: Callable[[], object], tip: str) -> QAction:
        act = QAction(text, window)
        act.setStatusTip(tip)
        act.triggered.connect(lambda _checked=False: slot())
        window.addAction(act)
        return act

    look_up = action("&Look up online", lambda: lookups.look_up(window.table.selected_ids()),
                     "Complete the selected papers from Crossref and PubMed")
    look_up.setObjectName("act-look-up")
    look_up.setShortcut(QKeySequence("Ctrl+L"))
    missing = action("&Complete missing records", lookups.complete_missing,
                     "Look up every paper that lacks a journal, authors, year or abstract")
    missing.setObjectName("act-complete-missing")
    settings = action("&Online lookups…", lambda: open_settings(window, lookups),
                      "Switch lookups on or off; your contact e-mail; service addresses")
    settings.setObjectName("act-online-settings")

    paper = find_menu(window, "Paper")
    if paper is not None:
        paper.addSeparator()
        paper.addAction(look_up)
    tools = tools_menu(window)
    tools.addAction(look_up)
    tools.addAction(missing)
    tools.addSeparator()
    tools.addAction(settings)
    QTimer.singleShot(FIRST_RUN_MS, lookups, lookups.run_queue)
    return lookups
