"""``microclimate fetch`` end to end: recorded Open-Meteo bodies served by a loopback
HTTP server, real ERA5 and station files; every bad input is one line, exit != 0, and
no file at --out or in the cache."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from desktop_app.cli import main
from desktop_app.core.schema import validate_grid_dataset, validate_station_dataset
from tests.sources.cds_fake import TOKEN, FakeCds
from tests.sources.helpers import DATA, LoopbackServer, Reply, as_batch, recorded

BERLIN = recorded("homeassistant_forecast_berlin.json")


def _cache_files() -> list[Path]:
    root = Path(os.environ["MICROCLIMATE_HOME"]) / "cache"
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def _serve_berlin(method: str, path: str, query: dict[str, list[str]]) -> Reply:
    n = len(query["latitude"][0].split(","))
    return Reply(200, BERLIN if n == 1 else as_batch(BERLIN, n),
                 {"Content-Type": "application/json"})


def _run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(args)
    return code, capsys.readouterr().err


def test_openmeteo_points(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "berlin.nc"
    with LoopbackServer(_serve_berlin) as server:
            code = main(["fetch", "openmeteo", "--lat", "52.52", "--lon", "13.41",
                     "--variables", "temperature,relative_humidity,wind_speed",
                     "--base-url", server.url, "--out", str(out)])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "[100%]" in captured.err  # progress on stderr
    assert captured.out.strip() == f"wrote {out}"  # the result on stdout
    with xr.open_dataset(out) as ds:
        validate_station_dataset(ds)
        assert ds.attrs["Conventions"] == "CF-1.8"
        assert ds.attrs["source_url"].startswith(server.url + "/v1/forecast?")
        assert ds["temperature"].attrs["units"] == "degC"
        assert float(ds["temperature"][0, 0]) == pytest.approx(6.9)
    assert _cache_files()  # the answer is cached for offline use


def test_openmeteo_offline_from_cache(tmp_path: Path,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    args = ["fetch", "openmeteo", "--lat", "52.52", "--lon", "13.41", "--variables",
            "temperature"]
    with LoopbackServer(_serve_berlin) as server:
        code, err = _run([*args, "--base-url", server.url, "--out", str(tmp_path / "a.nc")],
                         capsys)
        assert code == 0, err
        base_url = server.url
    # server gone: the same request opens offline, another one fails clearly
    code, err = _run([*args, "--base-url", base_url, "--offline", "--out",
                      str(tmp_path / "b.nc")], capsys)
    assert code == 0, err
    with xr.open_dataset(tmp_path / "a.nc") as a, xr.open_dataset(tmp_path / "b.nc") as b:
        np.testing.assert_array_equal(a["temperature"].values, b["temperature"].values)
    code, err = _run(["fetch", "openmeteo", "--lat", "48.1", "--lon", "11.6", "--variables",
                      "temperature", "--base-url", base_url, "--offline", "--out",
                      str(tmp_path / "c.nc")], capsys)
    assert code == 1 and "offline mode" in err and not (tmp_path / "c.nc").exists()


def test_openmeteo_bbox_grid(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "grid.nc"
    with LoopbackServer(_serve_berlin) as server:
        code, err = _run(["fetch", "openmeteo", "--bbox", "52.3,13.1,52.7,13.7",
                          "--resolution", "0.2", "--variables", "temperature",
                          "--base-url", server.url, "--out", str(out)], capsys)
    assert code == 0, err
    with xr.open_dataset(out) as ds:
        validate_grid_dataset(ds)
        assert ds["temperature"].shape == (168, 3, 4)


@pytest.mark.parametrize(
    ("reply", "match"),
    [
        (Reply(400, json.dumps({"error": True, "reason": "Parameter 'start_date' is out of "
                                "allowed range"}).encode()), "HTTP 400 .*out of allowed range"),
        (Reply(429, b'{"error": true, "reason": "Daily API request limit exceeded"}',
               {"Retry-After": "0"}), "HTTP 429 .*limit exceeded"),
        (Reply(500, b"Internal Server Error", {"Retry-After": "0"}), "HTTP 500"),
        (Reply(200, b"nan"), "not valid JSON"),
        (Reply(200, BERLIN, truncate_to=2000), "truncated"),
    ],
)
def test_openmeteo_bad_answers(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                               reply: Reply, match: str) -> None:
    out = tmp_path / "out.nc"
    with LoopbackServer(lambda m, p, q: reply) as server:
        code, err = _run(["fetch", "openmeteo", "--lat", "52.52", "--lon", "13.41",
                          "--variables", "temperature", "--base-url", server.url,
                          "--out", str(out)], capsys)
    lines = [line for line in err.splitlines() if "error" in line]
    assert code == 1 and len(lines) == 1, err
    import re
    assert re.search(match, lines[0]), lines[0]
    assert lines[0].startswith("microclimate fetch: error:")
    assert not out.exists() and not list(tmp_path.glob(".out.nc.*"))
    assert not _cache_files()


def test_failed_fetch_keeps_existing_output(tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "keep.nc"
    out.write_bytes(b"previous result")
    with LoopbackServer(lambda m, p, q: Reply(200, b"nan")) as server:
        code, _ = _run(["fetch", "openmeteo", "--lat", "1", "--lon", "2", "--variables",
                        "temperature", "--base-url", server.url, "--out", str(out)], capsys)
    assert code == 1 and out.read_bytes() == b"previous result"


@pytest.mark.parametrize(
    ("args", "match"),
    [
        (["--lat", "1", "--lon", "2", "--variables", "temprature"], "unknown variable"),
        (["--lat", "1,2", "--lon", "2", "--variables", "temperature"], "as many latitudes"),
        (["--lat", "north", "--lon", "2", "--variables", "temperature"], "comma-separated"),
        (["--variables", "temperature"], "give --lat and --lon, or --bbox"),
        (["--bbox", "5,5,1,1", "--variables", "temperature"], "south < north"),
        (["--lat", "1", "--lon", "2", "--variables", "temperature", "--archive"],
         "needs --start and --end"),
    ],
)
def test_openmeteo_bad_arguments(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                 args: list[str], match: str) -> None:
    out = tmp_path / "out.nc"
    code, err = _run(["fetch", "openmeteo", *args, "--base-url", "http://127.0.0.1:9",
                      "--out", str(out)], capsys)
    assert code == 1 and match in err and len(err.strip().splitlines()) == 1, err
    assert not out.exists()


def test_era5_from_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "rhine.nc"
    legacy = sorted((DATA / "era5" / "legacy").glob("*.nc"))
    args = ["fetch", "era5", *[a for p in legacy for a in ("--from-file", str(p))],
            "--out", str(out)]
    code, err = _run(args, capsys)
    assert code == 0, err
    with xr.open_dataset(out) as ds:
        validate_grid_dataset(ds)
        assert set(ds.data_vars) == {"surface_pressure", "precipitation", "elevation",
                                    "crs"}  # the WGS 84 grid mapping of the CF writer
        assert ds["latitude"].attrs["units"] == "degrees_north"
        assert np.isfinite(ds["surface_pressure"].values).all()
        assert ds.attrs["elevation_source"].startswith("fallback")
    # these files carry no orography: the stand-in is announced in one line
    notes = [line for line in err.splitlines() if line.startswith("note: ")]
    assert len(notes) == 1 and "invariant file" in notes[0]


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda d: _truncated(DATA / "era5" / "era5-2mt-2019-03-uk.grib", d, 700_000),
         "corrupt or truncated"),
        (lambda d: _truncated(DATA / "era5" / "legacy" / "ERA5_2022-08-31_sp.nc", d, 40_000),
         "corrupt or truncated"),
        (lambda d: DATA / "stations" / "723170TYA.CSV", "not a NetCDF, GRIB or zip"),
    ],
)
def test_era5_bad_files(tmp_path: Path, capsys: pytest.CaptureFixture[str], make, match) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "out.nc"
    code, err = _run(["fetch", "era5", "--from-file", str(make(tmp_path)), "--out", str(out)],
                     capsys)
    assert code == 1 and match in err, err
    assert len([line for line in err.splitlines() if "error:" in line]) == 1
    assert not out.exists()


def test_era5_unknown_variable(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out.nc"
    code, err = _run(["fetch", "era5", "--from-file",
                      str(DATA / "era5" / "new_layout" / "era5_2022-08-31_rhine.zip"),
                      "--variables", "temperature", "--out", str(out)], capsys)
    assert code == 1 and "'temperature' is not in the ERA5 data" in err and not out.exists()


def test_era5_cds_end_to_end(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fake = FakeCds(["successful"])
    with LoopbackServer(handler=fake) as server:
        fake.download_base = server.url
        settings = Path(os.environ["MICROCLIMATE_HOME"]) / "config" / "settings.json"
        settings.parent.mkdir(parents=True)
        settings.write_text(json.dumps({"cds_url": server.url + "/api", "cds_key": TOKEN}))
        out = tmp_path / "cds.nc"
        args = ["fetch", "era5", "--cds", "--bbox", "45,0,55,10", "--start", "2022-08-31",
                "--end", "2022-08-31", "--variables", "surface_pressure,precipitation"]
        code, err = _run([*args, "--out", str(out)], capsys)
        assert code == 0, err
        assert "submitted job" in err and "downloaded" in err  # progress on stderr
    with xr.open_dataset(out) as ds:
        validate_grid_dataset(ds)
        assert set(ds.data_vars) == {"surface_pressure", "precipitation", "elevation",
                                    "crs"}  # the WGS 84 grid mapping of the CF writer
        assert ds.attrs["cache_hit"] == "no"
        assert ds.attrs["source_url"].endswith("/api/retrieve/v1/processes/"
                                               "reanalysis-era5-single-levels")
    # server gone: the same request is served from the cache offline
    code, err = _run([*args, "--offline", "--out", str(tmp_path / "again.nc")], capsys)
    assert code == 0, err
    with xr.open_dataset(tmp_path / "again.nc") as again, xr.open_dataset(out) as first:
        assert again.attrs["cache_hit"] == "yes"
        assert again.attrs["fetched_at"] == first.attrs["fetched_at"]  # the real fetch time


def test_era5_cds_without_key(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out.nc"
    code, err = _run(["fetch", "era5", "--cds", "--bbox", "45,0,55,10", "--start",
                      "2022-08-31", "--end", "2022-08-31", "--variables", "temperature",
                      "--out", str(out)], capsys)
    assert code == 1 and "no CDS key" in err and not out.exists()


def test_stations(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for name, fmt in (("CRN_with_problems.txt", "uscrn"), ("723170TYA.CSV", "tmy3")):
        out = tmp_path / f"{fmt}.nc"
        code, err = _run(["fetch", "stations", str(DATA / "stations" / name), "--format", fmt,
                          "--out", str(out)], capsys)
        assert code == 0, err
        with xr.open_dataset(out) as ds:
            validate_station_dataset(ds)
            assert ds.attrs["featureType"] == "timeSeries"


def test_stations_csv_and_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    csv = tmp_path / "obs.csv"
    csv.write_text("time,t\n2024-01-01T00:00,1.5\n2024-01-01T01:00,-9999\n")
    out = tmp_path / "csv.nc"
    code, err = _run(["fetch", "stations", str(csv), "--format", "csv", "--columns",
                      "time=time,temperature=t", "--lat", "45", "--lon", "7",
                      "--out", str(out)], capsys)
    assert code == 0, err
    with xr.open_dataset(out) as ds:
        assert np.isnan(ds["temperature"].values[0, 1])
    code, err = _run(["fetch", "stations", str(csv), "--format", "csv", "--out",
                      str(tmp_path / "x.nc")], capsys)
    assert code == 1 and "--columns" in err and not (tmp_path / "x.nc").exists()
    code, err = _run(["fetch", "stations", str(DATA / "stations" / "723170TYA.CSV"),
                      "--format", "uscrn", "--out", str(tmp_path / "y.nc")], capsys)
    assert code == 1 and "not a USCRN" in err and not (tmp_path / "y.nc").exists()


def _truncated(source: Path, folder: Path, size: int) -> Path:
    target = folder / source.name
    target.write_bytes(source.read_bytes()[:size])
    return target


def test_an_existing_out_is_kept_unless_forced(tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "crn.nc"
    out.write_bytes(b"a file the user made")
    args = ["fetch", "stations", str(DATA / "stations" / "CRN_with_problems.txt"), "--format",
            "uscrn", "--out", str(out)]
    code, err = _run(args, capsys)
    assert code == 1 and "exists; give --force" in err
    assert out.read_bytes() == b"a file the user made"
    assert main([*args, "--force", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["out"] == str(out) and "temperature" in result["variables"]
    validate_station_dataset(xr.load_dataset(out, engine="netcdf4"))


def test_stations_smet_folder_and_uscrn_elevation(tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    smet = sorted((DATA / "stations" / "imis").glob("*.smet"))
    out = tmp_path / "imis.nc"
    code, err = _run(["fetch", "stations", *map(str, smet), "--format", "smet", "--out",
                      str(out)], capsys)
    assert code == 0, err
    with xr.open_dataset(out) as ds:
        validate_station_dataset(ds)
        assert ds.sizes["station"] == 7 and ds["temperature"].attrs["units"] == "degC"
    out = tmp_path / "crn.nc"
    code, err = _run(["fetch", "stations", str(DATA / "stations" / "CRN_with_problems.txt"),
                      "--format", "uscrn", "--elevation", "3", "--out", str(out)], capsys)
    assert code == 0, err
    with xr.open_dataset(out) as ds:
        assert float(ds["elevation"][0]) == 3.0
    code, err = _run(["fetch", "stations", str(smet[0]), "--format", "uscrn", "--out",
                      str(tmp_path / "bad.nc")], capsys)
    assert code == 1 and smet[0].name in err and not (tmp_path / "bad.nc").exists()


def test_the_cli_names_its_flags_where_the_readers_are_neutral(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from desktop_app.errors import ConfigError
    from desktop_app.sources.station_formats import read_station_files

    csv = tmp_path / "obs.csv"
    csv.write_text("time,t\n2024-01-01T00:00,1.5\n")
    # the reader says what is missing in its own words, no command-line flags
    with pytest.raises(ConfigError, match="needs a column mapping") as info:
        read_station_files([csv], "csv")
    assert "--" not in str(info.value)
    code, err = _run(["fetch", "stations", str(csv), "--format", "csv", "--columns",
                      "time=time,temperature=t", "--out", str(tmp_path / "x.nc")], capsys)
    assert code == 1 and "--format csv needs --lat and --lon" in err
    assert not (tmp_path / "x.nc").exists()
