"""Run ``microclimate`` in-process for the property suite and check the promise of the
README: a failure is a non-zero exit with one error line naming the problem, no
traceback, nothing half-written, nothing written outside the intended folder."""

from __future__ import annotations

import contextlib
import io
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from desktop_app import paths
from desktop_app.cli import main

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = paths.sample_region_path().parent
STATIONS, COARSE, TERRAIN = (SAMPLE / n for n in ("stations.nc", "coarse.nc", "terrain.nc"))
REAL_FILES = (STATIONS, COARSE, TERRAIN,
              ROOT / "tests" / "data" / "sources" / "stations" / "CRN_with_problems.txt",
              ROOT / "tests" / "data" / "inference" / "lapse-rate-baseline-1.0.0.json")
GRIB = ROOT / "tests" / "data" / "sources" / "era5" / "era5-2mt-2019-03-uk.grib"


@dataclass
class Outcome:
    code: int
    out: str
    err: str

    @property
    def error_lines(self) -> list[str]:
        return [ln for ln in self.err.splitlines() if "error:" in ln]


def run_cli(argv: list[str]) -> Outcome:
    """``main(argv)`` with stdout and stderr captured; an exception other than argparse's
    SystemExit escapes (that is the traceback the suite looks for)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(argv)
        except SystemExit as stop:
            code = stop.code if isinstance(stop.code, int) else 1
    return Outcome(int(code or 0), out.getvalue(), err.getvalue())


def tree(folder: Path) -> dict[str, int]:
    """Every file under ``folder`` (relative path -> size), to compare before and after."""
    return {str(p.relative_to(folder)): p.stat().st_size
            for p in folder.rglob("*") if p.is_file() or p.is_symlink()}


def assert_failed_cleanly(outcome: Outcome, argv: list[str]) -> None:
    where = " ".join(argv)
    assert outcome.code != 0, f"exit 0 for {where}"
    assert "Traceback" not in outcome.err, f"traceback for {where}:\n{outcome.err}"
    lines = outcome.error_lines
    assert len(lines) == 1, f"{len(lines)} error lines for {where}:\n{outcome.err}"
    assert lines[0].startswith("microclimate"), lines[0]
    assert len(lines[0]) > len("microclimate x: error: ") + 5, lines[0]


def assert_nothing_half_written(folder: Path) -> None:
    parts = [p for p in folder.rglob("*.part")] + [p for p in folder.rglob("*.idx")]
    assert not parts, f"left behind: {parts}"


@contextlib.contextmanager
def home(folder: Path) -> Iterator[None]:
    """The user folders (models, cache, settings) inside ``folder`` for one example."""
    old = os.environ.get(paths.HOME_ENV)
    os.environ[paths.HOME_ENV] = str(folder / "home")
    try:
        yield
    finally:
        if old is None:
            os.environ.pop(paths.HOME_ENV, None)
        else:
            os.environ[paths.HOME_ENV] = old
