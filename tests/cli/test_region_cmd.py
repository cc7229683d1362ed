"""``microclimate region create`` end to end on real DEM and ERA5 subsets, and the
README walk-through: region create -> forecast --region -> export-map, no hand edits."""

from __future__ import annotations

from pathlib import Path

import pytest

from desktop_app import paths
from desktop_app.cli import main
from desktop_app.sources.region import load_region

DATA = Path(__file__).resolve().parents[1] / "data" / "region"
DAVOS = DATA / "davos_srtm30m_utm32n.tif"
SWISS = DATA / "switzerland_1000m_davos.asc"
SURF = DATA.parent / "sources" / "era5" / "davos" / "SURF_202001_2d.nc"
PLEV = DATA.parent / "sources" / "era5" / "davos" / "PLEV_202001_2d.nc"
BOX = "46.76,9.83,46.84,9.94"


def _run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(args)
    out, err = capsys.readouterr()
    return code, out, err


def test_create_then_refuse_to_overwrite(tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    args = ["region", "create", "davos", "--bbox", BOX, "--resolution", "250m",
            "--dem", str(DAVOS), "--quiet"]
    code, out, _ = _run(args, capsys)
    assert code == 0 and "wrote region 'davos'" in out
    folder = paths.regions_dir() / "davos"
    before = {p.name: p.stat().st_mtime_ns for p in folder.iterdir()}
    code, _, err = _run(args, capsys)
    assert code == 1
    assert err.strip().count("\n") == 0 and "region folder already exists" in err
    assert {p.name: p.stat().st_mtime_ns for p in folder.iterdir()} == before


@pytest.mark.parametrize(("extra", "message"), [
    (["--bbox", "46,170,47,-170"], "crosses the antimeridian"),
    (["--bbox", "47,9,46,10"], "empty or inverted"),
    (["--bbox", "89.9,9,90,10"], "reaches a pole"),
    (["--bbox", BOX, "--dem", str(SWISS)], "has no CRS"),
    (["--bbox", "46.70,9.83,46.84,9.94"], "does not cover the south part of the box"),
    (["--bbox", BOX, "--resolution", "5m"], "outside 30 m .. 5 km"),
])
def test_bad_input_is_one_line_and_writes_nothing(
        extra: list[str], message: str, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    args = ["region", "create", "r", "--resolution", "250m", "--dem", str(DAVOS),
            "--out", str(tmp_path / "r"), "--quiet", *extra]
    code, _, err = _run(args, capsys)
    assert code != 0 and message in err
    assert len(err.strip().splitlines()) == 1
    assert list(tmp_path.iterdir()) == []


def test_ascii_grid_with_its_crs_given(tmp_path: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "swiss"
    code, _, err = _run(["region", "create", "swiss", "--bbox", "46.7,9.7,46.9,10.0",
                         "--resolution", "250m", "--dem", str(SWISS), "--dem-crs",
                         "EPSG:21781", "--out", str(out), "--quiet"], capsys)
    assert code == 0, err
    terrain = load_region(out).terrain
    assert "EPSG:21781" in terrain.attrs["source"]
    assert "bilinear" in terrain.attrs["processing"]


def test_readme_walkthrough(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _run(["region", "create", "davos", "--bbox", BOX, "--resolution", "250m",
                         "--dem", str(DAVOS), "--era5", str(SURF), str(PLEV),
                         "--start", "2020-01-02", "--end", "2020-01-02", "--quiet"], capsys)
    assert code == 0, err
    forecast = tmp_path / "davos_forecast.nc"
    code, out, err = _run(["forecast", "--region", "davos", "--out", str(forecast),
                           "--quiet"], capsys)
    assert code == 0, err
    assert "24 steps, 36x34 cells" in out
    png = tmp_path / "davos_map.png"
    code, out, err = _run(["export-map", str(forecast), "--variable", "temperature",
                           "--time", "2020-01-02T12:00", "--out", str(png)], capsys)
    assert code == 0, err
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
