"""Helpers shared by the headless subcommands."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import Any, TextIO

import xarray as xr

from desktop_app.errors import (
    ConfigError,
    DataFileError,
    MicroclimateError,
    WriteError,
    extra_needed,
    install_hint,
)
from desktop_app.fsutil import load_netcdf


def open_netcdf(path: Path, what: str) -> xr.Dataset:
    """Open and load a NetCDF file; any failure is one :class:`DataFileError` line."""
    path = Path(path)
    if path.suffix.lower() in (".tif", ".tiff"):
        raise DataFileError(f"{what} {path}: GeoTIFF is not read yet; convert it to a "
                            "NetCDF with 'elevation' on latitude/longitude")
    return load_netcdf(path, what)


TRAIN_EXTRA_PACKAGES = ("torch", "fastapi", "uvicorn", "onnxscript", "psutil")


@contextmanager
def training_extra() -> Iterator[None]:
    """Wrap the imports of ``desktop_app.training`` (made where a command runs, never at
    module level: the trainer needs torch, an optional extra). Without the ``[train]``
    extra, or in the desktop installer that leaves the trainer out, they become one clear
    error naming it."""
    try:
        with extra_needed("train", TRAIN_EXTRA_PACKAGES, "training"):
            yield
    except ModuleNotFoundError as exc:
        if getattr(sys, "frozen", False) and (exc.name or "").startswith("desktop_app.training"):
            raise MicroclimateError(
                f"the trainer is not part of the desktop installer: {install_hint('train')}"
            ) from exc
        raise


EXIT_INTERRUPTED = 130  # 128 + SIGINT, what a shell reports for a Ctrl-C'd command


class Interrupt:
    """A SIGINT handler that long commands poll as their cancel token: the first Ctrl-C
    asks the work to stop at its next safe point (and says so); a second one raises
    KeyboardInterrupt at once."""

    def __init__(self, message: str) -> None:
        self.event = threading.Event()
        self.message = message

    def is_set(self) -> bool:
        return self.event.is_set()

    def __call__(self, signum: int, frame: FrameType | None) -> None:
        self.event.set()
        signal.signal(signal.SIGINT, signal.default_int_handler)  # 2nd Ctrl-C: abort now
        if os.environ.get("RANK", "0") == "0":
            print(f"\n{self.message}", file=sys.stderr, flush=True)


@contextmanager
def interruptible(message: str) -> Iterator[Interrupt]:
    handler = Interrupt(message)
    if threading.current_thread() is not threading.main_thread():
        yield handler  # signals reach the main thread only; nothing to install here
        return
    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield handler
    finally:
        signal.signal(signal.SIGINT, previous)


def add_output_options(parser: argparse.ArgumentParser, what: str = "--out") -> None:
    """``--force`` (also ``--overwrite``) and ``--json`` for a command that writes a file:
    the one convention of the CLI (results on stdout, progress and errors on stderr)."""
    parser.add_argument("--force", "--overwrite", dest="force", action="store_true",
                        help=f"replace an existing {what} (default: refuse)")
    parser.add_argument("--json", action="store_true",
                        help="print the result as one JSON object on stdout")


def check_new_output(path: Path, force: bool) -> None:
    """Nothing a user made is replaced without being asked: an existing ``--out`` is an
    error unless ``--force``; a directory there is never replaced."""
    path = Path(path)
    if path.is_dir():
        raise WriteError(f"cannot write {path}: it is an existing directory")
    if path.exists() and not force:
        raise ConfigError(f"{path} exists; give --force to replace it")


def print_result(args: argparse.Namespace, text: str, result: dict[str, Any],
                 stream: TextIO | None = None) -> None:
    """The result on stdout: ``text`` for a person, or ``result`` as one JSON object with
    --json (``default=str`` so paths and times need no converting at each call)."""
    print(json.dumps(result, default=str) if getattr(args, "json", False) else text,
          file=stream or sys.stdout)


def arg_date(text: str) -> dt.date:
    """An argparse ``type`` for a day, YYYY-MM-DD."""
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


def percent_progress(quiet: bool) -> Callable[[float, str], None]:
    """A progress callback that prints every 10 % (and the end) on stderr, unless
    ``quiet``."""
    last = [-1]

    def progress(fraction: float, message: str) -> None:
        percent = int(fraction * 100)
        if not quiet and (percent >= last[0] + 10 or fraction >= 1.0):
            last[0] = percent
            print(f"  {percent:3d}% {message}", file=sys.stderr)
    return progress
