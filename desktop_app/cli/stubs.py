"""Subcommands that later work fills in. Each says so and exits 2; none pretends."""

from __future__ import annotations

import argparse

from desktop_app.errors import NotAvailableError

PLANNED: dict[str, str] = {
    "qc": "quality-control station observations (QARTOD flags)",
}


def _not_available(args: argparse.Namespace) -> int:
    raise NotAvailableError(f"'{args.command}' is not available yet in this version")


def register(sub: argparse._SubParsersAction) -> None:
    for name, help_text in PLANNED.items():
        parser = sub.add_parser(name, help=f"{help_text} (not available yet)")
        parser.add_argument("rest", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
        parser.set_defaults(func=_not_available)
