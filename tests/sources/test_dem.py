"""DEMs onto a region grid: every fixture format and CRS, checked against values computed
independently from the same real files (pixel centres binned by hand, bilinear by hand)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import rasterio
import rasterio.warp
import rasterio.windows
import xarray as xr

from desktop_app.core.grid import BBox, GridSpec
from desktop_app.errors import ConfigError, DataFileError
from desktop_app.sources.dem import dem_to_grid, grid_transform

DATA = Path(__file__).resolve().parents[1] / "data" / "region"
DAVOS = DATA / "davos_srtm30m_utm32n.tif"
TUJUNGA = DATA / "bigtujunga_srtm30m_utm11.tif"
FINSE = DATA / "finse_aster100m_utm32n.tif"
SWISS = DATA / "switzerland_1000m_davos.asc"
DAVOS_BOX = BBox(46.76, 9.83, 46.84, 9.94)


def _grid(box: BBox, metres: float) -> GridSpec:
    return GridSpec.tiling_box(box, metres)


def _binned_mean(path: Path, grid: GridSpec) -> np.ndarray:
    """Mean of the DEM pixels whose centres fall in each cell (no GDAL warp involved)."""
    with rasterio.open(path) as src:
        values = src.read(1, masked=True)
        rows, cols = np.nonzero(~np.ma.getmaskarray(values))
        xs, ys = rasterio.transform.xy(src.transform, rows, cols)
        lon, lat = rasterio.warp.transform(src.crs, "EPSG:4326", xs, ys)
    lat, lon = np.asarray(lat), np.asarray(lon)
    dlat, dlon = grid.resolution
    i = np.floor((lat - (grid.latitude[0] - dlat / 2)) / dlat).astype(int)
    j = np.floor((lon - (grid.longitude[0] - dlon / 2)) / dlon).astype(int)
    ok = (i >= 0) & (i < grid.shape[0]) & (j >= 0) & (j < grid.shape[1])
    total = np.zeros(grid.shape)
    count = np.zeros(grid.shape)
    np.add.at(total, (i[ok], j[ok]), values.compressed()[ok])
    np.add.at(count, (i[ok], j[ok]), 1)
    return total / np.where(count > 0, count, np.nan)


def test_grid_tiles_the_box_exactly() -> None:
    grid = _grid(DAVOS_BOX, 100)
    dlat, dlon = grid.resolution
    assert grid.latitude[0] - dlat / 2 == pytest.approx(DAVOS_BOX.south)
    assert grid.latitude[-1] + dlat / 2 == pytest.approx(DAVOS_BOX.north)
    assert grid.longitude[-1] + dlon / 2 == pytest.approx(DAVOS_BOX.east)
    # square cells in metres: the longitude step is wider by 1/cos(latitude)
    assert dlat * 111_320 == pytest.approx(100, rel=0.02)
    assert dlon * 111_320 * np.cos(np.radians(46.8)) == pytest.approx(100, rel=0.02)
    assert grid_transform(grid).f == pytest.approx(DAVOS_BOX.north)


def test_geotiff_utm32_averaged_to_100m_matches_binned_pixels() -> None:
    grid = _grid(DAVOS_BOX, 100)
    ds = dem_to_grid([DAVOS], DAVOS_BOX, grid)
    elev = ds["elevation"].values
    assert elev.shape == grid.shape and not np.isnan(elev).any()
    assert "average" in ds.attrs["processing"] and "EPSG:32632" in ds.attrs["source"]
    expected = _binned_mean(DAVOS, grid)
    # GDAL weights pixels by the overlapped area, the binning counts centres: both are
    # means of ~11 real 30 m pixels per cell, so they agree to a few metres
    diff = np.abs(elev - expected)
    assert np.nanmedian(diff) < 3.0
    assert np.nanpercentile(diff, 99) < 25.0
    assert elev.min() > 1400 and elev.max() < 3000  # Davos valley floor to the ridges
    assert ds["crs"].attrs["grid_mapping_name"] == "latitude_longitude"
    assert ds["elevation"].attrs["grid_mapping"] == "crs"


def test_geotiff_utm11_big_tujunga() -> None:
    box = BBox(34.305, -118.175, 34.345, -118.125)
    grid = _grid(box, 250)
    ds = dem_to_grid([TUJUNGA], box, grid)
    expected = _binned_mean(TUJUNGA, grid)
    assert np.nanmedian(np.abs(ds["elevation"].values - expected)) < 5.0


def test_geotiff_float64_without_nodata_finse() -> None:
    box = BBox(60.575, 7.47, 60.625, 7.59)
    grid = _grid(box, 250)
    ds = dem_to_grid([FINSE], box, grid)
    assert "average" in ds.attrs["processing"]
    expected = _binned_mean(FINSE, grid)
    assert np.nanmedian(np.abs(ds["elevation"].values - expected)) < 5.0
    assert ds["elevation"].dtype == np.float32


def test_ascii_grid_needs_a_crs_and_takes_it_from_option_or_prj(tmp_path: Path) -> None:
    box = BBox(46.70, 9.70, 46.90, 10.00)
    grid = _grid(box, 250)
    with pytest.raises(DataFileError, match=r"davos.asc has no CRS.*its CRS as EPSG:n"):
        dem_to_grid([SWISS], box, grid)
    with_option = dem_to_grid([SWISS], box, grid, crs="EPSG:21781")
    # the same file with a .prj beside it (written here from the EPSG definition)
    copy = tmp_path / SWISS.name
    copy.write_bytes(SWISS.read_bytes())
    crs = rasterio.crs.CRS.from_epsg(21781)
    copy.with_suffix(".prj").write_text(crs.to_wkt(version="WKT1_ESRI"))
    with_prj = dem_to_grid([copy], box, grid)
    np.testing.assert_allclose(with_prj["elevation"].values, with_option["elevation"].values,
                               atol=0.5)
    with pytest.raises(ConfigError, match="the CRS given for it says EPSG:2056"):
        dem_to_grid([copy], box, grid, crs="EPSG:2056")


def test_ascii_grid_refined_bilinearly_matches_hand_interpolation() -> None:
    box = BBox(46.70, 9.70, 46.90, 10.00)
    grid = _grid(box, 250)
    ds = dem_to_grid([SWISS], box, grid, crs="EPSG:21781")
    assert "bilinear" in ds.attrs["processing"]
    with rasterio.open(SWISS) as src:
        values = src.read(1).astype(float)
        inverse = ~src.transform
    lat2, lon2 = np.meshgrid(grid.latitude, grid.longitude, indexing="ij")
    x, y = rasterio.warp.transform("EPSG:4326", "EPSG:21781", lon2.ravel(), lat2.ravel())
    x, y = np.asarray(x), np.asarray(y)
    col = inverse.a * x + inverse.b * y + inverse.c
    row = inverse.d * x + inverse.e * y + inverse.f
    c, r = col - 0.5, row - 0.5  # pixel-centre coordinates
    c0, r0 = np.floor(c).astype(int), np.floor(r).astype(int)
    fc, fr = c - c0, r - r0
    hand = ((values[r0, c0] * (1 - fc) + values[r0, c0 + 1] * fc) * (1 - fr)
            + (values[r0 + 1, c0] * (1 - fc) + values[r0 + 1, c0 + 1] * fc) * fr)
    corners = np.stack([values[r0, c0], values[r0, c0 + 1], values[r0 + 1, c0],
                        values[r0 + 1, c0 + 1]])
    valid = (corners > -9999).all(axis=0)  # next to nodata GDAL renormalises; skip those
    assert valid.mean() > 0.9
    diff = np.abs(ds["elevation"].values.ravel() - hand)[valid]
    # GDAL's approximate transformer (1/8 pixel) costs a metre or two on steep 1 km
    # cells; a shifted or flipped grid would be off by hundreds
    assert np.median(diff) < 3.0
    assert np.percentile(diff, 99) < 25.0


def test_nodata_never_enters_the_values_and_large_voids_are_refused() -> None:
    # the Swiss grid is -9999 outside Switzerland: a box over the border is mostly void
    east = BBox(46.85, 9.9, 47.0, 10.2)  # 77% of its 1 km pixels are nodata (Austria)
    with pytest.raises(DataFileError, match=r"has no data \(nodata\) for 7\d% of the box"):
        dem_to_grid([SWISS], east, _grid(east, 1000), crs="EPSG:21781")
    inside = BBox(46.70, 9.70, 46.90, 10.00)
    elev = dem_to_grid([SWISS], inside, _grid(inside, 1000), crs="EPSG:21781")["elevation"]
    assert float(elev.min()) > 1000  # no -9999 averaged in


def test_netcdf_dem_projected_with_grid_mapping_equals_the_geotiff(tmp_path: Path) -> None:
    with rasterio.open(DAVOS) as src:
        values = src.read(1).astype("float32")
        x = src.transform.c + src.transform.a * (np.arange(src.width) + 0.5)
        y = src.transform.f + src.transform.e * (np.arange(src.height) + 0.5)
        wkt = src.crs.to_wkt()
    nc = tmp_path / "davos_dem.nc"  # the same real values, re-encoded as CF NetCDF
    xr.Dataset({"elevation": (("y", "x"), values, {"units": "m", "grid_mapping": "spatial"}),
                "spatial": ((), 0, {"crs_wkt": wkt})},
               coords={"y": y, "x": x}).to_netcdf(nc)
    grid = _grid(DAVOS_BOX, 100)
    from_nc = dem_to_grid([nc], DAVOS_BOX, grid)["elevation"].values
    from_tif = dem_to_grid([DAVOS], DAVOS_BOX, grid)["elevation"].values
    np.testing.assert_allclose(from_nc, from_tif, atol=0.01)


def test_netcdf_dem_on_latitude_longitude_without_standard_name(tmp_path: Path) -> None:
    grid = _grid(DAVOS_BOX, 100)
    terrain = dem_to_grid([DAVOS], DAVOS_BOX, grid)
    nc = tmp_path / "latlon.nc"  # our own 100 m result as a plain lat/lon NetCDF
    xr.Dataset({"elevation": (("latitude", "longitude"), terrain["elevation"].values,
                              {"units": "metres"})},
               coords={"latitude": grid.latitude, "longitude": grid.longitude}).to_netcdf(nc)
    again = dem_to_grid([nc], DAVOS_BOX, grid)
    # same grid, same cells: the warp must hand back the values unchanged, not flipped
    np.testing.assert_allclose(again["elevation"].values, terrain["elevation"].values,
                               atol=0.01)
    xr.Dataset({"height": (("latitude", "longitude"), terrain["elevation"].values)},
               coords={"latitude": grid.latitude, "longitude": grid.longitude}
               ).to_netcdf(tmp_path / "other.nc")
    with pytest.raises(DataFileError, match=r"no 'elevation' variable \(has height\)"):
        dem_to_grid([tmp_path / "other.nc"], DAVOS_BOX, grid)


def _split(path: Path, tmp_path: Path, overlap: int = 8) -> list[Path]:
    """The real DEM cut into a west and an east tile sharing a few columns."""
    out = []
    with rasterio.open(path) as src:
        half = src.width // 2
        for name, col0, width in (("west", 0, half + overlap),
                                  ("east", half, src.width - half)):
            win = rasterio.windows.Window(col0, 0, width, src.height)
            profile = {**src.profile, "width": width, "height": src.height,
                       "transform": src.window_transform(win)}
            tile = tmp_path / f"{name}.tif"
            with rasterio.open(tile, "w", **profile) as dst:
                dst.write(src.read(1, window=win), 1)
            out.append(tile)
    return out


def test_mosaic_of_tiles_equals_the_whole_file(tmp_path: Path) -> None:
    tiles = _split(DAVOS, tmp_path)
    grid = _grid(DAVOS_BOX, 100)
    whole = dem_to_grid([DAVOS], DAVOS_BOX, grid)["elevation"].values
    mosaic = dem_to_grid(tiles, DAVOS_BOX, grid)
    assert "west.tif" in mosaic.attrs["source"] and "east.tif" in mosaic.attrs["source"]
    diff = np.abs(mosaic["elevation"].values - whole)
    assert (diff < 0.01).mean() > 0.97  # cells that straddle a tile edge may differ
    assert diff.max() < 60.0
    with pytest.raises(DataFileError, match="does not cover the east part"):
        dem_to_grid(tiles[:1], DAVOS_BOX, grid)


def test_box_beyond_the_dem_names_the_uncovered_part() -> None:
    box = BBox(46.70, 9.83, 46.84, 9.94)
    with pytest.raises(DataFileError) as err:
        dem_to_grid([DAVOS], box, _grid(box, 100))
    message = str(err.value)
    assert "does not cover the south part of the box" in message
    assert "DEM covers 46.74°N–46.87°N, 9.80°E–9.97°E" in message
    assert "box asks 46.70°N–46.84°N" in message
    far = BBox(47.5, 8.0, 47.6, 8.2)
    with pytest.raises(DataFileError, match="do not reach the box at all"):
        dem_to_grid([DAVOS], far, _grid(far, 1000))


def test_unreadable_and_missing_files(tmp_path: Path) -> None:
    bad = tmp_path / "broken.tif"
    bad.write_bytes(DAVOS.read_bytes()[:2000])  # a truncated copy of the real file
    grid = _grid(DAVOS_BOX, 100)
    with pytest.raises(DataFileError, match="broken.tif"):
        dem_to_grid([bad], DAVOS_BOX, grid)
    with pytest.raises(DataFileError, match="DEM file not found"):
        dem_to_grid([tmp_path / "nope.tif"], DAVOS_BOX, grid)
