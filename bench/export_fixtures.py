"""Export agreement with a mature exporter (Better BibTeX) on ../shared/corpus/export_fixtures.

Each fixture is a Zotero library exported as Better BibTeX JSON (``NAME.json``) and the entries
Better BibTeX writes for it (``NAME.biblatex.bib`` and/or ``NAME.bibtex.bib``).  For each, the
items are imported with ExoRef's Better BibTeX JSON reader, exported with ExoRef's BibTeX or
BibLaTeX writer, and both .bib texts are compared field by field, where the fields mean the same
thing:

* entries are matched by citation key (then by title);
* a field of the expected entry agrees when ExoRef's entry has a field of the same meaning
  (``journal``/``journaltitle``, ``address``/``location``, ``annote``/``annotation``, a ``note``
  holding only ``\\url{...}`` and ``url``) whose value is the same after both are decoded
  from LaTeX to Unicode, white space collapsed and brace protection removed; names are compared
  as (family, given) lists, pages, months and dates by their parts, keywords as sets;
* "strict" compares the decoded text as is; "ignoring case" compares titles without regard to
  letter case (Better BibTeX changes English titles to Title Case; ExoRef keeps the stored
  case and protects acronyms with braces instead), all other fields still exactly.

The figures are agreeing fields / fields in the expected entries (the entry type counts as a
field), per fixture and overall, plus the fields ExoRef writes that the expected entry lacks.

Usage: .venv/bin/python bench/export_fixtures.py [--corpus ../shared/corpus] [-v]
"""

from __future__ import annotations

import argparse
import re
import sys
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from exoref.formats.bbtjson import read_bbtjson  # noqa: E402
from exoref.formats.bibtex import parse_names, write_bibtex  # noqa: E402
from exoref.formats.common import month_number, normalize_pages, parse_date  # noqa: E402
from exoref.formats.latex import decode_latex  # noqa: E402

_SAME = {
    "journaltitle": "journal",
    "location": "address",
    "annotation": "annote",
    "school": "institution",
    "archiveprefix": "eprinttype",
    "primaryclass": "eprintclass",
}
_NAME_FIELDS = {"author", "editor", "translator", "bookauthor", "namea", "nameb", "editora"}
_TITLE_FIELDS = {"title", "shorttitle", "booktitle", "series", "maintitle", "eventtitle"}


def split_bib(text: str) -> list[tuple[str, str, dict[str, str]]]:
    """(type, key, {field: LaTeX value}) of each entry, with @string macros resolved."""
    from exoref.formats.bibtex import _resolve
    from exoref.formats.bibtex import parse_string as split

    library = split(text, parse_stack=[])
    macros = {s.key.lower(): _resolve(s.value, {})[0] for s in library.strings}
    out = []
    for entry in library.entries:
        fields: dict[str, str] = {}
        for fld in entry.fields:
            name = fld.key.strip().lower()
            fields.setdefault(name, _resolve(str(fld.value), macros)[0])
        out.append((entry.entry_type.lower(), entry.key, fields))
    return out


def plain(value: str) -> str:
    return " ".join(decode_latex(value).replace("\u00a0", " ").split())


def canonical(name: str, fields: dict[str, str]) -> dict[str, str]:
    """Field name -> comparable value, with fields of the same meaning under one name."""
    out: dict[str, str] = {}
    for key, value in fields.items():
        target = _SAME.get(key, key)
        m = re.fullmatch(r"\s*\\url\{([^{}]*)\}\s*", value)
        if target in ("note", "howpublished") and m:
            target, value = "url", m.group(1)
        if target == "type" and value in ("phdthesis", "mathesis", "techreport"):
            continue  # said by the entry type
        out.setdefault(target, value)
    del name
    return out


def normalize(field: str, value: str, fold: bool) -> object:
    if field in _NAME_FIELDS:
        return [(a.family, a.given) for a in parse_names(value)]
    if field == "pages":
        return normalize_pages(plain(value))
    if field == "month":
        text = plain(value)
        return month_number(text) or text
    if field == "date":
        parts = parse_date(plain(value))
        return (parts.year, parts.month, parts.day) if parts.exact else plain(value)
    if field == "keywords":
        return sorted({k.strip().casefold() for k in re.split(r"[,;]", plain(value)) if k})
    if field in ("url", "doi", "file", "eprint", "urldate"):
        return value.strip()
    if field == "langid":
        return plain(value).lower()
    text = plain(value)
    if fold and field in _TITLE_FIELDS:
        return text.casefold()
    return text


def entry_type(etype: str) -> str:
    aliases = {"conference": "inproceedings", "electronic": "online", "www": "online"}
    return aliases.get(etype, etype)


def compare(expected: list[tuple[str, str, dict[str, str]]],
            ours: list[tuple[str, str, dict[str, str]]], verbose: bool, label: str,
            ) -> tuple[int, int, int, int, Counter[str]]:
    """(fields, agreeing strict, agreeing ignoring case, extra fields ours, misses by field)."""
    by_key = {key: (t, f) for t, key, f in ours}
    used: set[int] = set()

    def identity(fields: dict[str, str]) -> tuple[str, object]:
        return (plain(fields.get("title", "")).casefold(),
                normalize("author", fields.get("author", ""), False))

    def find(key: str, fields: dict[str, str]) -> tuple[str, dict[str, str]] | None:
        if key in by_key and id(by_key[key][1]) not in used:
            return by_key[key]
        wanted = identity(fields)
        candidates = [(t, f) for t, _k, f in ours if id(f) not in used]
        for etype, their in candidates:  # same title and authors
            if identity(their) == wanted:
                return etype, their
        for etype, their in candidates:  # same title
            if identity(their)[0] == wanted[0]:
                return etype, their
        return None

    total = strict = folded = extra = 0
    misses: Counter[str] = Counter()
    for etype, key, fields in expected:
        match = find(key, fields)
        if match is not None:
            used.add(id(match[1]))
        exp = canonical(key, fields)
        if match is None:
            total += len(exp) + 1
            misses["(entry missing)"] += 1
            continue
        our_type, our_fields = match
        mine = canonical(key, our_fields)
        total += 1
        if entry_type(our_type) == entry_type(etype):
            strict += 1
            folded += 1
        else:
            misses["@type"] += 1
            if verbose:
                print(f"  [{label}] {key} @type: expected {etype}, ExoRef {our_type}")
        for field, value in exp.items():
            total += 1
            if field not in mine:
                misses[field] += 1
                if verbose:
                    print(f"  [{label}] {key} {field}: missing (expected {value[:90]!r})")
                continue
            a, b = normalize(field, value, False), normalize(field, mine[field], False)
            if a == b:
                strict += 1
                folded += 1
                continue
            if normalize(field, value, True) == normalize(field, mine[field], True):
                folded += 1
                continue
            misses[field] += 1
            if verbose:
                print(f"  [{label}] {key} {field}:\n      expected {str(a)[:200]}\n"
                      f"      ExoRef   {str(b)[:200]}")
        extra += len(set(mine) - set(exp))
    return total, strict, folded, extra, misses


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, default=REPO.parent / "shared" / "corpus")
    parser.add_argument("-v", "--verbose", action="store_true", help="print each disagreement")
    args = parser.parse_args()
    folder = args.corpus / "export_fixtures"
    if not folder.is_dir():
        print(f"no fixtures at {folder}")
        return
    grand = [0, 0, 0, 0]
    all_misses: Counter[str] = Counter()
    print(f"{'fixture':62} {'mode':8} {'entries':>7} {'fields':>6} {'strict':>7} "
          f"{'no-case':>7} {'extra':>5}")
    for source in sorted(folder.glob("*.json")):
        stem = source.name[: -len(".json")]
        parsed = read_bbtjson(source)
        refs = [e.reference for e in parsed.entries]
        for mode in ("biblatex", "bibtex"):
            expected_file = folder / f"{stem}.{mode}.bib"
            if not expected_file.is_file():
                continue
            expected = split_bib(expected_file.read_text(encoding="utf-8"))
            ours = split_bib(write_bibtex(refs, biblatex=mode == "biblatex"))
            total, strict, folded, extra, misses = compare(expected, ours, args.verbose, stem)
            for i, value in enumerate((total, strict, folded, extra)):
                grand[i] += value
            all_misses.update(misses)
            print(f"{stem[:62]:62} {mode:8} {len(expected):7} {total:6} "
                  f"{100 * strict / max(total, 1):6.1f}% {100 * folded / max(total, 1):6.1f}% "
                  f"{extra:5}")
    total, strict, folded, extra = grand
    print(f"{'OVERALL':62} {'':8} {'':7} {total:6} {100 * strict / max(total, 1):6.1f}% "
          f"{100 * folded / max(total, 1):6.1f}% {extra:5}")
    print("fields disagreeing most:", ", ".join(f"{k} {v}" for k, v in all_misses.most_common(15)))


if __name__ == "__main__":
    main()
