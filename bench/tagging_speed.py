"""Tagging speed: papers per second for the auto-tagger, against a baseline in the same run.

Generates papers (a title, a 250-word abstract, keywords and, for the full-text runs, a body
of about 40,000 characters: introduction, methods, results and discussion about MSC-derived
vesicles, wrapped into PDF-like lines with hyphenated line breaks, in-text citations and a
reference list), then measures:

* (a) title + abstract + keywords only, and (b) with the bodies;
* one process (``Tagger.suggest``) and ``Tagger.suggest_many`` on every core;
* a baseline over the same texts: ``str.lower()`` + ``re.findall(r"\\w+")``, the least any
  tagger that looks at every word must do, and the ratio of the tagger's time to it.

Target (issue): the stored text of 100,000 papers at >= 500 papers/s on this 2-core machine.
Figures only, no pass/fail.

Usage: .venv/bin/python bench/tagging_speed.py [--papers 2000] [--processes 2] [--seed 1]
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import random
import re
import sys
import textwrap
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "app"))

from exoref.tagging import Tagger, TaggingInput, default_vocabulary_path, load_vocabulary  # noqa: E402

SOURCES = ("human umbilical cord mesenchymal stem cells (hUC-MSCs)",
           "bone marrow-derived mesenchymal stromal cells (BMSCs)",
           "adipose-derived stem cells (ADSCs)", "Wharton's jelly MSCs (WJ-MSCs)",
           "dental pulp stem cells (DPSCs)", "human placenta-derived MSCs",
           "induced pluripotent stem cell-derived MSCs (iMSCs)", "menstrual blood stem cells")
VESICLES = ("exosomes", "small extracellular vesicles (sEVs)", "extracellular vesicles (EVs)",
            "the secretome", "exosomes (Exos)", "microvesicles")
DISEASES = ("knee osteoarthritis (KOA)", "osteoarthritis (OA)", "rheumatoid arthritis (RA)",
            "acute kidney injury (AKI)", "myocardial infarction (MI)", "liver fibrosis",
            "spinal cord injury (SCI)", "graft-versus-host disease (GVHD)",
            "acute respiratory distress syndrome (ARDS)", "diabetic wound healing",
            "premature ovarian insufficiency (POI)", "intervertebral disc degeneration",
            "ischaemic stroke", "periodontitis", "bronchopulmonary dysplasia (BPD)",
            "Alzheimer's disease (AD)", "ulcerative colitis", "sepsis")
MODELS = ("C57BL/6 mice", "Sprague-Dawley rats", "New Zealand white rabbits", "BALB/c mice",
          "nude mice", "Wistar rats")
CELLS = ("chondrocytes", "HK-2 cells", "HUVECs", "RAW264.7 macrophages", "H9c2 cardiomyocytes",
         "PC12 cells", "nucleus pulposus cells", "HaCaT keratinocytes")
GENES = ("miR-21-5p", "miR-146a", "TGF-β1", "IL-1β", "TNF-α", "NF-κB", "PI3K/Akt", "Nrf2",
         "MMP-13", "COL2A1", "SOX9", "Bcl-2", "caspase-3", "IL-10", "CD63", "TSG101")
VERBS = ("attenuated", "ameliorated", "alleviated", "reduced", "promoted", "restored",
         "suppressed", "enhanced", "inhibited", "improved")
OUTCOMES = ("inflammation", "apoptosis", "fibrosis", "cartilage degradation",
            "oxidative stress", "angiogenesis", "macrophage polarization", "tissue repair",
            "functional recovery", "extracellular matrix synthesis")
METHODS = ("ultracentrifugation at 100,000 × g for 70 min",
           "nanoparticle tracking analysis", "transmission electron microscopy",
           "western blotting for CD9, CD63 and TSG101", "a CCK-8 assay", "flow cytometry",
           "quantitative real-time PCR", "immunohistochemistry", "an ELISA",
           "a Transwell migration assay", "micro-CT", "H&E and Safranin O staining")
FILLER = (
    "Data are presented as mean ± standard deviation of {n} independent experiments.",
    "Statistical analysis was performed with one-way ANOVA followed by Tukey's post hoc test.",
    "Cells were seeded at a density of {k} × 10^4 cells per well in 24-well plates.",
    "Total RNA was extracted with TRIzol reagent and reverse transcribed into cDNA.",
    "Protein concentration was determined with a BCA assay kit according to the manual.",
    "Sections of {n} μm were cut, deparaffinized and stained following standard protocols.",
    "Images were acquired with a confocal microscope and analysed with ImageJ software.",
    "The supernatant was filtered through a 0.22 μm filter to remove cell debris.",
    "Primary antibodies were incubated overnight at 4 °C and detected by chemiluminescence.",
    "A P value below 0.05 was considered statistically significant.",
    "The particle size distribution peaked at {k}0 nm, consistent with earlier reports.",
    "All animal procedures were approved by the institutional ethics committee.",
    "Gene expression was normalized to GAPDH using the 2^-ΔΔCt method.",
    "The mechanism underlying this effect remains incompletely understood.",
    "Several limitations of the present study should be acknowledged.",
    "Larger samples and longer follow-up will be required to confirm these observations.",
    "Body weight did not differ between groups during the {n}-week observation period.",
    "Fluorescence intensity was quantified in {n} randomly selected fields per section.",
    "The culture medium was replaced every two days until the cells reached confluence.",
    "Results were consistent across biological replicates and independent batches.",
)
SURNAMES = ("Zhang", "Wang", "Li", "Liu", "Chen", "Yang", "Huang", "Zhao", "Wu", "Zhou",
            "Lai", "Lim", "Bruno", "Camussi", "Phinney", "Pittenger", "Théry", "Witwer")
JOURNALS = ("Stem Cell Res Ther", "J Extracell Vesicles", "Theranostics", "Biomaterials",
            "Mol Ther", "Front Immunol", "Cell Death Dis", "J Nanobiotechnology")


def _filler(rng: random.Random) -> str:
    return rng.choice(FILLER).format(n=rng.randint(3, 12), k=rng.randint(1, 9))


class _Names:
    """A paper's recurring names: "long form (ABBR)" the first time, then ABBR or long form."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.seen: set[str] = set()

    def __call__(self, name: str) -> str:
        long_form, _, abbr = name.partition(" (")
        if not abbr:
            return name
        if name not in self.seen:
            self.seen.add(name)
            return name
        return abbr.rstrip(")") if self.rng.random() < 0.7 else long_form


def _sentence(rng: random.Random, source: str, vesicle: str, disease: str,
              names: _Names) -> str:
    gene, verb, outcome = rng.choice(GENES), rng.choice(VERBS), rng.choice(OUTCOMES)
    source, vesicle, disease = names(source), names(vesicle), names(disease)
    cite = rng.choice(("", f" [{rng.randint(1, 80)}]",
                       f" ({rng.choice(SURNAMES)} et al., {rng.randint(2008, 2024)})"))
    patterns = (
        f"{vesicle.capitalize()} derived from {source} {verb} {outcome} in {disease}{cite}.",
        f"The expression of {gene} was {verb} after treatment with {vesicle} "
        f"(p < 0.05, n = {rng.randint(4, 12)}).",
        f"{rng.choice(CELLS).capitalize()} were treated with {vesicle} "
        f"({rng.choice((10, 20, 50, 100))} μg/mL) for {rng.choice((24, 48, 72))} h.",
        f"{rng.choice(MODELS)} received an injection of {vesicle} through the tail vein "
        f"and {outcome} was assessed by {rng.choice(METHODS)}.",
        f"Vesicles were isolated by {rng.choice(METHODS)} and characterized by "
        f"{rng.choice(METHODS)}{cite}.",
        f"These findings suggest that {gene} mediates the effect of {vesicle} on {outcome}.",
        f"Previous studies showed that MSC therapy reduces {outcome} in "
        f"{rng.choice(DISEASES).split(' (')[0]}{cite}.",
        f"Compared with the PBS group, the {vesicle} group showed {verb} {outcome} "
        f"({rng.randint(20, 80)}% vs {rng.randint(5, 40)}%).",
    )
    return rng.choice(patterns)


def _reference(rng: random.Random, k: int) -> str:
    authors = ", ".join(f"{rng.choice(SURNAMES)} {rng.choice('ABCDHJKLMSWXYZ')}"
                        f"{rng.choice(('', 'R', 'Q'))}" for _ in range(rng.randint(2, 6)))
    title = (f"{rng.choice(VESICLES).capitalize()} from {rng.choice(SOURCES).split(' (')[0]} "
             f"in {rng.choice(DISEASES).split(' (')[0]}")
    return (f"{k}. {authors}. {title}. {rng.choice(JOURNALS)}. {rng.randint(2008, 2024)};"
            f"{rng.randint(1, 40)}:{rng.randint(1, 900)}-{rng.randint(901, 999)}.")


def _wrap(text: str, rng: random.Random) -> str:
    """PDF-like lines, some words broken with a hyphen at the line end."""
    lines = textwrap.wrap(text, rng.randint(70, 95))
    out = []
    for line in lines:
        words = line.split(" ")
        last = words[-1]
        if len(last) > 9 and last.isalpha() and rng.random() < 0.3:
            cut = rng.randint(3, len(last) - 3)
            words[-1] = last[:cut] + "-\n" + last[cut:]
            out.append(" ".join(words))
        else:
            out.append(line)
    return "\n".join(out)


def make_paper(rng: random.Random, body_chars: int) -> TaggingInput:
    source, vesicle, disease = rng.choice(SOURCES), rng.choice(VESICLES), rng.choice(DISEASES)
    short_source, short_disease = source.split(" (")[0], disease.split(" (")[0]
    title = (f"{vesicle.split(' (')[0].capitalize()} from {short_source} "
             f"{rng.choice(VERBS)[:-1]}s {short_disease} via {rng.choice(GENES)}")
    names = _Names(rng)
    abstract = " ".join(_sentence(rng, source, vesicle, disease, names) for _ in range(10))
    keywords = (vesicle.split(" (")[0], short_source, short_disease, rng.choice(GENES))
    if body_chars <= 0:
        return TaggingInput(title, abstract, keywords)
    sections = []
    size = 0
    body_names = _Names(rng)
    for heading in ("1. Introduction", "2. Materials and methods", "3. Results",
                    "4. Discussion"):
        paragraph = []
        while size < body_chars * (len(sections) + 1) / 4.6:
            # About one sentence in three names vesicles, cells or a disease, as in papers.
            sent = _sentence(rng, source, vesicle, disease, body_names) \
                if rng.random() < 0.35 else _filler(rng)
            paragraph.append(sent)
            size += len(sent) + 1
        sections.append(heading + "\n" + _wrap(" ".join(paragraph), rng))
    refs = "\n".join(_reference(rng, k) for k in range(1, rng.randint(35, 60)))
    body = f"{title}\n\nAbstract\n{_wrap(abstract, rng)}\n\n" + "\n\n".join(sections) + \
        "\n\nReferences\n" + refs
    return TaggingInput(title, abstract, keywords, body)


def baseline(papers: list[TaggingInput]) -> float:
    word = re.compile(r"\w+")
    start = time.perf_counter()
    for p in papers:
        for text in (p.title, p.abstract, " ".join(p.keywords), p.body):
            word.findall(text.lower())
    return time.perf_counter() - start


def _spin(n: int) -> int:
    total = 0
    for i in range(n):
        total += i * i
    return total


def parallel_headroom(processes: int) -> float:
    """Speed-up of a plain CPU loop on ``processes`` processes: what the machine gives now
    (other programs on a shared machine take cores away)."""
    work = [1_500_000] * (processes * 6)
    start = time.perf_counter()
    for n in work:
        _spin(n)
    alone = time.perf_counter() - start
    ctx = multiprocessing.get_context("forkserver")
    with ctx.Pool(processes) as pool:
        pool.map(_spin, [1] * processes)
        start = time.perf_counter()
        pool.map(_spin, work, chunksize=1)
        together = time.perf_counter() - start
    return alone / together


def pool_start(tagger: Tagger, processes: int) -> float:
    """Time to start ``suggest_many``'s workers (each builds its tagger) and tag one paper."""
    start = time.perf_counter()
    list(tagger.suggest_many([TaggingInput("x")] * processes, processes=processes))
    return time.perf_counter() - start


def run(tagger: Tagger, papers: list[TaggingInput], processes: int) -> float:
    start = time.perf_counter()
    if processes <= 1:
        for p in papers:
            tagger.suggest(p)
    else:
        for _ in tagger.suggest_many(papers, processes=processes, chunksize=32):
            pass
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--papers", type=int, default=2000)
    parser.add_argument("--processes", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--body-chars", type=int, default=40_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    start = time.perf_counter()
    vocabulary = load_vocabulary(default_vocabulary_path(REPO / "resources"))
    tagger = Tagger(vocabulary)
    print(f"vocabulary v{vocabulary.version}: {len(vocabulary)} concepts; tagger built in "
          f"{time.perf_counter() - start:.2f} s")
    rng = random.Random(args.seed)
    headroom = parallel_headroom(args.processes)
    start_up = pool_start(tagger, args.processes)
    print(f"this machine now: a plain CPU loop runs {headroom:.2f}x faster on "
          f"{args.processes} processes than on one; suggest_many start-up {start_up:.2f} s")
    for label, chars in (("(a) title+abstract+keywords", 0),
                         ("(b) with ~40k-character bodies", args.body_chars)):
        papers = [make_paper(rng, chars) for _ in range(args.papers)]
        mean_chars = sum(len(p.title) + len(p.abstract) + len(p.body) for p in papers) / \
            len(papers)
        base = baseline(papers)
        one = run(tagger, papers, 1)
        many = run(tagger, papers, args.processes)
        n = len(papers)
        print(f"{label}: {n} papers, {mean_chars:,.0f} characters each on average")
        print(f"  baseline lower()+findall(\\w+): {n / base:10,.0f} papers/s")
        print(f"  suggest, 1 process:            {n / one:10,.0f} papers/s "
              f"({one / n * 1000:.2f} ms/paper, {one / base:.1f}x baseline)")
        print(f"  suggest_many, {args.processes} processes:     {n / many:10,.0f} papers/s "
              f"(start-up included; {n / max(many - start_up, 1e-9):,.0f} papers/s without)")


if __name__ == "__main__":
    main()
