"""Duplicate detection on real metadata with planted duplicates: precision, recall, speed.

The base set is every reference with a title and a first author in the .bib files of
../shared/corpus/bib, made distinct by exact DOI and exact normalised title (the corpus holds
true duplicates of its own: they would blur the ground truth).  From a seeded sample of it the
bench plants copies changed the ways duplicates differ in real libraries (misspellings,
case, markup, accents, missing identifiers, preprint and journal versions, ...) and hard
negatives: different papers whose titles are spelt almost alike (another number or part,
"rats" / "mice", another disease, "in vitro" / "in vivo", an erratum, companion papers
"X: methods" / "X: results"), without identifiers.  Copies carry no DOI, PMID or PMCID unless
their kind says otherwise ("preprint": a preprint server's DOI and venue, a year earlier or
the same, subtitle or punctuation changed; "doi_forms": the DOI as a resolver URL, the title
cut short), so they are found by title, first author and year.  A "preprint" copy is made
only of a reference with a year (the rules pair a preprint with its journal version only
when both years are known), a "doi_forms" copy only of one with a DOI.

Pairs are counted: a predicted pair is any two records in one predicted group; precision is
the share of predicted pairs that were planted, recall the share of planted pairs predicted.
Pairs the finder predicts among the base records themselves count against precision and are
listed: some may be real duplicates the exact deduplication missed.  Then the whole base set
is scanned on its own (the groups found are printed for a person to judge), and a speed run
times find_duplicates on 100,000 records made from the corpus titles.

Usage: .venv/bin/python bench/duplicates.py [--seed 1] [--n 3000] [--speed 100000]
"""

from __future__ import annotations

import argparse
import random
import re
import sys
import time
import unicodedata
from collections import Counter, defaultdict
from dataclasses import dataclass, replace
from itertools import combinations
from pathlib import Path

from rapidfuzz import fuzz

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "app"))

from exoref.domain.duplicates import (  # noqa: E402
    DEFAULT_THRESHOLD,
    DuplicateKey,
    blocking_keys,
    find_duplicates,
    normalize_title,
)
from exoref.domain.identifiers import doi_key  # noqa: E402
from exoref.domain.text import ascii_fold  # noqa: E402
from exoref.errors import ExorefError  # noqa: E402
from exoref.formats.registry import read_bibliography  # noqa: E402

POSITIVE_KINDS = (
    "typo_title", "typo_author", "case", "no_doi", "preprint", "subtitle_punct",
    "article", "latex_braces", "unicode_ascii", "initials", "year_off_by_one", "doi_forms",
    "combined",
)
NEGATIVE_KINDS = ("neg_number", "neg_species", "neg_word", "neg_vitro_vivo", "neg_erratum",
                  "neg_subtitle")
#: Companion papers: one main title, two subtitles.
_COMPANIONS = (("theory", "experiments"), ("methods", "results"),
               ("design and rationale", "baseline characteristics"),
               ("mechanisms", "applications"), ("foundations", "algorithms"))


@dataclass
class Paper:
    """A base reference as the bench changes it (DuplicateKey is frozen)."""

    title: str
    family: str
    given: str
    year: int | None
    doi: str
    pmid: str
    pmcid: str
    journal: str
    entry_type: str

    def key(self, rid: int) -> DuplicateKey:
        return DuplicateKey(id=rid, title=self.title, first_author=self.family, year=self.year,
                            doi=self.doi, pmid=self.pmid, pmcid=self.pmcid,
                            entry_type=self.entry_type, journal=self.journal)


# --------------------------------------------------------------------------------------------
# The base set
# --------------------------------------------------------------------------------------------


def load_base(corpus: Path) -> tuple[list[Paper], Counter[str]]:
    counts: Counter[str] = Counter()
    papers: list[Paper] = []
    seen_doi: set[str] = set()
    seen_title: set[str] = set()
    for path in sorted((corpus / "bib").glob("*.bib")):
        try:
            parsed = read_bibliography(path)
        except ExorefError:
            counts["files unreadable"] += 1
            continue
        counts["files"] += 1
        for entry in parsed.entries:
            ref = entry.reference
            counts["entries"] += 1
            first = ref.first_author
            family = first.family if first else ""
            norm = normalize_title(ref.title)
            if len(norm.replace(" ", "")) < 20 or sum(c.isalpha() for c in family) < 2:
                counts["no usable title or first author"] += 1
                continue
            doi = doi_key(ref.doi) if ref.doi else ""
            if (doi and doi in seen_doi) or norm in seen_title:
                counts["dropped: same DOI or title as an earlier entry"] += 1
                continue
            if doi:
                seen_doi.add(doi)
            seen_title.add(norm)
            papers.append(Paper(title=ref.title, family=family, given=first.given if first else "",
                                year=ref.year, doi=ref.doi, pmid=ref.pmid, pmcid=ref.pmcid,
                                journal=ref.journal or ref.booktitle, entry_type=ref.entry_type))
    counts["base references"] = len(papers)
    return papers, counts


# --------------------------------------------------------------------------------------------
# Changes
# --------------------------------------------------------------------------------------------

_LETTERS = "abcdefghijklmnopqrstuvwxyz"
_SEPARATOR_RE = re.compile(r"\s*:\s+|\s+[-–—]\s+|\.\s+(?=[A-Za-z])")
_SUBTITLES = (
    "a preliminary report", "results of a preclinical study", "a mechanistic study",
    "implications for therapy", "an experimental study", "a pilot investigation",
    "new insights", "a proof-of-concept study",
)
_ACCENTS = {"a": "á", "e": "é", "i": "í", "o": "ö", "u": "ü", "n": "ñ", "c": "ç"}
_GIVEN = ("Wei", "Jing", "Maria", "John", "Anna", "Li", "Peter", "Sarah", "Hiroshi", "Ahmed")


def _protected(title: str) -> set[int]:
    """Positions of numbers and Roman numerals, which misspellings must not touch (they are
    what tells series papers apart)."""
    spots: set[int] = set()
    for m in re.finditer(r"\b(?:[IVXivx]{1,4}|\w*\d\w*)\b", title):
        spots.update(range(m.start(), m.end()))
    return spots


def typo(text: str, edits: int, rng: random.Random) -> str:
    """``edits`` single-letter changes (substitute, delete, insert, swap neighbours)."""
    chars = list(text)
    for _ in range(edits):
        protect = _protected("".join(chars))
        spots = [i for i, c in enumerate(chars) if c.isalpha() and i not in protect]
        if len(spots) < 3:
            break
        i = rng.choice(spots)
        op = rng.choice(("sub", "del", "ins", "swap"))
        if op == "sub":
            new = rng.choice([c for c in _LETTERS if c != chars[i].lower()])
            chars[i] = new.upper() if chars[i].isupper() else new
        elif op == "del":
            del chars[i]
        elif op == "ins":
            chars.insert(i, rng.choice(_LETTERS))
        elif i + 1 < len(chars) and chars[i + 1].isalpha() and chars[i + 1] != chars[i]:
            chars[i], chars[i + 1] = chars[i + 1], chars[i]
        else:
            chars[i] = rng.choice([c for c in _LETTERS if c != chars[i].lower()])
    return "".join(chars)


def change_case(title: str, rng: random.Random) -> str:
    return rng.choice((title.upper(), title.lower(), title.title()))


def subtitle_punct(title: str, rng: random.Random) -> str:
    m = _SEPARATOR_RE.search(title)
    if m:
        new = rng.choice((": ", " - ", ". ", " — ", " "))
        if new == m.group(0):
            new = ": " if new != ": " else " - "
        return title[: m.start()] + new + title[m.end():]
    words = title.split()
    if len(words) < 4:
        return title + "."
    cut = rng.randint(2, len(words) - 2)
    return " ".join(words[:cut]) + ": " + " ".join(words[cut:])


def article(title: str) -> str:
    m = re.match(r"(?i)(the|an?)\s+(.*)", title)
    if m:
        rest = m.group(2)
        return rest[:1].upper() + rest[1:]
    return "The " + title


def latex_braces(title: str, rng: random.Random) -> str:
    words = title.split(" ")
    acronyms = [i for i, w in enumerate(words) if sum(c.isupper() for c in w) >= 2]
    if acronyms:
        for i in acronyms:
            words[i] = "{" + words[i] + "}"
    else:
        capitals = [i for i, w in enumerate(words) if w[:1].isupper()]
        for i in capitals[: rng.randint(1, 3)]:
            words[i] = "{" + words[i] + "}"
    out = " ".join(words)
    if rng.random() < 0.3:
        out = "{" + out + "}"
    if rng.random() < 0.3:
        i = rng.randrange(len(words))
        plain = out.split(" ")
        plain[i] = "\\emph{" + plain[i] + "}"
        out = " ".join(plain)
    return out


def accent(text: str, rng: random.Random, count: int = 1) -> str:
    spots = [i for i, c in enumerate(text) if c in _ACCENTS]
    chars = list(text)
    for i in rng.sample(spots, min(count, len(spots))):
        chars[i] = _ACCENTS[chars[i]]
    return "".join(chars)


def _greek_spelt() -> dict[int, str]:
    table = {}
    for cp in range(0x0391, 0x03CA):
        name = unicodedata.name(chr(cp), "")
        if name.startswith(("GREEK SMALL LETTER ", "GREEK CAPITAL LETTER ")):
            word = name.rsplit(" ", 1)[-1].lower()
            table[cp] = "lambda" if word == "lamda" else word
    return table


_GREEK_SPELT = _greek_spelt()


def to_ascii(text: str) -> str:
    """What an ASCII-only source writes: Greek letters spelt out, accents dropped."""
    return ascii_fold(text.translate(_GREEK_SPELT))


def unicode_ascii(p: Paper, rng: random.Random) -> Paper:
    if not p.title.isascii() or not p.family.isascii():
        return replace(p, title=to_ascii(p.title), family=to_ascii(p.family),
                       given=to_ascii(p.given))
    return replace(p, title=accent(p.title, rng, 2), family=accent(p.family, rng))


def initials(given: str, rng: random.Random) -> str:
    parts = [w for w in re.split(r"[\s.]+", given) if w]
    if not parts:
        return rng.choice(_GIVEN)
    if all(len(w) == 1 for w in parts):
        full = [w for w in _GIVEN if w[0] == parts[0].upper()]
        return (full[0] if full else rng.choice(_GIVEN)) + " " + " ".join(parts[1:])
    return " ".join(w[0] + "." for w in parts)


def abbreviate(journal: str) -> str:
    return " ".join(w[:4] + "." if len(w) > 5 else w for w in journal.split())


def preprint_doi(rng: random.Random, year: int) -> tuple[str, str, str]:
    """(DOI, venue, entry type) of a made-up preprint posted in ``year``."""
    server = rng.choice(("biorxiv", "medrxiv", "rs", "arxiv", "ssrn", "preprints"))
    n = rng.randint(100000, 999999)
    if server in ("biorxiv", "medrxiv"):
        doi = f"10.1101/{year}.{rng.randint(1, 12):02d}.{rng.randint(1, 28):02d}.{n}"
        return doi, "bioRxiv" if server == "biorxiv" else "medRxiv", "article"
    if server == "rs":
        return f"10.21203/rs.3.rs-{n}/v1", "Research Square", "article"
    if server == "arxiv":
        return f"10.48550/arXiv.{year % 100:02d}{rng.randint(1, 12):02d}.{n % 100000:05d}", \
            "arXiv", "misc"
    if server == "ssrn":
        return f"10.2139/ssrn.{n}", "SSRN Electronic Journal", "article"
    return f"10.20944/preprints{year}{rng.randint(1, 12):02d}.{n % 10000:04d}.v1", \
        "Preprints", "article"


def preprint_title(title: str, rng: random.Random) -> str:
    m = _SEPARATOR_RE.search(title)
    if m and len(title[: m.start()].split()) < 3:
        m = None  # "Erratum: X", "LARS: A Framework ...": the subtitle is the title
    choice = rng.random()
    if m and choice < 0.45:  # another subtitle, or none
        if rng.random() < 0.5:
            return title[: m.start()]
        return title[: m.start()] + ": " + rng.choice(_SUBTITLES)
    if choice < 0.7:  # a subtitle added
        return title.rstrip(".") + ": " + rng.choice(_SUBTITLES)
    if choice < 0.85:
        return subtitle_punct(title, rng)
    return change_case(title, rng)


def strip_ids(p: Paper) -> Paper:
    return replace(p, doi="", pmid="", pmcid="")


def plant(kind: str, p: Paper, rng: random.Random) -> Paper:
    """A copy of ``p`` changed as ``kind`` says."""
    if kind == "typo_title":
        return strip_ids(replace(p, title=typo(p.title, rng.randint(1, 3), rng)))
    if kind == "typo_author":
        edits = 2 if len(p.family) >= 8 else 1
        return strip_ids(replace(p, family=typo(p.family, edits, rng)))
    if kind == "case":
        return strip_ids(replace(p, title=change_case(p.title, rng)))
    if kind == "no_doi":
        return strip_ids(replace(p, journal=abbreviate(p.journal)))
    if kind == "preprint":
        year = (p.year or 2020) - (1 if rng.random() < 0.7 else 0)
        doi, venue, entry_type = preprint_doi(rng, year)
        return replace(p, title=preprint_title(p.title, rng), year=year, doi=doi, pmid="",
                       pmcid="", journal=venue, entry_type=entry_type)
    if kind == "subtitle_punct":
        return strip_ids(replace(p, title=subtitle_punct(p.title, rng)))
    if kind == "article":
        return strip_ids(replace(p, title=article(p.title)))
    if kind == "latex_braces":
        return strip_ids(replace(p, title=latex_braces(p.title, rng)))
    if kind == "unicode_ascii":
        return strip_ids(unicode_ascii(p, rng))
    if kind == "initials":
        return strip_ids(replace(p, given=initials(p.given, rng)))
    if kind == "year_off_by_one":
        return strip_ids(replace(p, year=(p.year or 2020) + rng.choice((-1, 1))))
    if kind == "doi_forms":  # the DOI as a resolver URL, other case; the title cut short
        words = p.title.split()
        title = " ".join(words[: max(2, len(words) // 2)]) + " ..."
        return replace(p, title=title, doi="https://doi.org/" + p.doi.upper(),
                       year=(p.year or 2020) + rng.choice((0, 1)))
    if kind == "combined":
        q = strip_ids(p)
        for step in rng.sample(("typo", "case", "article", "latex", "accent", "punct",
                                "author", "year"), rng.randint(2, 3)):
            if step == "typo":
                q = replace(q, title=typo(q.title, rng.randint(1, 2), rng))
            elif step == "case":
                q = replace(q, title=change_case(q.title, rng))
            elif step == "article":
                q = replace(q, title=article(q.title))
            elif step == "latex":
                q = replace(q, title=latex_braces(q.title, rng))
            elif step == "accent":
                q = unicode_ascii(q, rng)
            elif step == "punct":
                q = replace(q, title=subtitle_punct(q.title, rng))
            elif step == "author":
                q = replace(q, family=typo(q.family, 1, rng))
            else:
                q = replace(q, year=(q.year or 2020) + rng.choice((-1, 1)))
        return q
    raise ValueError(kind)


_SPECIES = ("rats", "mice", "pigs", "rabbits", "dogs", "sheep")
_SPECIES_RE = re.compile(r"\b(rats?|mice|mouse|pigs?|rabbits?|dogs?|sheep|humans?)\b", re.I)


def negative(kind: str, p: Paper, vocabulary: list[str],
             rng: random.Random) -> tuple[Paper, Paper]:
    """(the original as changed, a different paper spelt almost alike): same first author,
    same year, no identifiers on the new one."""
    other = strip_ids(p)
    if kind == "neg_number":
        runs = list(re.finditer(r"\d+", p.title))
        if runs and rng.random() < 0.6:
            m = rng.choice(runs)
            value = int(m.group(0))
            new = str(value + rng.choice((1, 2, 10)) if value < 1900 else value + 1)
            return p, replace(other, title=p.title[: m.start()] + new + p.title[m.end():])
        style = rng.choice((("I", "II"), ("1", "2"), ("II", "III")))
        base = p.title.rstrip(". ")
        joiner = rng.choice((": Part ", ". Part ", ", part ", " "))
        return (replace(p, title=base + joiner + style[0]),
                replace(other, title=base + joiner + style[1]))
    if kind == "neg_species":
        found = _SPECIES_RE.search(p.title)
        if found:
            swap = rng.choice([s for s in _SPECIES if not s.startswith(found.group(0).lower()[:3])])
            return p, replace(other, title=p.title[: found.start()] + swap
                              + p.title[found.end():])
        a, b = rng.sample(_SPECIES, 2)
        base = p.title.rstrip(". ")
        return replace(p, title=f"{base} in {a}"), replace(other, title=f"{base} in {b}")
    if kind == "neg_word":
        words = p.title.split(" ")
        spots = [i for i, w in enumerate(words) if len(w) >= 5 and w.isalpha()]
        if not spots:
            spots = list(range(len(words)))
        i = max(spots, key=lambda k: len(words[k]))
        target = words[i].lower()
        for _ in range(50):
            pick = rng.choice(vocabulary)
            if fuzz.ratio(pick, target) < 40:
                break
        words[i] = pick.capitalize() if words[i][:1].isupper() else pick
        return p, replace(other, title=" ".join(words))
    if kind == "neg_vitro_vivo":
        if re.search(r"(?i)\bin vitro\b", p.title):
            return p, replace(other, title=re.sub(r"(?i)\bin vitro\b", "in vivo", p.title))
        if re.search(r"(?i)\bin vivo\b", p.title):
            return p, replace(other, title=re.sub(r"(?i)\bin vivo\b", "in vitro", p.title))
        base = p.title.rstrip(". ")
        return (replace(p, title=base + ": an in vitro study"),
                replace(other, title=base + ": an in vivo study"))
    if kind == "neg_subtitle":
        one, two = rng.choice(_COMPANIONS)
        m = _SEPARATOR_RE.search(p.title)
        main = p.title[: m.start()] if m and m.start() > 20 else p.title.rstrip(". ")
        return replace(p, title=f"{main}: {one}"), replace(other, title=f"{main}: {two}")
    if kind == "neg_erratum":
        prefix = rng.choice(("Erratum: ", "Correction to: ", "Author Correction: ",
                             "Retraction Note: ", "Corrigendum to "))
        return p, replace(other, title=prefix + p.title,
                          year=(p.year or 2020) + rng.choice((0, 1)))
    raise ValueError(kind)


# --------------------------------------------------------------------------------------------
# The run
# --------------------------------------------------------------------------------------------


@dataclass
class PlantedSet:
    records: list[DuplicateKey]
    true_pairs: dict[tuple[int, int], str]  # pair -> kind ("copy+copy" between two copies)
    negative_pairs: dict[tuple[int, int], str]
    base_ids: set[int]
    titles: dict[int, str]


def _pair(a: int, b: int) -> tuple[int, int]:
    return (a, b) if a < b else (b, a)


def build(base: list[Paper], n: int, rng: random.Random) -> PlantedSet:
    sample = rng.sample(base, min(n, len(base)))
    vocabulary = sorted({w.lower() for p in base for w in p.title.split()
                         if w.isalpha() and len(w) >= 6})
    order = list(range(len(sample)))
    rng.shuffle(order)
    n_pos = int(len(sample) * 0.40)
    n_neg = int(len(sample) * 0.10)
    positives, negatives = order[:n_pos], order[n_pos:n_pos + n_neg]
    papers: dict[int, Paper] = {i + 1: p for i, p in enumerate(sample)}
    next_id = len(sample) + 1
    true_pairs: dict[tuple[int, int], str] = {}
    negative_pairs: dict[tuple[int, int], str] = {}
    for k, index in enumerate(negatives):
        kind = NEGATIVE_KINDS[k % len(NEGATIVE_KINDS)]
        original, other = negative(kind, papers[index + 1], vocabulary, rng)
        papers[index + 1] = original
        papers[next_id] = other
        negative_pairs[(index + 1, next_id)] = kind
        next_id += 1
    for k, index in enumerate(positives):
        kinds = [POSITIVE_KINDS[k % len(POSITIVE_KINDS)]]
        if rng.random() < 0.1:
            kinds.append(rng.choice(POSITIVE_KINDS))
        original = papers[index + 1]
        if not original.doi:  # no DOI to write in another form
            kinds = [kind if kind != "doi_forms" else "no_doi" for kind in kinds]
        if original.year is None:  # a preprint is matched to a journal year (see --help)
            kinds = [kind if kind != "preprint" else "year_off_by_one" for kind in kinds]
        copies = []
        for kind in kinds:
            papers[next_id] = plant(kind, papers[index + 1], rng)
            true_pairs[(index + 1, next_id)] = kind
            copies.append(next_id)
            next_id += 1
        for a, b in combinations(copies, 2):
            true_pairs[_pair(a, b)] = "copy+copy"
    records = [p.key(rid) for rid, p in papers.items()]
    rng.shuffle(records)
    return PlantedSet(records, true_pairs, negative_pairs, set(range(1, len(sample) + 1)),
                      {rid: p.title for rid, p in papers.items()})


def evaluate(planted: PlantedSet, threshold: float, scorer: str) -> tuple[dict[str, float], float,
                                                                           set[tuple[int, int]]]:
    start = time.perf_counter()
    groups = find_duplicates(planted.records, threshold=threshold, scorer=scorer)  # type: ignore[arg-type]
    seconds = time.perf_counter() - start
    predicted = {_pair(a, b) for g in groups for a, b in combinations(g.ids, 2)}
    truth = set(planted.true_pairs)
    hits = len(predicted & truth)
    figures = {
        "predicted": len(predicted),
        "precision": hits / len(predicted) if predicted else 1.0,
        "recall": hits / len(truth) if truth else 1.0,
    }
    return figures, seconds, predicted


def speed(base: list[Paper], count: int, rng: random.Random) -> None:
    """find_duplicates on ``count`` records made from real titles with two words swapped for
    random ones, real family names (as skewed as the corpus), random years, 70 % with a DOI;
    one record in fifty is followed by a misspelt copy without DOI."""
    vocabulary = sorted({w for p in base for w in p.title.split() if w.isalpha()})
    families = [p.family for p in base]
    records: list[DuplicateKey] = []
    planted = 0
    while len(records) < count:
        p = base[len(records) % len(base)]
        words = p.title.split()
        for _ in range(2):
            words[rng.randrange(len(words))] = rng.choice(vocabulary)
        n = len(records) + 1
        record = DuplicateKey(id=n, title=" ".join(words), first_author=rng.choice(families),
                              year=rng.randint(2000, 2025),
                              doi=f"10.9999/bench.{n}" if rng.random() < 0.7 else "")
        records.append(record)
        if n % 50 == 0:
            records.append(replace(record, id=n + 1, title=typo(record.title, 1, rng), doi=""))
            planted += 1
    start = time.perf_counter()
    keys = sum(len(blocking_keys(r)) for r in records)
    keys_s = time.perf_counter() - start
    start, cpu = time.perf_counter(), time.process_time()
    groups = find_duplicates(records)
    find_s, cpu_s = time.perf_counter() - start, time.process_time() - cpu
    print(f"\nspeed: {len(records):,} records: find_duplicates {find_s:.2f} s "
          f"(CPU {cpu_s:.2f} s; {len(groups)} groups, {planted} planted); "
          f"blocking_keys for all {keys_s:.2f} s ({keys / len(records):.1f} keys per record)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, default=REPO.parent / "shared" / "corpus")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--n", type=int, default=3000, help="base references sampled")
    parser.add_argument("--threshold", type=float, default=DEFAULT_THRESHOLD)
    parser.add_argument("--speed", type=int, default=100_000,
                        help="records for the speed run (0: none)")
    parser.add_argument("--examples", type=int, default=8, help="mistakes listed per kind")
    args = parser.parse_args()

    start = time.perf_counter()
    base, counts = load_base(args.corpus)
    print(f"corpus: {counts['files']} .bib files, {counts['entries']} entries read in "
          f"{time.perf_counter() - start:.1f} s")
    for what, number in counts.items():
        if what not in ("files", "entries"):
            print(f"  {what}: {number}")
    if not base:
        print("no references: is ../shared/corpus present?")
        return
    rng = random.Random(args.seed)
    planted = build(base, args.n, rng)
    print(f"planted set (seed {args.seed}): {len(planted.records)} records = "
          f"{len(planted.base_ids)} base + {len(planted.records) - len(planted.base_ids)} added; "
          f"{len(planted.true_pairs)} planted duplicate pairs, "
          f"{len(planted.negative_pairs)} hard-negative pairs")

    figures, seconds, predicted = evaluate(planted, args.threshold, "ratio")
    found_by_kind: Counter[str] = Counter()
    planted_by_kind = Counter(planted.true_pairs.values())
    missed: defaultdict[str, list[tuple[int, int]]] = defaultdict(list)
    for pair, kind in planted.true_pairs.items():
        if pair in predicted:
            found_by_kind[kind] += 1
        else:
            missed[kind].append(pair)
    print(f"\nrecall by kind of planted change (threshold {args.threshold:g}, fuzz.ratio):")
    for kind in (*POSITIVE_KINDS, "copy+copy"):
        total = planted_by_kind[kind]
        if total:
            found = found_by_kind[kind]
            print(f"  {kind:18} {found:5} / {total:<5} {found / total:7.3f}")
    print("hard negatives reported as duplicates (lower is better):")
    negatives_by_kind = Counter(planted.negative_pairs.values())
    wrong: defaultdict[str, list[tuple[int, int]]] = defaultdict(list)
    for pair, kind in planted.negative_pairs.items():
        if _pair(*pair) in predicted:
            wrong[kind].append(pair)
    for kind in NEGATIVE_KINDS:
        print(f"  {kind:18} {len(wrong[kind]):5} / {negatives_by_kind[kind]:<5}")
    false_pairs = predicted - set(planted.true_pairs)
    base_pairs = [p for p in false_pairs if p[0] in planted.base_ids and p[1] in planted.base_ids]
    print(f"false pairs: {len(false_pairs)} (of which between two base references: "
          f"{len(base_pairs)}, between a hard negative and its original: "
          f"{sum(len(v) for v in wrong.values())})")
    print(f"\nOVERALL: precision {figures['precision']:.3f}, recall {figures['recall']:.3f} "
          f"({int(figures['predicted'])} predicted pairs, {len(planted.true_pairs)} planted); "
          f"{len(planted.records)} records in {seconds:.2f} s")

    if args.examples:
        titles = planted.titles
        print("\nmissed planted pairs (examples):")
        for kind, pairs in sorted(missed.items()):
            for a, b in pairs[: args.examples]:
                print(f"  [{kind}] {titles[a]!r}\n  {'':{len(kind) + 2}} {titles[b]!r}")
        print("false pairs (examples):")
        for a, b in sorted(false_pairs)[: args.examples * 2]:
            print(f"  {titles[a]!r}\n  {titles[b]!r}")

    print("\nscorer and threshold (precision / recall):")
    for threshold in (85.0, 88.0, 90.0, 92.0, 95.0):
        row = [f"  {threshold:4.0f}"]
        for scorer in ("ratio", "token_sort_ratio"):
            f, _s, _p = evaluate(planted, threshold, scorer)
            row.append(f"{scorer} {f['precision']:.3f} / {f['recall']:.3f}")
        print("   ".join(row))

    start = time.perf_counter()
    real = find_duplicates(p.key(i + 1) for i, p in enumerate(base))
    seconds = time.perf_counter() - start
    print(f"\nthe whole base set ({len(base)} references, distinct by DOI and title): "
          f"{len(real)} groups predicted in {seconds:.2f} s; they may be real duplicates "
          "the exact deduplication missed, or mistakes:")
    for group in real[: args.examples * 2]:
        for match in group.matches:
            print(f"  {base[match.a - 1].title!r} ({base[match.a - 1].year})\n"
                  f"  {base[match.b - 1].title!r} ({base[match.b - 1].year})\n"
                  f"      -> {match.reason}")

    if args.speed:
        speed(base, args.speed, rng)


if __name__ == "__main__":
    main()
