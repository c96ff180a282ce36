"""The ``exoref`` command: a thin layer over the services.

Every command takes ``--json`` for scripts.  Exit status: 0 success, 1 when something failed
(some files not imported, problems found, an error the user can fix), 2 on a usage error.
Commands live in the modules of this package, by subject; each has a ``register(command)``.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from typing import TYPE_CHECKING, Any, TextIO

from exoref import __version__
from exoref.cli import library, online, safety, tagging
from exoref.cli.common import EXIT_FAILED, EXIT_OK, EXIT_USAGE, CommandFn
from exoref.errors import ExorefError, UsageError
from exoref.paths import ENV_LIBRARY

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = ["build_parser", "main"]

#: The modules whose commands ``exoref`` offers, in the order ``--help`` lists them.
COMMAND_MODULES = (library, tagging, online, safety)


# -- parser ------------------------------------------------------------------------------------


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:  # argparse's own usage errors exit with status 2
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    common = _Parser(add_help=False)
    common.add_argument(
        "--library", metavar="DIR", default=argparse.SUPPRESS,
        help=f"library folder (default: ${ENV_LIBRARY} or the user data folder)",
    )
    common.add_argument("--json", action="store_true", default=argparse.SUPPRESS,
                        help="machine-readable output")

    parser = _Parser(prog="exoref", description=__doc__.splitlines()[0], parents=[common])
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log what happens")
    sub = parser.add_subparsers(dest="command", parser_class=_Parser)

    def command(name: str, func: CommandFn, help: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, parents=[common], help=help, description=help)
        p.set_defaults(func=func)
        return p

    for module in COMMAND_MODULES:
        module.register(command)
    return parser


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    parser = build_parser()
    args = parser.parse_args(argv)
    args.library = getattr(args, "library", None)
    args.json = getattr(args, "json", False)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(name)s: %(message)s",
    )
    func = getattr(args, "func", library.cmd_overview)
    try:
        return int(func(args, out))
    except UsageError as exc:
        parser.print_usage(sys.stderr)
        sys.stderr.write(f"exoref: error: {exc}\n")
        return EXIT_USAGE
    except ExorefError as exc:
        sys.stderr.write(f"exoref: error: {exc}\n")
        return EXIT_FAILED
    except KeyboardInterrupt:
        sys.stderr.write("exoref: interrupted\n")
        return 130
    except BrokenPipeError:
        # `exoref list | head`: the reader went away; that is not an error.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK


if __name__ == "__main__":
    raise SystemExit(main())
