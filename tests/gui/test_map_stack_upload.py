"""A big frame stack goes to the GPU in slices between event-loop turns: the shown step
is on screen before the rest has arrived, a step scrubbed to early comes at once, and
once every slice is in, the map draws exactly what a one-piece upload draws.

The stack is the real ERA5 UK test field (its first 48 hourly steps); the size threshold is
lowered so that it takes the sliced path a week of 1024x1024 frames takes, in bands of
rows as a big frame is sent, and one band goes per turn so the order of events is the
same on any machine (no timing involved).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from desktop_app.viz import map_canvas
from desktop_app.viz.map_canvas import MapCanvas
from desktop_app.viz.map_model import MapModel

pytestmark = pytest.mark.gui
DATA = Path(__file__).resolve().parents[1] / "data" / "inference"
SHOWN = 5  # the step on the time slider when the stack arrives


@pytest.fixture(scope="module")
def uk_stack() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    with xr.open_dataset(DATA / "era5_uk_fine.nc") as ds:
        t2m = ds["temperature"].load()
    # the first two days: enough steps to watch the order, few event-loop turns
    return (np.asarray(t2m.values[:48], np.float32), t2m["latitude"].values,
            t2m["longitude"].values)


@pytest.fixture
def canvas(qtbot, qapp, monkeypatch):
    monkeypatch.setattr(map_canvas, "SLICED_UPLOAD_BYTES", 0)
    monkeypatch.setattr(map_canvas, "SLICE_SECONDS", 0.0)  # one band per turn
    monkeypatch.setattr(map_canvas, "UNIT_VALUES", 48 * 12)  # bands of 12 of 32 rows
    model = MapModel()
    for name in ("basemap", "graticule", "places", "scalebar"):
        model.layers[name].set_visible(False)  # the field alone: pixels are its colours
    c = MapCanvas(model)
    c.canvas.size = (360, 300)
    c.canvas.show()
    qtbot.waitExposed(c.widget)
    yield c
    c.canvas.close()
    qapp.processEvents()


def _drawn(c: MapCanvas, t: int) -> np.ndarray:
    c.model.field.set_time(t)
    return np.asarray(c.canvas.render()[..., :3])


def test_sliced_upload_shows_the_step_first_and_ends_as_one_piece(canvas, uk_stack, qtbot):
    frames, lat, lon = uk_stack
    n = frames.shape[0]
    canvas.model.field.set_data(frames, lat, lon, "temperature", t=SHOWN)
    # no event-loop turn has run: the shown step alone is on the GPU, and drawn
    assert canvas.uploading and canvas.image.uploads == 1
    first = _drawn(canvas, SHOWN)
    late = 40  # a step the slices reach late: scrubbed to, it comes at once
    early = _drawn(canvas, late)
    assert canvas.uploading and canvas.image.uploads == 2
    qtbot.waitUntil(lambda: not canvas.uploading, timeout=20000)
    assert canvas.image.uploads == n  # every step once, none twice
    steps = (SHOWN, late, 0, 20, n - 1)
    sliced = {t: _drawn(canvas, t) for t in steps}
    canvas.image.set_frames(frames, canvas.model.field.scale.clim)  # the one-piece way
    whole = {t: _drawn(canvas, t) for t in steps}
    for t in steps:
        np.testing.assert_array_equal(sliced[t], whole[t], err_msg=f"step {t}")
    np.testing.assert_array_equal(first, whole[SHOWN])
    np.testing.assert_array_equal(early, whole[late])
    # the steps differ on screen (the test would pass on a blank map otherwise)
    assert np.abs(whole[SHOWN].astype(int) - whole[late].astype(int)).sum() > 1000


def test_slices_of_steps_not_shown_draw_nothing(canvas, uk_stack, qtbot):
    """A slice brings rows of a step that is not on screen: no frame is redrawn for it
    (each redraw cost a whole frame between slices and made the turns long)."""
    frames, lat, lon = uk_stack
    canvas.model.field.set_data(frames, lat, lon, "temperature", t=SHOWN)
    with qtbot.waitSignal(canvas.drawn, timeout=5000):
        canvas.canvas.update()  # the shown step, drawn once
    draws = []
    canvas.drawn.connect(lambda: draws.append(1))
    qtbot.waitUntil(lambda: not canvas.uploading, timeout=20000)
    qtbot.wait(50)  # (a redraw asked for by the last slice would come in this turn)
    assert canvas.image.uploads == frames.shape[0]
    assert draws == []


def test_before_its_first_frame_even_a_small_stack_goes_up_shown_step_first(
        qtbot, qapp, uk_stack):
    """At start-up the first frame needs one step: the rest of a stack under the slicing
    threshold follows from the event loop; once a frame is on screen such a stack goes up
    in one piece, as before."""
    frames, lat, lon = uk_stack
    n = frames.shape[0]
    assert frames.nbytes < map_canvas.SLICED_UPLOAD_BYTES  # the one-piece size
    c = MapCanvas(MapModel())
    try:
        c.model.field.set_data(frames, lat, lon, "temperature", t=SHOWN)
        assert not c.has_drawn and c.uploading and c.image.uploads == 1
        c.canvas.size = (360, 300)
        with qtbot.waitSignal(c.drawn, timeout=10000):
            c.canvas.show()
        qtbot.waitUntil(lambda: not c.uploading, timeout=20000)
        assert c.has_drawn and c.image.uploads == n  # every step once
        c.model.field.set_data(frames[::-1].copy(), lat, lon, "temperature", t=SHOWN)
        assert not c.uploading and c.image.uploads == 2 * n  # whole, at once
    finally:
        c.canvas.close()
        qapp.processEvents()
