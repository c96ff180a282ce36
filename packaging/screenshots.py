"""Make the README's screenshots: the main window on the sample library, and the summary of a
drop of a folder with good and broken PDFs.

    .venv/bin/python packaging/screenshots.py [OUTDIR]     (default: docs/screenshots)

Everything happens in a temporary library and config folder; the PDFs are generated
(tests/fixtures/pdfgen.py).  The main window is also what ``exoref gui --screenshot`` saves:
this script calls it in a subprocess so the picture is exactly the command's.
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from tests.fixtures import pdfgen  # noqa: E402


def make_library(root: Path, work: Path) -> None:
    """The sample library, with the seed papers' PDFs attached (imported as duplicates)."""
    from exoref.services.importer import ImportService
    from exoref.services.library import Library
    from exoref.services.sample import SampleService

    with Library.open(root) as library:
        SampleService(library).add_sample()
        seeds = work / "seed-pdfs"
        seeds.mkdir()
        if pdfgen.DEFAULT_SEEDS_DIR.is_dir():
            for i, spec in enumerate(pdfgen.seed_articles(pdfgen.DEFAULT_SEEDS_DIR)):
                if spec.doi:  # without a DOI (or year) a PDF would not match its sample entry
                    pdfgen.render_article(spec, seeds / f"seed{i}.pdf")
            ImportService(library).import_paths([seeds])


def main_window(library: Path, config: Path, target: Path) -> None:
    env = dict(os.environ, EXOREF_CONFIG_DIR=str(config))
    subprocess.run([sys.executable, "-m", "exoref", "gui", "--library", str(library),
                    "--screenshot", str(target)], env=env, check=True)


def import_summary(library: Path, config: Path, work: Path, target: Path) -> None:
    """Drop a folder (3 new papers, a duplicate, broken files) and photograph the summary
    over the window, as it appears on screen."""
    os.environ["EXOREF_CONFIG_DIR"] = str(config)
    from PySide6.QtCore import QPoint
    from PySide6.QtGui import QColor, QPainter

    from exoref.gui.app import SCREENSHOT_SIZE, application
    from exoref.gui.context import Services
    from exoref.gui.window import MainWindow
    from tests.gui.conftest import file_mime

    folder = work / "Downloads" / "exosome-papers"
    folder.mkdir(parents=True)
    for i, topic in enumerate(("osteoarthritis", "liver fibrosis", "acute kidney injury")):
        spec = pdfgen.synthetic_article(random.Random(40 + i), pages=2, topic=topic)
        pdfgen.render_article(spec, folder / f"{spec.authors[0][1]}_{spec.year}.pdf")
    seeds = sorted((work / "seed-pdfs").glob("*.pdf"))
    if seeds:
        (folder / "mianehsaz2019-copy.pdf").write_bytes(seeds[0].read_bytes())
    bad = work / "bad"
    pdfgen.write_bad_files(bad)
    for name in ("fake.pdf", "encrypted.pdf", "empty.pdf", "truncated.pdf"):
        (folder / name).write_bytes((bad / name).read_bytes())

    app = application()
    services = Services.open(library)
    window = MainWindow(services)
    window.resize(*SCREENSHOT_SIZE)
    window.show()
    finished: list[object] = []
    window.import_finished.connect(finished.append)
    window.handle_drop(file_mime(folder))
    while not finished or not window.is_loaded():
        app.processEvents()
        time.sleep(0.01)
    summary = window.summary
    assert summary is not None
    for _ in range(5):
        app.processEvents()
    shot = window.grab()
    dialog = summary.grab()
    painter = QPainter(shot)
    painter.fillRect(shot.rect(), QColor(0, 0, 0, 60))
    corner = QPoint((shot.width() - dialog.width()) // 2, (shot.height() - dialog.height()) // 3)
    for spread in range(8, 0, -1):  # a soft shadow
        painter.fillRect(dialog.rect().translated(corner).adjusted(-spread, -spread + 4,
                                                                   spread, spread + 4),
                         QColor(0, 0, 0, 10))
    painter.drawPixmap(corner, dialog)
    painter.end()
    shot.save(str(target), "PNG")
    summary.close()
    window.close()
    services.close()


def main() -> int:
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else REPO / "docs" / "screenshots"
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="exoref-shots-") as tmp:
        work = Path(tmp)
        library = work / "library"
        make_library(library, work)
        main_window(library, work / "config", out / "main-window.png")
        import_summary(library, work / "config", work, out / "import-summary.png")
    print(f"saved {out / 'main-window.png'} and {out / 'import-summary.png'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
