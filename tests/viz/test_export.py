"""The headless map renderer: geometry, colours, colorbar, metadata, bad sizes."""

import numpy as np
import pytest
from PySide6 import QtGui
from vispy.color import get_colormap

from desktop_app.errors import DataFileError
from desktop_app.sources.region import load_region
from desktop_app.viz import export
from desktop_app.viz.map_model import MapMeta, MapModel
from desktop_app.viz.painter import colorize


@pytest.fixture(autouse=True)
def _app(qapp):  # painting needs a Qt application (pytest-qt's, shared with GUI tests)
    return qapp


def _spec(values, cmap="viridis"):
    """One step of ``values`` (0..1, so the colour policy's range is 0..1) on the sample
    grid, with the geographic context off so that cells show their colour alone."""
    region = load_region()
    lat = region.terrain["latitude"].values
    lon = region.terrain["longitude"].values
    model = MapModel()
    model.field.set_data(np.asarray(values)[None], lat, lon, "relative_humidity", cmap=cmap)
    for name in ("basemap", "graticule", "places", "scalebar"):
        model.layers[name].set_visible(False)
    model.meta = MapMeta("t", "2024-07-15 00:00 UTC", "baseline", "Terrain: SRTM")
    return model


def _rgb(image: QtGui.QImage, x: float, y: float) -> np.ndarray:
    c = image.pixelColor(round(x), round(y))
    return np.array([c.red(), c.green(), c.blue()], float)


def _cmap_rgb(name: str, v: float) -> np.ndarray:
    return np.round(np.asarray(get_colormap(name).map(np.array([[v]]))[0][:3]) * 255)


def test_north_is_up_and_cells_carry_their_colour():
    region = load_region()
    lat = region.terrain["latitude"].values
    # a south-to-north ramp: 0 at the southern row, 1 at the northern row
    ramp = np.repeat(np.linspace(0.0, 1.0, lat.size)[:, None],
                     region.terrain.sizes["longitude"], axis=1)
    spec = _spec(ramp)
    image = export.render_map(spec, 1200, 800, 96)
    r = export.map_rect(spec, 1200, 800, 96)
    top = _rgb(image, r.center().x(), r.top() + 3)
    bottom = _rgb(image, r.center().x(), r.bottom() - 3)
    assert np.abs(top - _cmap_rgb("viridis", 1.0)).max() <= 6
    assert np.abs(bottom - _cmap_rgb("viridis", 0.0)).max() <= 6
    mid = _rgb(image, r.center().x(), r.center().y())
    assert np.abs(mid - _cmap_rgb("viridis", 0.5)).max() <= 8


def test_ground_aspect_is_kept():
    region = load_region()
    spec = _spec(np.zeros(region.terrain["elevation"].shape))
    r = export.map_rect(spec, 1600, 1000, 96)
    west, south, east, north = spec.extent()  # cell edges
    want = (east - west) * np.cos(np.radians((south + north) / 2)) / (north - south)
    assert r.width() / r.height() == pytest.approx(want, rel=1e-6)


def test_size_dpi_metadata_and_colorbar(tmp_path):
    region = load_region()
    spec = _spec(np.full(region.terrain["elevation"].shape, 0.25), cmap="coolwarm")
    path = export.save_png(export.render_map(spec, 900, 700, 200), tmp_path / "m.png")
    image = QtGui.QImage(str(path))
    assert (image.width(), image.height()) == (900, 700)
    assert round(image.dotsPerMeterX() * 0.0254) == 200
    assert image.text("Valid time") == "2024-07-15 00:00 UTC"
    assert image.text("Model") == "baseline"
    arr = image.convertToFormat(QtGui.QImage.Format.Format_RGB888)
    data = np.frombuffer(arr.constBits(), np.uint8, count=arr.sizeInBytes()).reshape(
        700, arr.bytesPerLine())[:, :2700].reshape(700, 900, 3).astype(int)
    for v in (0.0, 1.0):  # both ends of the colorbar are drawn
        assert (np.abs(data - _cmap_rgb("coolwarm", v)).max(axis=2) <= 4).sum() > 20


def test_nan_cells_are_not_painted():
    region = load_region()
    values = np.full(region.terrain["elevation"].shape, 0.5)
    values[:, :] = np.nan
    rgba = colorize(_spec(values).field.primitives(None)[0])
    assert (rgba[..., 3] == 0).all()


@pytest.mark.parametrize(("w", "h", "dpi", "msg"), [(50, 500, 96, "width"),
                                                    (500, 20000, 96, "height"),
                                                    (500, 500, 5, "dpi")])
def test_bad_sizes_are_refused(w, h, dpi, msg):
    region = load_region()
    with pytest.raises(DataFileError, match=msg):
        export.render_map(_spec(np.zeros(region.terrain["elevation"].shape)), w, h, dpi)
