"""The CLI's one convention for what it writes (issue 19): a command a script would
parse prints one JSON object on stdout with --json, and an existing output is refused
unless --force, for every writer, as ``fetch`` does."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
import xarray as xr

from desktop_app import paths
from desktop_app.cli import main


def sample(name: str) -> Path:
    return paths.sample_region_path().parent / name


# each: argv writing to the given output, the file(s) it writes
WRITERS: dict[str, Callable[[Path], list[str]]] = {
    "qc": lambda o: ["qc", str(sample("stations.nc")), "--out", str(o / "qc.nc")],
    "forecast": lambda o: ["forecast", "--provider", "cpu", "--threads", "1", "--quiet",
                           "--out", str(o / "fc.nc")],
    "export-map": lambda o: ["export-map", str(sample("coarse.nc")), "--variable",
                             "temperature", "--time", "1", "--out", str(o / "t.tif")],
    "verify": lambda o: ["verify", str(sample("coarse.nc")), "--obs",
                         str(sample("stations.nc")), "--report", str(o / "scores")],
}
OUTPUTS = {"qc": ["qc.nc"], "forecast": ["fc.nc"], "export-map": ["t.tif"],
           "verify": ["scores.csv", "scores.json"]}


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.mark.parametrize("command", sorted(WRITERS))
def test_json_result_then_refusal_then_force(command: str, tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    argv = WRITERS[command](tmp_path)
    code, out, err = _run([*argv, "--json"], capsys)
    assert code == 0, err
    result = json.loads(out)  # the whole of stdout is one JSON object
    files = [tmp_path / name for name in OUTPUTS[command]]
    assert all(f.is_file() for f in files)
    if command == "verify":
        assert result["files"] == [str(f) for f in files] and result["rows"]
    else:
        assert result["out"] == str(files[0])
    if command == "qc":
        with xr.open_dataset(files[0]) as ds:
            flagged = int((ds["temperature_qc"] != 1).sum())
        counts = result["counts"]["temperature"]["aggregate"]
        assert sum(counts.values()) == ds.sizes["station"] * ds.sizes["time"]
        assert sum(v for k, v in counts.items() if k != "pass") == flagged
    if command == "forecast":
        with xr.open_dataset(files[0]) as ds:
            assert result["sizes"] == {str(k): int(v) for k, v in ds.sizes.items()}
            assert result["guard"] == ds.attrs["guard"]
    if command == "export-map":
        assert result["format"] == "geotiff" and len(result["times"]) == 1

    # a second run onto the same output refuses and leaves every file as it was
    before = {f: f.read_bytes() for f in files}
    code, out, err = _run(argv, capsys)
    assert code == 1 and out == ""
    assert len(err.strip().splitlines()) == 1 and "exists; give --force" in err
    assert {f: f.read_bytes() for f in files} == before

    # --force (or --overwrite) replaces it
    files[0].write_bytes(b"stale")
    code, out, err = _run([*argv, "--overwrite"], capsys)
    assert code == 0, err
    assert files[0].read_bytes() != b"stale" and "wrote" in out


def test_models_list_json_names_the_active_model(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _run(["models", "list"], capsys)
    assert code == 0, err
    text = out
    code, out, err = _run(["models", "list", "--json"], capsys)
    assert code == 0, err
    result = json.loads(out)
    specs = [m["spec"] for m in result["models"]]
    assert specs and all(spec in text for spec in specs)
    active = [m for m in result["models"] if "temperature" in m["active_for"]]
    assert len(active) == 1 and Path(active[0]["path"]).is_file()
    assert result["broken"] == []
