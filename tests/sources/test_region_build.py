"""Building region folders: real DEM subsets, real ERA5 (Davos), recorded Open-Meteo
bodies; nothing half-written on any failure."""

from __future__ import annotations

import datetime as dt
import json
import threading
from pathlib import Path

import httpx
import numpy as np
import pytest
import rasterio
import rasterio.warp
import xarray as xr

from desktop_app import paths
from desktop_app.errors import CancelledError, ConfigError, DataFileError, DataSourceError
from desktop_app.settings import Settings
from desktop_app.sources.cache import RequestCache
from desktop_app.sources.context import FetchContext
from desktop_app.sources.http import HttpClient, RetryPolicy
from desktop_app.sources.region import load_region
from desktop_app.sources.region_build import (
    RegionRequest,
    build_region,
    parse_region_box,
    parse_resolution,
    target_folder,
)
from tests.sources.helpers import as_batch, recorded

DATA = Path(__file__).resolve().parents[1] / "data" / "region"
DAVOS = DATA / "davos_srtm30m_utm32n.tif"
ERA5 = DATA.parent / "sources" / "era5" / "davos"  # 1-2 Jan 2020, see its MANIFEST
SURF = ERA5 / "SURF_202001_2d.nc"
PLEV = ERA5 / "PLEV_202001_2d.nc"
BOX = parse_region_box("46.76,9.83,46.84,9.94")


def _siblings(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.parent.iterdir()) if folder.parent.exists() else []


@pytest.mark.parametrize(("text", "message"), [
    ("47,170,48,-170", "crosses the antimeridian"),
    ("89.8,0,90,10", "reaches a pole"),
    ("-90,0,-89,10", "reaches a pole"),
    ("47,9,46,10", "empty or inverted"),
    ("47,9,47,10", "empty or inverted"),
    ("46,9,47,9", "empty"),
    ("46,9,47", "four numbers"),
    ("46,9,47,x", "four numbers"),
    ("46,9,97,10", "off the globe"),
])
def test_bad_boxes_are_one_clear_line(text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_region_box(text)


def test_resolutions() -> None:
    assert parse_resolution("100m") == 100.0
    assert parse_resolution("1km") == 1000.0
    assert parse_resolution("0.25 km") == 250.0
    for bad in ("100", "10m", "10km", "fast"):
        with pytest.raises(ConfigError, match="resolution"):
            parse_resolution(bad)


def test_terrain_only_region_loads_and_goes_to_the_user_regions_folder() -> None:
    request = RegionRequest(name="davos", bbox=BOX, resolution_m=250.0, dem_paths=(DAVOS,))
    folder = target_folder("davos")
    assert folder == paths.regions_dir() / "davos"
    build_region(request, folder)
    region = load_region(folder)
    assert region.coarse is None and region.stations is None
    assert region.terrain["elevation"].shape == (36, 34)
    with xr.open_dataset(folder / "terrain.nc") as written:  # the file carries its CRS
        assert written["crs"].attrs["epsg_code"] == "EPSG:4326"
        assert written["elevation"].attrs["grid_mapping"] == "crs"
    meta = json.loads((folder / "region.json").read_text())
    assert meta["bbox"] == [46.76, 9.83, 46.84, 9.94]
    assert "davos_srtm30m_utm32n.tif" in meta["description"]
    assert _siblings(folder) == ["davos"]  # no temp folder left beside it


def test_existing_folder_and_bad_names_change_nothing(tmp_path: Path) -> None:
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "notes.txt").write_text("a user's file")
    request = RegionRequest(name="mine", bbox=BOX, resolution_m=250.0, dem_paths=(DAVOS,))
    with pytest.raises(ConfigError, match="region folder already exists"):
        build_region(request, folder)
    assert sorted(p.name for p in folder.iterdir()) == ["notes.txt"]
    for name in ("../up", "a/b", "", ".hidden"):
        with pytest.raises(ConfigError, match="region name"):
            target_folder(name, tmp_path / "x")


def test_failure_after_the_terrain_leaves_nothing(tmp_path: Path) -> None:
    folder = tmp_path / "regions" / "outside"
    request = RegionRequest(name="outside", bbox=BOX, resolution_m=250.0, dem_paths=(DAVOS,),
                            era5_paths=(DATA / "switzerland_1000m_davos.asc",))
    with pytest.raises(DataFileError, match="not a NetCDF, GRIB or zip"):
        build_region(request, folder)
    assert not folder.exists() and _siblings(folder) == []
    wide = parse_region_box("46.70,9.83,46.84,9.94")  # the DEM stops at 46.74°N
    with pytest.raises(DataFileError, match="does not cover the south part"):
        build_region(RegionRequest(name="outside", bbox=wide, resolution_m=250.0,
                                   dem_paths=(DAVOS,)), folder)
    assert _siblings(folder) == []


def test_cancel_writes_nothing(tmp_path: Path) -> None:
    cancel = threading.Event()
    folder = tmp_path / "r" / "davos"

    def progress(fraction: float, message: str) -> None:
        if fraction >= 0.4:  # the user presses Cancel while the DEM is resampled
            cancel.set()

    request = RegionRequest(name="davos", bbox=BOX, resolution_m=250.0, dem_paths=(DAVOS,))
    with pytest.raises(CancelledError):
        build_region(request, folder, progress=progress, cancel=cancel)
    assert _siblings(folder) == []


def test_request_needs_one_terrain_source() -> None:
    with pytest.raises(ConfigError, match="DEM file"):
        RegionRequest(name="x", bbox=BOX, resolution_m=250.0).check()
    with pytest.raises(ConfigError, match="DEM file"):
        RegionRequest(name="x", bbox=BOX, resolution_m=250.0, dem_paths=(DAVOS,),
                      elevation_service=True).check()


def test_era5_background_with_pressure_levels(tmp_path: Path) -> None:
    folder = tmp_path / "davos"
    request = RegionRequest(name="davos", bbox=BOX, resolution_m=250.0, dem_paths=(DAVOS,),
                            era5_paths=(SURF, PLEV), start=dt.date(2020, 1, 2),
                            end=dt.date(2020, 1, 2))
    build_region(request, folder)
    region = load_region(folder)
    assert region.coarse is not None
    coarse = region.coarse
    assert coarse.sizes["time"] == 24
    assert str(coarse["time"].values[0]).startswith("2020-01-02T00")
    lat, lon = coarse["latitude"].values, coarse["longitude"].values
    assert lat[0] <= BOX.south and lat[-1] >= BOX.north  # the ring around the box
    assert lon[0] <= BOX.west and lon[-1] >= BOX.east
    assert "elevation" in coarse.data_vars and float(coarse["elevation"].min()) > 500
    assert "temperature" in coarse.data_vars


def _client(handler: object, tmp_path: Path) -> FetchContext:
    http = HttpClient(transport=httpx.MockTransport(handler),  # type: ignore[arg-type]
                      sleep=lambda s: None, retry=RetryPolicy(attempts=1))
    settings = Settings()
    settings.openmeteo_base_url = settings.openmeteo_archive_url = "http://om.test"
    return FetchContext(settings=settings, http=http, cache=RequestCache(tmp_path / "cache"))


def test_elevation_service_terrain_is_the_answer_at_each_cell_centre(tmp_path: Path) -> None:
    # The service is replayed by a handler that answers in the API's documented shape
    # ({"elevation": [...]}) with the real Davos DEM sampled at the asked coordinates.
    asked: list[int] = []
    with rasterio.open(DAVOS) as src:
        def handler(request: httpx.Request) -> httpx.Response:
            lat = [float(v) for v in request.url.params["latitude"].split(",")]
            lon = [float(v) for v in request.url.params["longitude"].split(",")]
            asked.append(len(lat))
            x, y = rasterio.warp.transform("EPSG:4326", src.crs, lon, lat)
            values = [float(v[0]) for v in src.sample(zip(x, y, strict=True))]
            return httpx.Response(200, json={"elevation": values})

        context = _client(handler, tmp_path)
        folder = tmp_path / "svc"
        build_region(RegionRequest(name="svc", bbox=BOX, resolution_m=1000.0,
                                   elevation_service=True, context=context), folder)
        terrain = load_region(folder).terrain
        lat2, lon2 = np.meshgrid(terrain["latitude"].values, terrain["longitude"].values,
                                 indexing="ij")
        x, y = rasterio.warp.transform("EPSG:4326", src.crs, lon2.ravel(), lat2.ravel())
        direct = np.array([v[0] for v in src.sample(zip(x, y, strict=True))], float)
    np.testing.assert_allclose(terrain["elevation"].values.ravel(), direct, atol=0.5)
    assert sum(asked) == terrain["elevation"].size and max(asked) <= 100
    assert "elevation API" in terrain.attrs["source"]


def test_elevation_service_short_answer_and_too_many_points(tmp_path: Path) -> None:
    body = recorded("frenck_elevation.json")  # a real one-point answer, for four points
    context = _client(lambda r: httpx.Response(200, content=body), tmp_path)
    folder = tmp_path / "svc"
    box = parse_region_box("46.76,9.83,46.78,9.86")
    with pytest.raises(DataSourceError, match="lacks 4 'elevation' values"):
        build_region(RegionRequest(name="svc", bbox=box, resolution_m=1000.0,
                                   elevation_service=True, context=context), folder)
    with pytest.raises(ConfigError, match="point by point"):
        build_region(RegionRequest(name="svc", bbox=BOX, resolution_m=30.0,
                                   elevation_service=True, context=context), folder)
    assert _siblings(folder) == []


def test_openmeteo_background_from_recorded_forecast(tmp_path: Path) -> None:
    berlin = recorded("homeassistant_forecast_berlin.json")
    elevation = recorded("frenck_elevation.json")

    def handler(request: httpx.Request) -> httpx.Response:
        n = len(request.url.params["latitude"].split(","))
        if request.url.path.endswith("/elevation"):  # the real answer, once per point
            return httpx.Response(200, json={"elevation": json.loads(elevation)[
                "elevation"] * n})
        return httpx.Response(200, content=berlin if n == 1 else as_batch(berlin, n))

    days = json.loads(berlin)["hourly"]["time"]
    box = parse_region_box("52.50,13.38,52.54,13.44")
    folder = tmp_path / "berlin"
    build_region(RegionRequest(
        name="berlin", bbox=box, resolution_m=1000.0, elevation_service=True,
        openmeteo_background=True, background_variables=("temperature", "wind_speed"),
        start=dt.date.fromisoformat(days[0][:10]),
        end=dt.date.fromisoformat(days[-1][:10]), context=_client(handler, tmp_path)), folder)
    region = load_region(folder)
    assert region.coarse is not None
    coarse = region.coarse
    assert "elevation" in coarse.data_vars  # the height of each point, as the model needs
    np.testing.assert_allclose(coarse["temperature"].values[:, 0, 0],
                               json.loads(berlin)["hourly"]["temperature_2m"], atol=1e-4)
    lat = coarse["latitude"].values
    assert lat[0] < box.south and lat[-1] > box.north


def test_stations_inside_the_box_on_the_background_times(tmp_path: Path) -> None:
    imis = DATA.parent / "sources" / "stations" / "imis"
    box = parse_region_box("46.75,9.82,46.85,9.95")  # Flüelapass (FLU2) is inside
    request = RegionRequest(name="davos", bbox=box, resolution_m=1000.0, dem_paths=(DAVOS,),
                            era5_paths=(SURF, PLEV), station_path=imis / "FLU2_2009-01-20_26.smet",
                            station_format="smet")
    # the IMIS week (January 2009) and the ERA5 days (January 2020) never meet
    with pytest.raises(DataFileError, match="no observation at the background's times"):
        build_region(request, tmp_path / "a")
    outside = RegionRequest(name="davos", bbox=box, resolution_m=1000.0, dem_paths=(DAVOS,),
                            era5_paths=(SURF, PLEV), station_format="smet",
                            station_path=imis / "GLA2_2009-01-20_26.smet")
    with pytest.raises(DataFileError, match="no station of GLA2_2009-01-20_26.smet lies"):
        build_region(outside, tmp_path / "b")
    with pytest.raises(ConfigError, match="stations need a background"):
        RegionRequest(name="x", bbox=box, resolution_m=1000.0, dem_paths=(DAVOS,),
                      station_path=imis / "FLU2_2009-01-20_26.smet",
                      station_format="smet").check()
    assert list(tmp_path.iterdir()) == []


def test_stations_are_put_on_the_background_time_axis() -> None:
    from desktop_app.sources.region_build import stations_in_box
    from desktop_app.sources.station_formats import read_station_file

    path = DATA.parent / "sources" / "stations" / "imis" / "FLU2_2009-01-20_26.smet"
    own = read_station_file(path, "smet")
    times = own["time"].values[10:34]  # a background whose day lies inside the week
    request = RegionRequest(name="davos", bbox=parse_region_box("46.75,9.82,46.85,9.95"),
                            resolution_m=1000.0, dem_paths=(DAVOS,), era5_paths=(SURF,),
                            station_path=path, station_format="smet")
    st = stations_in_box(request, xr.Dataset(coords={"time": times}))
    assert st is not None and st.sizes["station"] == 1
    np.testing.assert_array_equal(st["time"].values, times)
    np.testing.assert_array_equal(st["temperature"].values, own["temperature"].values[:, 10:34])
