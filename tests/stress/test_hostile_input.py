"""Hostile input: PDFs that attack the reader, .bib files that attack the parser and the
exporter, file names that attack the file system.  Nothing escapes, hangs, eats memory or runs.

* Every hostile PDF (tests/fixtures/hostile.py, pdfgen's bad files, ../shared/corpus/pdf_broken)
  goes through the import's real extraction path (``examine`` in the worker pool, with the
  import's time limit and the workers' memory limit).  Each is read or refused with a one-line
  reason; the slowest file and the largest worker are measured; the workers run under the
  address-space limit; the files that must be refused are.
* The same files, the hostile .bib files and 20 PDFs with hostile names are imported in one
  batch by ``exoref import`` (a real process, memory watched through /proc).  Every bad file is
  reported by name with a reason, the batch goes on, the library passes its checks, no file is
  written outside the library, the managed copies have portable names, and no JavaScript,
  ``/Launch`` action, ``\\write18`` or ``^^5c`` trick ever creates its sentinel file.
* The library is exported to BibTeX: it parses back, every value has balanced braces, no TeX
  command or ``^^`` notation from the hostile files is written raw, BibTeX and biber read it
  without an error, and a document compiled with ``pdflatex -shell-escape`` runs nothing.
"""

from __future__ import annotations

import collections
import inspect
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import bibtexparser
import pytest

from exoref.services.importer import DEFAULT_TIMEOUT
from exoref.services.workers import WorkerPool
from exoref.storage.files import WINDOWS_DEVICE_NAMES
from tests.conftest import CORPUS
from tests.fixtures import hostile
from tests.stress import MemoryWatch, read_library, run_exoref, start_exoref, tree_snapshot

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="watches /proc"),
]

MEMORY_LIMIT: int = inspect.signature(WorkerPool).parameters["memory_limit"].default
SENTINEL_NAME = "PWNED"

#: kind -> a word the refusal must contain.  Other hostile PDFs may be read (MuPDF repairs
#: them; a readable page makes a paper) or refused, as long as it is with a reason.
MUST_FAIL = {
    "flate bomb (double filter, 64 GiB)": "gave up after",
    "page count 2,000,000,000": "pages",
    "page count negative": "page count",
    "HTML named .pdf": "not a PDF",
    "HTML with a %PDF marker": "damaged",
    "ZIP named .pdf": "not a PDF",
    "ELF executable named .pdf": "not a PDF",
    "pdfgen bad file (fake)": "not a PDF",
    "pdfgen bad file (empty)": "empty",
    "pdfgen bad file (encrypted)": "password",
    "pdfgen bad file (huge_page_count)": "pages",
    "pdfgen bad file (no_header)": "not a PDF",
    "corpus: jabref__not-a-pdf_5bytes.pdf": "not a PDF",
    "corpus: pdfjs__issue21579_encrypted-unicode-pw.pdf": "password",
}


@dataclass(frozen=True)
class HostileSet:
    root: Path  # everything below is the test's; nothing may appear outside lib/
    drop: Path  # the folder given to `exoref import`
    sentinel: Path  # every "run code" attack tries to create this file
    pdfs: dict[Path, str]
    bibs: dict[Path, str]
    names: dict[Path, str]

    def kinds(self) -> collections.Counter[str]:
        counts: collections.Counter[str] = collections.Counter()
        counts["PDF"] = len(self.pdfs)
        counts[".bib"] = len(self.bibs)
        counts["file name"] = len(self.names)
        return counts


@pytest.fixture(scope="module")
def hostile_set(tmp_path_factory: pytest.TempPathFactory) -> HostileSet:
    root = tmp_path_factory.mktemp("hostile")
    drop = root / "drop"
    outside = root / "outside"
    outside.mkdir()
    sentinel = outside / SENTINEL_NAME
    pdfs = hostile.write_hostile_pdfs(drop / "pdf", sentinel)
    broken = CORPUS / "pdf_broken"
    if broken.is_dir():
        (drop / "corpus").mkdir()
        for source in sorted(broken.iterdir()):
            target = drop / "corpus" / source.name
            shutil.copyfile(source, target)
            pdfs[target] = f"corpus: {source.name}"
    bibs = hostile.write_hostile_bibs(drop / "bib", sentinel)
    bibs[hostile.write_names_bib(drop / "bib" / "names.bib", root / "attachments")] = \
        "hostile managed-file names"
    names = hostile.write_odd_names(drop / "names")
    return HostileSet(root, drop, sentinel, pdfs, bibs, names)


def _sentinels(root: Path) -> list[Path]:
    return [p for p in root.rglob(f"*{SENTINEL_NAME}*")]


# -- the extraction path, file by file ---------------------------------------------------------


def test_each_hostile_pdf_is_read_or_refused_within_the_limits(hostile_set: HostileSet) -> None:
    items = {str(path): kind for path, kind in hostile_set.pdfs.items()}
    pool: WorkerPool[str, tuple[float, object]] = WorkerPool(
        hostile.timed_examine, processes=2, timeout=DEFAULT_TIMEOUT)
    started = time.monotonic()
    with MemoryWatch(os.getpid()) as watch:
        outcomes = dict(pool.run(list(items)))
    wall = time.monotonic() - started

    assert set(outcomes) == set(items)
    seconds: dict[str, float] = {}
    verdicts: dict[str, str] = {}
    for item, outcome in outcomes.items():
        kind = items[item]
        if outcome.value is not None:
            elapsed, facts = outcome.value
            seconds[kind] = elapsed
            verdicts[kind] = getattr(facts, "error", None) or "read"
        else:
            seconds[kind] = DEFAULT_TIMEOUT  # stopped by the clock (or crashed)
            verdicts[kind] = outcome.error or ""
        reason = verdicts[kind]
        assert reason, kind
        assert "\n" not in reason, (kind, reason)
        assert "Traceback" not in reason, (kind, reason)
    for kind, word in MUST_FAIL.items():
        if kind.startswith("corpus:") and kind not in verdicts:
            continue  # ../shared/corpus absent
        assert word in verdicts[kind], (kind, verdicts[kind])
    assert verdicts["JavaScript and /Launch actions"] == "read"  # a real article: imported
    assert max(seconds.values()) <= DEFAULT_TIMEOUT
    assert watch.peak_kib * 1024 < MEMORY_LIMIT
    assert MEMORY_LIMIT in watch.limits.values(), watch.limits  # the workers ran limited
    assert not _sentinels(hostile_set.root)

    slowest = max(seconds, key=lambda k: seconds[k])
    refused = sum(v != "read" for v in verdicts.values())
    print(f"\n[hostile PDFs] {len(items)} files in {wall:.1f}s: {refused} refused, "
          f"{len(items) - refused} read; slowest {slowest!r} {seconds[slowest]:.2f}s "
          f"(limit {DEFAULT_TIMEOUT:g}s); largest worker {watch.peak_kib / 1024:.0f} MiB "
          f"(limit {MEMORY_LIMIT / 2**30:g} GiB)")
    for kind in sorted(verdicts, key=lambda k: -seconds[k]):
        print(f"  {seconds[kind]:6.2f}s  {kind:<48} {verdicts[kind][:90]}")


# -- one batch through the command ----------------------------------------------------------------


def _portable(name: str) -> bool:
    return (
        name.isascii() and name.isprintable() and len(name.encode()) <= 120
        and not re.search(r'[/\\<>:"|?*]', name) and not name.startswith(("-", "."))
        and name.split(".", 1)[0].upper() not in WINDOWS_DEVICE_NAMES
    )


def test_a_hostile_batch_imports_what_it_can_and_nothing_escapes(
    hostile_set: HostileSet, tmp_path: Path
) -> None:
    lib = tmp_path / "lib"
    before = tree_snapshot(hostile_set.root)
    dot_names = [p for p in hostile_set.names if p.name.startswith(".")]
    escapes_before = sorted(Path("/tmp").glob("escape*"))  # a title names ../../tmp/escape
    process = start_exoref("import", str(hostile_set.drop), *map(str, dot_names),
                           "--library", str(lib), "--json")
    started = time.monotonic()
    with MemoryWatch(process.pid, include_root=True) as watch:
        out, err = process.communicate(timeout=600)
    elapsed = time.monotonic() - started

    assert process.returncode == 1  # some files failed
    assert err == ""  # no traceback, no "database is locked", nothing but the results
    results = json.loads(out)
    by_path: dict[str, list[dict[str, object]]] = collections.defaultdict(list)
    for result in results:
        by_path[str(result["path"])].append(result)
        assert result["status"] in ("added", "duplicate", "failed"), result
        if result["status"] == "failed":
            reason = str(result["reason"])
            assert reason, result
            assert "\n" not in reason, result
            assert "Traceback" not in reason, result

    # PDFs: one result each, named by its path; the ones that must be refused are
    for path, kind in hostile_set.pdfs.items():
        [result] = by_path[str(path)]
        if kind in MUST_FAIL:
            assert result["status"] == "failed", (kind, result)
            assert MUST_FAIL[kind] in str(result["reason"]), (kind, result)
    # odd source names: every one imported (hidden ones only when named explicitly)
    for path, kind in hostile_set.names.items():
        [result] = by_path[str(path)]
        assert result["status"] == "added", (kind, result)
    # .bib files: entries by line, the bad ones refused with a reason, the rest imported
    bib = {key: [r for k, rs in by_path.items() if k.startswith(f"{key}.bib:") for r in rs]
           for key in ("script", "deep_braces", "huge_field", "nul_bytes", "invalid_utf8",
                       "malformed", "names")}
    status = {key: collections.Counter(str(r["status"]) for r in rs) for key, rs in bib.items()}
    assert status["script"] == {"added": 4}
    assert status["deep_braces"]["added"] == 1
    assert any("braces nested" in str(r["reason"]) for r in bib["deep_braces"])
    assert status["huge_field"] == {"added": 2}
    assert status["nul_bytes"] == {"added": 2}
    assert status["invalid_utf8"] == {"added": 2}
    assert status["malformed"] == {"added": 1, "failed": 3}
    assert all(re.match(r"line \d+: ", str(r["reason"])) for r in bib["malformed"]
               if r["status"] == "failed")
    assert status["names"] == {"added": 10}
    assert not any("not attached" in str(r["reason"]) for r in bib["names"])

    # nothing written outside the library, nothing run
    assert tree_snapshot(hostile_set.root) == before
    assert [p.name for p in tmp_path.iterdir()] == ["lib"]
    assert not _sentinels(hostile_set.root)
    assert not _sentinels(tmp_path)
    assert sorted(Path("/tmp").glob("escape*")) == escapes_before
    for dirpath, _dirs, names in os.walk(lib):
        for name in names:
            assert (Path(dirpath) / name).resolve().is_relative_to(lib.resolve())
    state = read_library(lib)
    assert state.problems(lib, papers_have_files=False) == []
    stored = [Path(rel).name for rel in state.attachments]
    assert all(rel.startswith("files/") for rel in state.attachments)
    bad_names = [n for n in stored if not _portable(n)]
    assert not bad_names, bad_names
    conn = sqlite3.connect(lib / "exoref.sqlite")
    try:
        originals = {r[0] for r in conn.execute("SELECT original_name FROM attachments")}
        citekeys = [r[0] for r in conn.execute("SELECT citekey FROM papers")]
    finally:
        conn.close()
    assert "nul2020" in citekeys  # the NUL dropped from "nul\x002020", the rest kept
    assert all(key.isprintable() for key in citekeys), [k for k in citekeys
                                                         if not k.isprintable()]
    assert {p.name for p in hostile_set.names} <= originals  # the user's names are kept
    check = run_exoref("check", "--library", str(lib))
    assert check.returncode == 0, check.stdout + check.stderr
    assert watch.peak_kib * 1024 < MEMORY_LIMIT

    failed = sum(r["status"] == "failed" for r in results)
    print(f"\n[hostile batch] {sum(hostile_set.kinds().values())} inputs "
          f"({dict(hostile_set.kinds())}) -> {len(results)} results, {failed} failed, "
          f"{len(state.papers)} papers, in {elapsed:.1f}s; largest worker "
          f"{watch.peak_kib / 1024:.0f} MiB, the writer {watch.root_peak_kib / 1024:.0f} MiB; "
          f"nothing outside the library")

    _exported_bibtex_is_safe(lib, tmp_path / "export", hostile_set.sentinel)


# -- the export of a hostile library ------------------------------------------------------------

#: TeX commands from the hostile files that must never reach the .bib unescaped.
_RAW_COMMAND = re.compile(
    r"\\(?:write|immediate|input|include|csname|directlua|openout|catcode|def|scantokens)"
    r"(?![A-Za-z])"
)


def _braces_balanced(value: str) -> bool:
    depth = 0
    escaped = False
    for ch in value:
        if escaped:
            escaped = False
        elif ch == "\\":
            escaped = True
        elif ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth < 0:
                return False
    return depth == 0


def _exported_bibtex_is_safe(lib: Path, work: Path, sentinel: Path) -> None:
    work.mkdir()
    target = work / "library.bib"
    done = run_exoref("export", "-o", str(target), "--library", str(lib))
    assert done.returncode == 0, done.stderr
    text = target.read_text(encoding="utf-8")
    parsed = bibtexparser.parse_string(text)
    assert parsed.failed_blocks == []
    papers = len(read_library(lib).papers)
    assert len(parsed.entries) == papers
    for entry in parsed.entries:
        assert not re.search(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f^]", entry.key), entry.key
        for fld in entry.fields:
            value = str(fld.value)
            assert _braces_balanced(value), (entry.key, fld.key, value[:200])
            assert not _RAW_COMMAND.search(value), (entry.key, fld.key, value[:200])
            assert "^^" not in value, (entry.key, fld.key, value[:200])
            assert not re.search(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]", value), (entry.key, fld.key)

    tools = []
    if shutil.which("bibtex"):
        (work / "doc.aux").write_text("\\citation{*}\n\\bibdata{library}\n\\bibstyle{plain}\n",
                                      encoding="utf-8")
        bibtex = subprocess.run(["bibtex", "doc"], cwd=work, capture_output=True, text=True,
                                check=False, timeout=120)
        assert bibtex.returncode in (0, 1), bibtex.stdout[-2000:]  # 1: warnings only
        assert "error message" not in bibtex.stdout, bibtex.stdout[-2000:]
        tools.append("bibtex")
    if shutil.which("biber"):
        biber = subprocess.run(["biber", "--tool", "--quiet", target.name], cwd=work,
                               capture_output=True, text=True, check=False, timeout=300)
        assert biber.returncode == 0, biber.stdout[-2000:] + biber.stderr[-2000:]
        assert "ERROR" not in biber.stdout + biber.stderr
        tools.append("biber")
    if shutil.which("pdflatex") and shutil.which("bibtex"):
        # The bibliography typeset with shell escape ON: the hostile fields must run nothing.
        (work / "doc.tex").write_text(
            "\\documentclass{article}\n\\begin{document}\n\\nocite{*}\n"
            "\\bibliographystyle{plain}\n\\bibliography{library}\n\\end{document}\n",
            encoding="utf-8")
        latex = ["pdflatex", "-shell-escape", "-interaction=nonstopmode", "-halt-on-error"]
        subprocess.run([*latex, "doc.tex"], cwd=work, capture_output=True, check=False,
                       timeout=300)
        subprocess.run(["bibtex", "doc"], cwd=work, capture_output=True, check=False,
                       timeout=120)
        subprocess.run([*latex[:-1], "doc.tex"], cwd=work, capture_output=True, check=False,
                       timeout=300)
        log = (work / "doc.log").read_text(encoding="latin-1")
        assert "runsystem" not in log  # no \write18 reached TeX, executed or refused
        assert not sentinel.exists()
        assert not _sentinels(work)
        tools.append("pdflatex -shell-escape")
    print(f"[hostile export] {papers} entries, {len(text) / 1e6:.1f} MB: parses back, braces "
          f"balanced, no raw TeX command or ^^; checked with {', '.join(tools) or 'no TeX tools'}")


def test_a_hostile_bib_alone_never_raises(tmp_path: Path) -> None:
    """The reader itself (no import): every hostile .bib gives entries and problems only."""
    from exoref.formats.registry import read_bibliography

    made = hostile.write_hostile_bibs(tmp_path, tmp_path / SENTINEL_NAME)
    slowest = 0.0
    for path, kind in made.items():
        started = time.monotonic()
        parsed = read_bibliography(path)
        slowest = max(slowest, time.monotonic() - started)
        assert parsed.entries, kind
        for problem in parsed.problems:
            assert problem.line > 0, (kind, problem)
            assert problem.reason, (kind, problem)
    assert slowest < 10
    print(f"\n[hostile .bib] {len(made)} files read, slowest {slowest:.2f}s")


def test_each_hostile_bib_imports_within_the_time_limit(tmp_path: Path) -> None:
    from exoref.services.importer import ImportService
    from exoref.services.library import Library

    made = hostile.write_hostile_bibs(tmp_path / "bib", tmp_path / SENTINEL_NAME)
    seconds: dict[str, float] = {}
    with Library.open(tmp_path / "lib") as library:
        service = ImportService(library, processes=1)
        for path, kind in made.items():
            started = time.monotonic()
            results = service.import_paths([path])
            seconds[kind] = time.monotonic() - started
            assert any(r.status == "added" for r in results), kind
    print(f"\n[hostile .bib import] {', '.join(f'{k}: {v:.1f}s' for k, v in seconds.items())}")
    assert max(seconds.values()) < DEFAULT_TIMEOUT, seconds


def test_the_javascript_article_imports_and_runs_nothing(tmp_path: Path) -> None:
    """The one hostile PDF that is a real article: it lands in the library, its actions don't
    run, and a re-render of its first page (the window's thumbnail) runs nothing either."""
    import pymupdf

    sentinel = tmp_path / "outside" / SENTINEL_NAME
    sentinel.parent.mkdir()
    pdf = hostile.write_js_and_launch(tmp_path / "js.pdf", sentinel)
    done = run_exoref("import", str(pdf), "--library", str(tmp_path / "lib"), "--json")
    assert done.returncode == 0, done.stderr
    [result] = json.loads(done.stdout)
    assert result["status"] == "added"
    assert "run code" in str(result["title"])
    doc = pymupdf.open(pdf)
    try:
        doc[0].get_pixmap(dpi=50)
        for widget in doc[0].widgets():
            widget.update()  # a form field with a calculate script
    finally:
        doc.close()
    assert not sentinel.exists()
