"""Geographic context on the real map, read from the pixels: a coastal region (the UK
ERA5 test data) shows Natural Earth coastlines and a labelled graticule, and the View
menu switches them off."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from desktop_app.sources.region import load_region
from desktop_app.viz.map_model import basemap
from tests.gui.conftest import shown_window
from tests.gui.helpers import canvas_image

pytestmark = pytest.mark.gui
DATA = Path(__file__).resolve().parents[1] / "data" / "inference"


@pytest.fixture(scope="module")
def uk_region(tmp_path_factory):
    """A region folder made of the real UK ERA5 test files (first day only)."""
    folder = tmp_path_factory.mktemp("uk")
    with xr.open_dataset(DATA / "era5_uk_fine.nc") as fine:
        fine[["elevation"]].load().to_netcdf(folder / "terrain.nc")
    with xr.open_dataset(DATA / "era5_uk_coarse.nc") as coarse:
        coarse.isel(time=slice(0, 24)).load().to_netcdf(folder / "coarse.nc")
    (folder / "region.json").write_text(json.dumps({
        "name": "UK (ERA5 test data)", "bbox": [50.0, -10.0, 57.75, 1.75],
        "files": {"terrain": "terrain.nc", "coarse": "coarse.nc"}}), encoding="utf-8")
    yield load_region(folder)
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def uk_window(qtbot, qapp, uk_region, tmp_path, monkeypatch):
    monkeypatch.setenv("MICROCLIMATE_HOME", str(tmp_path / "home"))
    with shown_window(qtbot, qapp, uk_region, settle_ms=200) as win:
        yield win


def _redraw(window, qtbot):
    with qtbot.waitSignal(window.map.drawn, timeout=5000):
        window.map.canvas.update()


def _pixels_at(img, window, lon, lat, brightest_of=0):
    """Pixels at geographic points; with ``brightest_of=1`` the brightest of the three
    horizontal neighbours (a 1-pixel vertical line may be rasterised one pixel aside)."""
    pts = [window.map.canvas_pos_of(float(b), float(a)) for a, b in zip(lon, lat, strict=True)]
    h, w, _ = img.shape
    out = []
    for x, y in pts:
        if 1 <= round(x) < w - 1 and 0 <= round(y) < h:
            near = [img[round(y), round(x) + d].astype(int)
                    for d in range(-brightest_of, brightest_of + 1)]
            out.append(max(near, key=lambda c: int(c.sum())))
    return np.array(out)


def test_coastline_and_graticule_are_drawn_and_can_be_switched_off(uk_window, qtbot):
    window = uk_window
    view = window.map.current_view()
    west, south, east, north = window.map_model.extent()
    coast = np.concatenate(basemap.lines_in("coastline", view))
    inside = coast[(coast[:, 0] > west + 0.3) & (coast[:, 0] < east - 0.3)
                   & (coast[:, 1] > south + 0.3) & (coast[:, 1] < north - 0.3)]
    sample = inside[:: max(1, len(inside) // 300)]
    assert len(sample) > 100  # Britain and Ireland are in the box
    step = basemap.graticule_step(min(view.north - view.south, view.east - view.west))
    lon_line = np.ceil((west + 1.0) / step) * step  # a meridian well inside the field
    along = np.linspace(south + 1.0, north - 1.0, 40)

    _redraw(window, qtbot)
    on = canvas_image(window)
    coast_on = _pixels_at(on, window, sample[:, 0], sample[:, 1])
    grid_on = _pixels_at(on, window, np.full(along.size, lon_line), along, 1)
    for name in ("basemap", "graticule"):
        window.map_actions[name].setChecked(False)  # View menu toggles
    assert not window.map_model.basemap.visible and not window.map_model.graticule.visible
    _redraw(window, qtbot)
    off = canvas_image(window)
    coast_off = _pixels_at(off, window, sample[:, 0], sample[:, 1])
    grid_off = _pixels_at(off, window, np.full(along.size, lon_line), along, 1)

    # coastline: dark lines on the vertices with the basemap on, the field without it
    dark_on = (coast_on.sum(axis=1) < 200).mean()
    dark_off = (coast_off.sum(axis=1) < 200).mean()
    assert dark_on > 0.6 and dark_off < 0.1, (dark_on, dark_off)
    # graticule: a whitish line along the meridian, brighter than the field under it
    assert (grid_on.sum(axis=1) - grid_off.sum(axis=1)).mean() > 40
    # labelled: the graticule's labels name the meridian
    texts = [t for prim in window.map_model.graticule.primitives(view)
             if hasattr(prim, "strings") for t in prim.strings]
    assert basemap.degree_text(lon_line, "E", "W", step) in texts


def test_a_region_without_stations_shows_its_dates_on_the_series_axis(uk_window):
    # the empty plot used to span 0..1 s of 1970 and read "00.250"
    from desktop_app.viz.timeseries import to_epoch_seconds

    series = uk_window.series
    assert series.title.text() == "No stations in this region"
    lo, hi = series.plot.getViewBox().viewRange()[0]
    x = to_epoch_seconds(uk_window.view.times)
    assert lo <= x[0] < x[-1] <= hi and hi - lo < 1.1 * (x[-1] - x[0])
    labels = series.plot.getAxis("bottom").tickStrings([float(x[0])], 1.0, 86400.0)
    assert labels == [str(np.datetime_as_string(uk_window.view.times[0], unit="D"))[8:10]
                      + " Mar"]
