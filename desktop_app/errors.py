"""The one error hierarchy of the application.

Every failure a user can cause or meet (bad file, bad config, provider error, missing
model) is raised as a subclass of :class:`MicroclimateError` with a message that names
the thing at fault. The CLI prints ``str(error)`` on one line and exits non-zero; the GUI
shows it in a message box and keeps running.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Collection, Iterator, Mapping
from contextlib import contextmanager
from types import ModuleType
from typing import TypeVar

T = TypeVar("T")


class MicroclimateError(Exception):
    """Base of all errors meant to be shown to a user."""

    exit_code = 1


class ConfigError(MicroclimateError):
    """A settings or config file has an unknown key, a wrong type or a bad value."""


class UnknownVariableError(MicroclimateError, KeyError):
    """A variable name that is not in the registry."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else "unknown variable"


class SchemaError(MicroclimateError):
    """A dataset does not follow the canonical station or grid schema."""


class DataFileError(MicroclimateError):
    """A data file is missing, corrupt, truncated or of the wrong layout."""


class GribSupportMissingError(DataFileError):
    """A GRIB file was given, but GRIB reading (cfgrib and ecCodes) is not installed: the
    desktop installer ships it as a separate add-on (``desktop_app.sources.grib_support``)."""


class DataSourceError(MicroclimateError):
    """A provider request failed (HTTP status, timeout, bad body)."""

    def __init__(
        self, message: str, *, url: str | None = None, status: int | None = None
    ) -> None:
        super().__init__(message)
        self.url = url
        self.status = status


class OfflineError(DataSourceError):
    """Offline mode is on and the request is not in the cache."""


class WriteError(MicroclimateError):
    """An output could not be written: no space, a read-only folder, a directory in the
    way. The message names the file and the cause, never the library's ("HDF error")."""


class CacheError(MicroclimateError):
    """The on-disk cache could not be read or written."""


class ModelError(MicroclimateError):
    """An ONNX model or its model card is missing, corrupt or inconsistent."""


class GateError(ModelError):
    """A fine-tuned model did worse than its base where it was not trained: not installed."""


class CancelledError(MicroclimateError):
    """The user cancelled a long-running operation."""


class TrainingError(MicroclimateError):
    """Training cannot go on: empty dataset, NaN loss, a checkpoint that cannot be saved."""


class TrainerServiceError(MicroclimateError):
    """The trainer job service refused a request or could not be reached."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


def install_hint(extra: str) -> str:
    """How to get an optional extra: the pip command, or -- in the desktop installer,
    which bundles none of the extras -- that it needs the Python package."""
    command = f"pip install 'microclimate-desk[{extra}]'"
    if getattr(sys, "frozen", False):
        return (f"the desktop installer does not include the [{extra}] extra; use the Python "
                f"package: {command}")
    return f"install the [{extra}] extra: {command}"


@contextmanager
def extra_needed(extra: str, packages: Collection[str], what: str) -> Iterator[None]:
    """Imports inside the block that fail for want of one of ``packages`` become one
    :class:`MicroclimateError` naming the package and the extra. A missing module that is
    not one of them (a broken install) is not hidden behind the hint."""
    try:
        yield
    except ModuleNotFoundError as exc:
        missing = (exc.name or "").split(".")[0]
        if missing not in packages:
            raise
        raise MicroclimateError(f"{what} needs {missing}, which is not installed; "
                                f"{install_hint(extra)}") from exc


def require_extra(module: str, extra: str, what: str,
                  packages: Collection[str] | None = None) -> ModuleType:
    """``module`` (from the optional ``extra``, whose top-level ``packages`` it may pull
    in; default: its own), imported now, or the error naming what is missing."""
    with extra_needed(extra, packages or {module.split(".")[0]}, what):
        imported = importlib.import_module(module)
    return imported


def lookup(table: Mapping[str, T], name: str, what: str,
           error: type[MicroclimateError] = ConfigError) -> T:
    """``table[name]``, or one ``error`` naming the unknown ``what`` and the known names
    (every registry looked up by a name a user typed answers the same way)."""
    try:
        return table[name]
    except KeyError:
        raise error(f"unknown {what} {name!r}; known: {', '.join(table)}") from None
