"""Property-based: every command fed malformed files, absurd numbers and unwritable
outputs fails with one clear line, no traceback, nothing half-written and nothing
outside its folder. Examples are few per property (the suite runs in CI in minutes);
hypothesis keeps failing examples in its database and shrinks them."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.fsfaults import full_folder, leave_free, mount_allowed, readonly_folder
from tests.fuzz.cli_harness import (
    COARSE,
    GRIB,
    REAL_FILES,
    STATIONS,
    TERRAIN,
    assert_failed_cleanly,
    assert_nothing_half_written,
    home,
    run_cli,
    tree,
)

FAST = settings(max_examples=12, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

# -- malformed files -----------------------------------------------------------------------


@st.composite
def malformed(draw: st.DrawFn) -> tuple[bytes, bool]:
    """Random bytes, text, nothing, or a real file cut short; and whether the command
    must fail (a text file cut at a line end can be a valid, shorter file)."""
    kind = draw(st.sampled_from(["bytes", "text", "cut", "cut-grib", "empty"]))
    if kind == "bytes":
        return draw(st.binary(min_size=1, max_size=4096)), True
    if kind == "text":
        return draw(st.text(max_size=400)).encode("utf-8", "surrogatepass"), True
    if kind == "empty":
        return b"", True
    source = GRIB if kind == "cut-grib" else draw(st.sampled_from(REAL_FILES))
    data = source.read_bytes()
    return data[:draw(st.integers(0, max(0, len(data) - 1)))], kind == "cut-grib"


# each: (input file name, argv built from the input and a work folder)
COMMANDS: dict[str, tuple[str, Callable[[Path, Path], list[str]]]] = {
    "qc": ("in.nc", lambda i, w: ["qc", str(i), "--out", str(w / "o.nc")]),
    "qc-config": ("qc.toml", lambda i, w: ["qc", str(STATIONS), "--config", str(i),
                                           "--out", str(w / "o.nc")]),
    "verify-forecast": ("fc.nc", lambda i, w: ["verify", str(i), "--obs", str(STATIONS),
                                               "--report", str(w / "r")]),
    "verify-obs": ("obs.nc", lambda i, w: ["verify", str(COARSE), "--obs", str(i),
                                           "--report", str(w / "r")]),
    "forecast-input": ("c.nc", lambda i, w: ["forecast", "--input", str(i), "--dem",
                                             str(TERRAIN), "--out", str(w / "f.nc"),
                                             "--quiet"]),
    "forecast-dem": ("dem.nc", lambda i, w: ["forecast", "--input", str(COARSE), "--dem",
                                             str(i), "--out", str(w / "f.nc"), "--quiet"]),
    "export-map": ("f.nc", lambda i, w: ["export-map", str(i), "--variable", "temperature",
                                         "--out", str(w / "m.png")]),
    "fetch-era5": ("e.grib", lambda i, w: ["fetch", "era5", "--from-file", str(i),
                                           "--out", str(w / "o.nc")]),
    "fetch-uscrn": ("s.txt", lambda i, w: ["fetch", "stations", str(i), "--format",
                                           "uscrn", "--out", str(w / "o.nc")]),
    "fetch-tmy3": ("s.csv", lambda i, w: ["fetch", "stations", str(i), "--format", "tmy3",
                                          "--out", str(w / "o.nc")]),
    "fetch-csv": ("s.csv", lambda i, w: ["fetch", "stations", str(i), "--format", "csv",
                                         "--columns", "time=Date,temperature=T", "--lat",
                                         "1", "--lon", "2", "--out", str(w / "o.nc")]),
    "models-install": ("m.json", lambda i, w: ["models", "install", str(i)]),
    "train-config": ("t.toml", lambda i, w: ["train", "--config", str(i), "--out",
                                             str(w / "run")]),
    "watch-run": ("w.toml", lambda i, w: ["watch", "run", "--config", str(i), "--polls",
                                          "1"]),
}


def _malformed_input(command: str, data: bytes, must_fail: bool) -> None:
    name, build = COMMANDS[command]
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        work = root / "work"
        work.mkdir()
        source = work / name
        source.write_bytes(data)
        before = tree(root)
        with home(root):
            argv = build(source, work)
            outcome = run_cli(argv)
        if outcome.code != 0 or must_fail:
            assert_failed_cleanly(outcome, argv)
        assert_nothing_half_written(root)
        after = tree(root)
        new = set(after) - set(before)
        if outcome.code == 0:  # a valid shorter file: only the one output appears
            new = {n for n in new if not n.startswith("work/o.") and not n.startswith(
                "work/r.") and not n.startswith("home/models/")}
        assert not new, f"{' '.join(argv)} wrote {sorted(new)}"
        assert after[str(source.relative_to(root))] == len(data)  # the input is untouched


@pytest.mark.parametrize("command", sorted(COMMANDS))
@FAST
@given(case=malformed())
def test_malformed_files(command: str, case: tuple[bytes, bool]) -> None:
    data, must_fail = case
    if command == "qc-config" and not data.strip(b" \t\r\n"):
        must_fail = False  # an empty QC config means the defaults
    _malformed_input(command, data, must_fail)


# -- absurd numbers ------------------------------------------------------------------------

def outside(low: float, high: float) -> st.SearchStrategy[str]:
    """Text for a number the option must refuse: not finite, past its range, or not a
    number at all."""
    return st.one_of(
        st.sampled_from(["nan", "NaN", "inf", "-inf", "1e400", "-1e400", "", " ", "0x10",
                         "1,5", "one"]),
        st.floats(min_value=high, exclude_min=True, allow_infinity=False).map(repr),
        st.floats(max_value=low, exclude_max=True, allow_infinity=False).map(repr),
        st.integers(min_value=int(high) + 1, max_value=10**40).map(str),
    )


NUMERIC: dict[str, tuple[float, float, Callable[[str, Path], list[str]]]] = {
    "--lat": (-90, 90, lambda v, w: ["fetch", "openmeteo", f"--lat={v}", "--lon", "1",
                                     "--variables", "temperature", "--offline", "--out",
                                     str(w / "o.nc")]),
    "--lon": (-180, 360, lambda v, w: ["fetch", "openmeteo", "--lat", "1", f"--lon={v}",
                                       "--variables", "temperature", "--offline", "--out",
                                       str(w / "o.nc")]),
    "--resolution": (1e-4, 10, lambda v, w: ["fetch", "openmeteo", "--bbox", "1,2,3,4",
                                             f"--resolution={v}", "--variables",
                                             "temperature", "--offline", "--out",
                                             str(w / "o.nc")]),
    "--utc-offset": (-24, 24, lambda v, w: ["fetch", "stations", str(STATIONS), "--format",
                                            "csv", f"--utc-offset={v}", "--out",
                                            str(w / "o.nc")]),
    "--width": (16, 20000, lambda v, w: ["export-map", str(COARSE), "--variable",
                                         "temperature", f"--width={v}", "--out",
                                         str(w / "m.png")]),
    "--dpi": (10, 1200, lambda v, w: ["export-map", str(COARSE), "--variable",
                                      "temperature", f"--dpi={v}", "--out",
                                      str(w / "m.png")]),
    "--threads": (1, 4096, lambda v, w: ["forecast", f"--threads={v}", "--out",
                                         str(w / "f.nc"), "--quiet"]),
    "--port": (1, 65535, lambda v, w: ["trainer", "serve", f"--port={v}", "--state-dir",
                                       str(w / "state")]),
    "--time": (0, 71, lambda v, w: ["export-map", str(COARSE), "--variable", "temperature",
                                    f"--time={v}", "--out", str(w / "m.png")]),
}


@pytest.mark.parametrize("option", sorted(NUMERIC))
@FAST
@given(data=st.data())
def test_absurd_numbers(option: str, data: st.DataObject) -> None:
    low, high, build = NUMERIC[option]
    value = data.draw(outside(low, high))
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        with home(work):
            argv = build(value, work)
            outcome = run_cli(argv)
        assert_failed_cleanly(outcome, argv)
        assert not [p for p in tree(work) if not p.startswith("home")], tree(work)


# -- unwritable outputs --------------------------------------------------------------------

WRITERS: dict[str, Callable[[Path], list[str]]] = {
    "qc": lambda o: ["qc", str(STATIONS), "--out", str(o)],
    "forecast": lambda o: ["forecast", "--out", str(o), "--quiet"],
    "export-map": lambda o: ["export-map", str(COARSE), "--variable", "temperature",
                             "--out", str(o)],
    "fetch": lambda o: ["fetch", "stations", str(REAL_FILES[3]), "--format", "uscrn",
                        "--out", str(o), "--force"],
    # verify writes STEM.csv and STEM.json: the stem is the name, the CSV the file
    "verify": lambda o: ["verify", str(COARSE), "--obs", str(STATIONS), "--report",
                         str(o.with_suffix(""))],
}
UNWRITABLE = ("directory", "under-a-file", "nul-byte", "read-only")


@pytest.mark.parametrize("kind", UNWRITABLE)
@pytest.mark.parametrize("command", sorted(WRITERS))
@settings(max_examples=2, deadline=None, derandomize=True)
@given(name=st.text(st.characters(categories=["L", "N"]), min_size=1, max_size=12))
def test_unwritable_outputs(command: str, kind: str, name: str) -> None:
    with tempfile.TemporaryDirectory() as tmp, contextlib.ExitStack() as stack:
        work = Path(tmp)
        target = work / f"{name}.csv"
        if kind == "directory":
            target.mkdir()
            (target / "keep").write_text("mine")
        elif kind == "under-a-file":
            (work / "file").write_text("mine")
            target = work / "file" / f"{name}.csv"
        elif kind == "nul-byte":
            target = work / f"{name}\x00.csv"
        else:
            if os.geteuid() == 0 and not mount_allowed():
                pytest.skip("a read-only folder for root needs a tmpfs mount")
            target = stack.enter_context(readonly_folder(work)) / f"{name}.csv"
        before = tree(work)
        with home(work):
            argv = WRITERS[command](target)
            outcome = run_cli(argv)
        assert_failed_cleanly(outcome, argv)
        assert_nothing_half_written(work)
        after = {k: v for k, v in tree(work).items() if not k.startswith("home")}
        assert after == {k: v for k, v in before.items() if not k.startswith("home")}


@pytest.mark.parametrize("command", sorted(WRITERS))
def test_a_full_disk(command: str, tmp_path: Path) -> None:
    with full_folder(tmp_path) as folder:
        leave_free(folder, 0)
        # export-map picks its format from the extension and refuses any other
        target = folder / ("out.png" if command == "export-map" else "out.csv")
        with home(tmp_path):
            argv = WRITERS[command](target)
            outcome = run_cli(argv)
        assert_failed_cleanly(outcome, argv)
        assert "no space left on device writing" in outcome.error_lines[0]
        assert not [p for p in folder.iterdir() if not p.name.startswith(".filler")]
