"""The ``microclimate`` command: GUI by default, subcommands for the headless work.

Each subcommand lives in its own module with ``register(subparsers)``. A failure the
user can act on is a :class:`MicroclimateError`: printed as one line, non-zero exit.
"""

from __future__ import annotations

import argparse
import gc
import importlib
import sys
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

from desktop_app import __version__
from desktop_app.errors import MicroclimateError
from desktop_app.fsutil import check_writable

# commands whose --out is one file (batch and train write folders they resume into)
FILE_OUT_COMMANDS = ("fetch", "qc", "forecast", "export-map")

# command name -> module in this package with ``register(subparsers)``; a module is
# imported only when its command runs or the full help is asked for: importing all of
# them (Dask, httpx, Numba, onnxruntime helpers...) cost the window seconds at start-up
COMMANDS = {
    "gui": "gui_cmd", "fetch": "fetch_cmd", "region": "region_cmd", "qc": "qc_cmd",
    "forecast": "forecast_cmd", "verify": "verify_cmd", "models": "models_cmd",
    "export-map": "export_cmd",
    "train": "train_cmd", "trainer": "trainer_cmd", "watch": "watch_cmd",
    "batch": "batch_cmd", "completion": "completion_cmd",
}


def command_module(name: str) -> ModuleType:
    return importlib.import_module(f"desktop_app.cli.{COMMANDS[name]}")


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The parser with every command, or with just ``only`` (what a run of that command
    needs; the full list is for help and for unknown commands)."""
    parser = argparse.ArgumentParser(
        prog="microclimate",
        description="Microclimate Desk: data, QC, local downscaling and maps for forecasters.",
    )
    parser.add_argument("--version", action="version", version=f"microclimate {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in [only] if only is not None else COMMANDS:
        command_module(name).register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    if not args_list or args_list[0].startswith("-") and args_list[0] not in (
        "-h", "--help", "--version"
    ):
        args_list = ["gui", *args_list]
    only = args_list[0] if args_list and args_list[0] in COMMANDS else None
    parser = build_parser(only)
    args = parser.parse_args(args_list)
    for name, value in vars(args).items():
        # no file name can hold NUL, and every OS call on one raises ValueError
        values = value if isinstance(value, list | tuple) else [value]
        if any(isinstance(v, str | Path) and "\x00" in str(v) for v in values):
            parser.error(f"argument {name.replace('_', '-')}: contains a NUL byte")
    if args.command != "gui":
        gc.enable()  # (off since the launch, desktop_app.launch; the window's comes back
        #              after its first frame)
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
