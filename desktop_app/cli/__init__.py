"""The ``microclimate`` command: GUI by default, subcommands for the headless work.

Each subcommand lives in its own module with ``register(subparsers)``. A failure the
user can act on is a :class:`MicroclimateError`: printed as one line, non-zero exit.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from desktop_app import __version__
from desktop_app.cli import (
    batch_cmd,
    completion_cmd,
    export_cmd,
    fetch_cmd,
    forecast_cmd,
    gui_cmd,
    models_cmd,
    qc_cmd,
    region_cmd,
    train_cmd,
    trainer_cmd,
    verify_cmd,
    watch_cmd,
)
from desktop_app.errors import MicroclimateError
from desktop_app.fsutil import check_writable

COMMAND_MODULES = (
    gui_cmd, fetch_cmd, region_cmd, qc_cmd, forecast_cmd, verify_cmd, models_cmd, export_cmd,
    train_cmd,
    trainer_cmd, watch_cmd,
    batch_cmd, completion_cmd,
)


# commands whose --out is one file (batch and train write folders they resume into)
FILE_OUT_COMMANDS = ("fetch", "qc", "forecast", "export-map")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="microclimate",
        description="Microclimate Desk: data, QC, local downscaling and maps for forecasters.",
    )
    parser.add_argument("--version", action="version", version=f"microclimate {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in COMMAND_MODULES:
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    if not args_list or args_list[0].startswith("-") and args_list[0] not in (
        "-h", "--help", "--version"
    ):
        args_list = ["gui", *args_list]
    args = parser.parse_args(args_list)
    for name, value in vars(args).items():
        # no file name can hold NUL, and every OS call on one raises ValueError
        values = value if isinstance(value, list | tuple) else [value]
        if any(isinstance(v, str | Path) and "\x00" in str(v) for v in values):
            parser.error(f"argument {name.replace('_', '-')}: contains a NUL byte")
    try:
        if args.command in FILE_OUT_COMMANDS and getattr(args, "out", None) is not None:
            check_writable(args.out)  # before the work, not after it
        result: int = args.func(args)
        return result
    except MicroclimateError as exc:
        print(f"microclimate {args.command}: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print(f"microclimate {args.command}: cancelled", file=sys.stderr)
        return 130
