"""What an empty library shows: a drop target and a way to try ExoRef on the sample."""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from exoref.gui.icons import app_icon, icon


class WelcomeView(QWidget):
    """Drops land on the window behind it; the buttons open a file dialog or add the sample."""

    add_files_clicked = Signal()
    add_folder_clicked = Signal()
    sample_clicked = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("welcome")
        outer = QVBoxLayout(self)
        outer.setContentsMargins(40, 40, 40, 40)
        outer.addStretch(1)
        zone = QFrame()
        zone.setObjectName("drop-zone")
        zone.setStyleSheet(
            "QFrame#drop-zone { border: 2px dashed #9aa5b1; border-radius: 14px;"
            " background: palette(base); }"
        )
        zone.setMinimumSize(520, 300)
        inner = QVBoxLayout(zone)
        inner.setContentsMargins(36, 30, 36, 30)
        inner.setSpacing(12)
        logo = QLabel()
        logo.setPixmap(app_icon().pixmap(QSize(72, 72)))
        logo.setAlignment(Qt.AlignmentFlag.AlignCenter)
        inner.addWidget(logo)
        title = QLabel("Your library is empty")
        title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        title.setStyleSheet("font-size: 20px; font-weight: 600;")
        inner.addWidget(title)
        text = QLabel(
            "Drop PDFs or folders of PDFs here, or .bib, .ris and CSL-JSON files.<br>"
            "ExoRef copies each file into the library, reads its title, authors, DOI and "
            "abstract, and indexes the full text. Your own files are never moved or changed."
        )
        text.setWordWrap(True)
        text.setAlignment(Qt.AlignmentFlag.AlignCenter)
        text.setStyleSheet("color: #4b5563;")
        inner.addWidget(text)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        self.files_button = QPushButton(icon("import"), "Add files…")
        self.files_button.clicked.connect(self.add_files_clicked)
        self.folder_button = QPushButton(icon("folder"), "Add a folder…")
        self.folder_button.clicked.connect(self.add_folder_clicked)
        self.sample_button = QPushButton(icon("library"), "Add sample library")
        self.sample_button.setObjectName("sample-button")
        self.sample_button.setToolTip("Five review and clinical papers on MSC-derived exosomes "
                                      "(metadata only), to try ExoRef")
        self.sample_button.clicked.connect(self.sample_clicked)
        for button in (self.files_button, self.folder_button, self.sample_button):
            button.setMinimumHeight(32)
            buttons.addWidget(button)
        buttons.addStretch(1)
        inner.addLayout(buttons)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(zone, 3)
        row.addStretch(1)
        outer.addLayout(row)
        outer.addStretch(2)
