"""The loop writer on the real UK ERA5 test month: each GIF frame is the PNG renderer's
map of its step (up to the GIF palette), cancel leaves the destination as it was."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from PIL import Image

from desktop_app.errors import CancelledError, DataFileError
from desktop_app.fsutil import load_netcdf
from desktop_app.viz import animation, export

DATA = Path(__file__).resolve().parents[1] / "data" / "inference"


@pytest.fixture(autouse=True)
def _app(qapp):  # painting needs a Qt application (pytest-qt's, shared with GUI tests)
    return qapp


@pytest.fixture(scope="module")
def fine() -> xr.Dataset:
    ds = load_netcdf(DATA / "era5_uk_fine.nc")  # real ERA5 0.25 deg 2 m temperature, UK
    return ds.isel(time=slice(0, 12))


def test_gif_frames_are_the_png_maps(fine: xr.Dataset, tmp_path: Path) -> None:
    out = animation.write_animation(fine, "temperature", tmp_path / "uk.gif", [0, 5, 11],
                                    fps=2, width=500, height=400)
    with Image.open(out) as im:
        im.seek(1)
        frame = np.asarray(im.convert("RGB"), np.int16)
    spec = export.spec_from_dataset(fine, "temperature", 5)
    png = animation.image_rgb(export.render_map(spec, 500, 400, 96)).astype(np.int16)
    diff = np.abs(frame - png)
    assert float(diff.mean()) < 2.5  # the shared palette shifts colours a little
    assert float(np.percentile(diff, 99)) < 12
    other = animation.image_rgb(export.render_map(
        export.spec_from_dataset(fine, "temperature", 0), 500, 400, 96)).astype(np.int16)
    assert float(np.abs(frame - other).mean()) > float(diff.mean())  # not just any frame


def test_cancel_keeps_the_old_file_and_leaves_no_temp(fine: xr.Dataset, tmp_path: Path) -> None:
    out = tmp_path / "loop.gif"
    out.write_bytes(b"an older loop")
    cancel = threading.Event()

    def progress(fraction: float, message: str) -> None:
        if message.startswith("frame 3/"):
            cancel.set()

    with pytest.raises(CancelledError):
        animation.write_animation(fine, "temperature", out, list(range(12)), width=300,
                                  height=300, progress=progress, cancel=cancel)
    assert out.read_bytes() == b"an older loop"
    assert [p.name for p in tmp_path.iterdir()] == ["loop.gif"]


@pytest.mark.parametrize(("name", "steps", "fps", "message"), [
    ("loop.avi", [0], 4.0, ".gif or .mp4"),
    ("loop.gif", [], 4.0, "no time steps"),
    ("loop.mp4", [0], 100.0, "frame rate"),
])
def test_bad_requests(fine: xr.Dataset, tmp_path: Path, name: str, steps: list[int],
                      fps: float, message: str) -> None:
    with pytest.raises(DataFileError, match=message):
        animation.write_animation(fine, "temperature", tmp_path / name, steps, fps)
    assert not any(tmp_path.iterdir())


def test_gif_colorbar_is_a_clean_gradient(fine: xr.Dataset, tmp_path: Path) -> None:
    """The colorbar of a GIF frame keeps the colormap's order and enough distinct colours
    (a palette quantised from the whole frame left it a few dozen bands)."""
    from desktop_app.viz.styles import make_colormap

    width, height = 500, 400
    out = animation.write_animation(fine, "temperature", tmp_path / "uk.gif", [0, 5, 11],
                                    fps=2, width=width, height=height)
    spec = export.spec_from_dataset(fine, "temperature", 5)
    target = export.map_rect(spec, width, height, 96)
    x = int(target.right()) + 2 * 12 + 11  # the middle of the bar (export's layout at 96 dpi)
    rows = slice(int(target.top()) + 2, int(target.bottom()) - 2)
    with Image.open(out) as im:
        im.seek(1)
        bar = np.asarray(im.convert("RGB"), np.float64)[rows, x][::-1]  # bottom to top
    png = animation.image_rgb(export.render_map(spec, width, height, 96))[rows, x][::-1]
    cs = spec.field.scale
    table = np.asarray(make_colormap(cs.cmap, cs.steps).map(
        np.linspace(0.0, 1.0, 1024)[:, None]))[:, :3] * 255
    position = np.argmin(((bar[:, None, :] - table[None]) ** 2).sum(-1), axis=1)
    assert np.all(np.diff(position) >= 0)  # low values at the bottom, in order
    assert position[0] < 20 and position[-1] > 1000  # the whole colormap
    assert len(np.unique(bar, axis=0)) >= 96  # not a few bands
    assert float(np.abs(bar - png).max()) <= 6  # each close to the colour the PNG has
