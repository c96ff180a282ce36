"""Tags and the vocabulary: ``exoref tag add|remove|list|suggest|auto|confirm|reject`` and
``exoref vocab list|add|synonym|threshold``."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, TextIO

from exoref.cli.common import EXIT_OK, Progress, Register, open_library, print_json
from exoref.domain.models import Tag, TagKind
from exoref.errors import NotFoundError, UsageError

if TYPE_CHECKING:
    import argparse

    from exoref.services.library import Library
    from exoref.services.tagging import PaperSuggestions


def _paper_id(library: Library, ident: str) -> int:
    from exoref.services.papers import PaperService

    ref = PaperService(library).get(ident)
    if ref.id is None:
        raise NotFoundError(f"No paper with id or citation key {ident!r}.")
    return ref.id


def _tag_id(library: Library, paper_id: int, name: str) -> int:
    """A tag named by concept id or label (of the paper's suggestions or tags)."""
    from exoref.services.tagging import TaggingService

    service = TaggingService(library)
    tags = service.sync_vocabulary()
    if name in tags:
        return tags[name]
    key = name.strip().casefold()
    for s in service.suggest(paper_id).suggestions:
        if s.label.casefold() == key and s.tag_id is not None:
            return s.tag_id
    for concept in service.vocabulary().concepts.values():
        if concept.label.casefold() == key:
            return tags[concept.id]
    raise UsageError(f"{name!r} is not a concept of the vocabulary.",
                     hint="`exoref vocab list` shows the concept ids and labels")


def _print_suggestions(found: PaperSuggestions, out: TextIO) -> None:
    out.write(f"paper {found.paper_id}: threshold {found.threshold:.2f}; ")
    out.write("on topic\n" if found.on_topic else f"OFF TOPIC: {found.focus_reason}\n")
    if not found.suggestions:
        out.write("  (no suggestions)\n")
    for s in found.suggestions:
        out.write(f"  {s.score:4.2f}  {s.state:<8} {s.group:<11} {s.label}  [{s.concept}]\n")
        for e in s.evidence[:3]:
            out.write(f"          {e.field}: \u201c{e.context}\u201d\n")


def cmd_tag(args: argparse.Namespace, out: TextIO) -> int:
    from exoref.services.papers import PaperService, TagCount
    from exoref.services.tagging import TaggingService

    with open_library(args) as library:
        service = PaperService(library)
        if args.action == "list":
            counts: list[TagCount] = service.tags()
            if args.json:
                print_json([c.to_json() for c in counts], out)
            else:
                for c in counts:
                    out.write(f"{c.count:>6}  {c.kind.value:<11} {c.name}\n")
            return EXIT_OK
        tagging = TaggingService(library)
        if args.action == "auto":
            if args.ident and args.all:
                raise UsageError("exoref tag auto takes papers or --all, not both.")
            ids = None if args.all or not args.ident else [
                _paper_id(library, i) for i in [args.ident, *args.tags]]
            if ids is None and not args.all:
                raise UsageError("exoref tag auto needs papers (ID...) or --all.")
            progress = Progress(sys.stderr) if not args.json else None
            report = tagging.apply(
                ids, processes=args.jobs,
                progress=(lambda d, t: progress(d, t, "tagging")) if progress else None,
            )
            if args.json:
                print_json(report.to_json(), out)
            else:
                rate = report.papers / report.seconds if report.seconds else 0.0
                out.write(
                    f"{report.papers} papers tagged in {report.seconds:.1f} s ({rate:.0f}/s): "
                    f"{report.applied} tags applied, {report.pending} suggestions waiting, "
                    f"{report.removed} automatic tags withdrawn, {report.off_topic} off topic\n")
            return EXIT_OK
        if not args.ident:
            raise UsageError(f"exoref tag {args.action} needs a paper.")
        paper_id = _paper_id(library, args.ident)
        if args.action == "suggest":
            found = tagging.suggest(paper_id)
            if args.json:
                print_json({
                    "paper": found.paper_id, "on_topic": found.on_topic,
                    "focus_reason": found.focus_reason, "threshold": found.threshold,
                    "suggestions": [
                        {"concept": s.concept, "group": s.group, "label": s.label,
                         "score": round(s.score, 3), "state": s.state,
                         "evidence": [{"field": e.field, "phrase": e.phrase,
                                       "context": e.context} for e in s.evidence]}
                        for s in found.suggestions],
                }, out)
            else:
                _print_suggestions(found, out)
            return EXIT_OK
        if not args.tags:
            raise UsageError(f"exoref tag {args.action} needs a paper and at least one tag.")
        if args.action in ("confirm", "reject"):
            for name in args.tags:
                tag_id = _tag_id(library, paper_id, name)
                if args.action == "confirm":
                    tagging.confirm(paper_id, tag_id)
                else:
                    tagging.reject(paper_id, tag_id)
            ref = service.get(paper_id)
        elif args.action == "add":
            kind = TagKind(args.kind)
            ref = service.update_tags(args.ident, add=[Tag(t, kind) for t in args.tags])
        else:
            ref = service.update_tags(args.ident, remove=args.tags)
    if args.json:
        print_json(ref.to_json(), out)
    else:
        out.write(f"{ref.citekey}: {', '.join(t.name for t in ref.tags) or '(no tags)'}\n")
    return EXIT_OK


def cmd_vocab(args: argparse.Namespace, out: TextIO) -> int:
    from exoref.services.tagging import TaggingService, in_order

    with open_library(args) as library:
        service = TaggingService(library)
        if args.action == "list":
            vocab = service.vocabulary()
            concepts = [c for c in in_order(vocab) if not args.group or c.group == args.group]
            if args.json:
                print_json({"version": vocab.version, "concepts": [
                    {"id": c.id, "group": c.group, "label": c.label, "parent": c.parent,
                     "synonyms": list(c.synonyms), "abbreviations": list(c.abbreviations),
                     "mesh": list(c.mesh), "user": c.origin == "user"}
                    for c in concepts]}, out)
            else:
                out.write(f"vocabulary version {vocab.version}, {len(concepts)} concepts\n")
                for c in concepts:
                    depth = len(vocab.ancestors(c.id))
                    extra = ", ".join([*c.abbreviations[:4], *c.synonyms[:3]])
                    mark = " (yours)" if c.origin == "user" else ""
                    out.write(f"{'  ' * depth}{c.label}{mark}  [{c.id}]"
                              + (f"  {extra}" if extra else "") + "\n")
            return EXIT_OK
        if args.action == "threshold":
            if args.values:
                service.set_threshold(float(args.values[0]))
            out.write(f"{service.threshold:.2f}\n")
            return EXIT_OK
        if not args.values:
            raise UsageError(f"exoref vocab {args.action} needs a label or concept id.")
        if args.action == "add":
            concept = service.add_user_concept(
                args.values[0], group=args.group or "indication", parent=args.parent,
                synonyms=args.values[1:], abbreviations=args.abbreviation or [])
            out.write(f"added {concept}\n")
        else:  # synonym
            concept, *synonyms = args.values
            service.add_synonyms(concept, synonyms, args.abbreviation or [])
            out.write(f"{concept}: synonyms added\n")
    return EXIT_OK


def register(command: Register) -> None:
    p = command("tag", cmd_tag, "tags: add, remove, list; suggest, auto-tag, confirm or "
                                "reject suggestions")
    p.add_argument("action", choices=["add", "remove", "list", "suggest", "auto", "confirm",
                                      "reject"])
    p.add_argument("ident", nargs="?", metavar="ID|CITEKEY")
    p.add_argument("tags", nargs="*", metavar="TAG",
                   help="tag names; for confirm/reject a concept id or label "
                        "(for auto: more papers)")
    p.add_argument("--kind", default="free", choices=[k.value for k in TagKind])
    p.add_argument("--all", action="store_true", help="auto: every paper in the library")
    p.add_argument("--jobs", type=int, default=None, help="auto: worker processes")

    p = command("vocab", cmd_vocab, "the tagging vocabulary: list it, add your own "
                                    "indications and synonyms, set the threshold")
    p.add_argument("action", choices=["list", "add", "synonym", "threshold"])
    p.add_argument("values", nargs="*", metavar="VALUE",
                   help="add: LABEL [SYNONYM...]; synonym: CONCEPT SYNONYM...; "
                        "threshold: [0-1]")
    p.add_argument("--group", choices=["indication", "msc_source", "study_type"])
    p.add_argument("--parent", metavar="CONCEPT", help="add: the concept it belongs under")
    p.add_argument("--abbreviation", action="append", metavar="ABBR",
                   help="add/synonym: an abbreviation (repeatable)")
