"""``microclimate export-map`` to GeoTIFF, GIF and MP4 from a real forecast file (the
bundled UK ERA5 test month, downscaled with the lapse-rate baseline model), and the
extension check. Each output is read back with the tool a user would open it with
(rasterio/GDAL, Pillow, ffmpeg through imageio)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from desktop_app.cli import main
from desktop_app.fsutil import load_netcdf

ROOT = Path(__file__).resolve().parents[2]
INF = ROOT / "tests" / "data" / "inference"


@pytest.fixture(autouse=True)
def _app(qapp: object) -> object:
    # pytest-qt's QApplication: the renderer would otherwise make a QGuiApplication in
    # this process, and later widget tests could not build their windows
    return qapp


@pytest.fixture(scope="module")
def forecast(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("fc") / "uk.nc"
    assert main(["forecast", "--input", str(INF / "era5_uk_coarse.nc"), "--dem",
                 str(INF / "era5_uk_fine.nc"), "--quiet", "--out", str(out)]) == 0
    return out


def test_geotiff_one_step_has_crs_nodata_units_and_valid_time(forecast: Path,
                                                               tmp_path: Path) -> None:
    import rasterio

    out = tmp_path / "map.tif"
    assert main(["export-map", str(forecast), "--variable", "temperature_baseline",
                 "--time", "3", "--out", str(out)]) == 0
    ds = load_netcdf(forecast)
    field = ds["temperature_baseline"].isel(time=3)
    with rasterio.open(out) as src:
        assert src.driver == "GTiff" and src.count == 1
        assert src.crs.to_epsg() == 4326 and np.isnan(src.nodata)
        tags = src.tags()
        assert tags["UNITS"] == "degC" and tags["STANDARD_NAME"] == "air_temperature"
        when = f"{np.datetime_as_string(ds['time'].values[3], unit='m')}Z"
        assert tags["VALID_TIME"] == when and src.tags(1)["VALID_TIME"] == when
        assert src.units == ("degC",)
        band = src.read(1)
        # north up: the first row is the northernmost latitude
        np.testing.assert_allclose(band, field.values[::-1], rtol=1e-6)
        lat, lon = ds["latitude"].values, ds["longitude"].values
        x, y = src.xy(0, 0)
        assert (x, y) == pytest.approx((lon[0], lat[-1]))


def test_geotiff_every_step_as_bands(forecast: Path, tmp_path: Path) -> None:
    import rasterio

    out = tmp_path / "all.tiff"
    assert main(["export-map", str(forecast), "--variable", "temperature", "--all-steps",
                 "--out", str(out)]) == 0
    with xr.open_dataset(forecast) as ds:
        n = ds.sizes["time"]
        times = ds["time"].values
        values = ds["temperature"].values
    with rasterio.open(out) as src:
        assert src.count == n
        assert src.tags(n)["VALID_TIME"] == f"{np.datetime_as_string(times[-1], unit='m')}Z"
        assert len(src.tags()["VALID_TIMES"].split(",")) == n
        np.testing.assert_allclose(src.read(n), values[-1][::-1], rtol=1e-6)


def test_gif_and_mp4_loops(forecast: Path, tmp_path: Path) -> None:
    import imageio.v3 as iio
    from PIL import Image

    gif = tmp_path / "loop.gif"
    assert main(["export-map", str(forecast), "--variable", "temperature", "--from", "2",
                 "--to", "7", "--fps", "5", "--width", "640", "--height", "400",
                 "--out", str(gif)]) == 0
    with Image.open(gif) as im:
        assert im.n_frames == 6 and im.size == (640, 400)
        assert im.info["duration"] == 200 and im.info["loop"] == 0
        frames = [np.asarray(im.seek(k) or im.convert("RGB")) for k in (0, 5)]
    assert not np.array_equal(frames[0], frames[1])  # the field moves
    mp4 = tmp_path / "loop.mp4"
    assert main(["export-map", str(forecast), "--variable", "temperature", "--fps", "10",
                 "--from", "0", "--to", "9", "--width", "641", "--height", "400",
                 "--out", str(mp4)]) == 0
    video = iio.imread(mp4, plugin="pyav") if _has_pyav() else _ffmpeg_frames(mp4)
    assert video.shape == (10, 400, 640, 3)  # width made even for H.264


def _has_pyav() -> bool:
    try:
        import av  # noqa: F401
    except ImportError:
        return False
    return True


def _ffmpeg_frames(path: Path) -> np.ndarray:
    import imageio_ffmpeg

    gen = imageio_ffmpeg.read_frames(str(path))
    meta = next(gen)
    w, h = meta["size"]
    return np.stack([np.frombuffer(f, np.uint8).reshape(h, w, 3) for f in gen])


@pytest.mark.parametrize(("args", "message"), [
    (["--variable", "temperature", "--out", "map.jpg"], "unknown extension '.jpg'"),
    (["--variable", "snow", "--out", "map.tif"], "'snow' is not a gridded variable"),
    (["--variable", "temperature", "--from", "5", "--to", "2", "--out", "x.gif"],
     "--to (2) is before --from (5)"),
    (["--variable", "temperature", "--fps", "0", "--out", "x.mp4"], "frame rate"),
])
def test_bad_requests_are_one_line_and_write_nothing(
        forecast: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
        args: list[str], message: str) -> None:
    args = [a if not a.startswith(("map.", "x.")) else str(tmp_path / a) for a in args]
    assert main(["export-map", str(forecast), *args]) == 1
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1
    assert not any(tmp_path.iterdir())


def test_png_of_the_baseline_is_labelled_as_the_baseline(forecast: Path,
                                                         tmp_path: Path) -> None:
    from PySide6 import QtGui

    out = tmp_path / "base.png"
    assert main(["export-map", str(forecast), "--variable", "temperature_baseline",
                 "--out", str(out), "--width", "600", "--height", "400"]) == 0
    image = QtGui.QImage(str(out))
    with xr.open_dataset(forecast) as ds:
        what = ds["temperature_baseline"].attrs["long_name"].split(": ", 1)[1]
    assert "baseline" in what and what in image.text("Title")
    assert "for comparison with era5-uk-downscaler" in image.text("Model")


def test_a_step_the_guard_kept_from_the_model_is_not_titled_as_the_model(
        forecast: Path) -> None:
    """On the real UK held-out days some hours lie outside the model's training domain:
    their map must name the baseline it really shows, and the others the model."""
    from desktop_app.fsutil import load_netcdf
    from desktop_app.viz.export import meta_from_dataset

    ds = load_netcdf(forecast)
    used = ds["model_used"].values.astype(bool)
    assert used.any() and not used.all()  # both kinds of step in this real case
    fell_back = meta_from_dataset(ds, "temperature", int(np.flatnonzero(~used)[0]), False)
    ran = meta_from_dataset(ds, "temperature", int(np.flatnonzero(used)[0]), False)
    method = ds.attrs["baseline_method"]
    assert fell_back.title.endswith(f"{method} baseline (guard)")
    assert "not used at this step" in fell_back.model
    assert "guard" not in ran.title and "not used" not in ran.model
    # the baseline field exported from the same file is what it says at every step
    from desktop_app.cli.export_cmd import map_view

    view, name = map_view(ds, "temperature_baseline")
    baseline = meta_from_dataset(view, name, int(np.flatnonzero(~used)[0]), False)
    assert "guard" not in baseline.title and "not used" not in baseline.model
