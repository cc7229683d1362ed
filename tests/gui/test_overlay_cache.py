"""The map's layers above the field are drawn from a cached texture while only the time
step changes (the time slider), and the picture is the one a full draw gives."""

import numpy as np
import pytest

from tests.gui.helpers import canvas_image

pytestmark = pytest.mark.gui


def _step(window, qtbot, t):
    with qtbot.waitSignal(window.map.drawn, timeout=5000):
        if window.time_slider.value() == t:  # no change, no frame: ask for one
            window.map.canvas.update()
        else:
            window.time_slider.setValue(t)


def _full_draw(window, qtbot):
    canvas = window.map.canvas
    canvas.cache_enabled = False
    try:
        with qtbot.waitSignal(window.map.drawn, timeout=5000):
            canvas.update()
        return canvas_image(window)
    finally:
        canvas.cache_enabled = True


def test_time_steps_use_the_cache_and_look_like_a_full_draw(window, qtbot):
    canvas = window.map.canvas
    assert window.time_slider.maximum() >= 2
    _step(window, qtbot, 1)  # builds the cache (or draws in full after start-up changes)
    _step(window, qtbot, 2)
    before = canvas.cached_frames
    _step(window, qtbot, 1)
    cached = canvas_image(window)  # (grabbing draws once more, from the cache too)
    assert canvas.cached_frames > before
    full = _full_draw(window, qtbot)
    diff = np.abs(cached.astype(int) - full.astype(int))
    assert diff.max() <= 3  # 8-bit rounding of the pre-blended layers, nothing more
    # and what the cache holds is really there: the sample region's coastline, place
    # names, graticule and colour bar differ from the field alone
    model = window.map_model
    for name in ("basemap", "graticule", "places", "scalebar", "stations"):
        model.layers[name].set_visible(False)
    bare = _full_draw(window, qtbot)
    assert (np.abs(bare.astype(int) - full.astype(int)).max(axis=2) > 40).sum() > 500


def test_playing_through_time_draws_from_the_cache(window, qtbot):
    """What the slider does at each step (field, time label, station flags) leaves the
    layers above the field alone unless a station's flag changes at that step."""
    canvas = window.map.canvas
    _step(window, qtbot, 0)
    _step(window, qtbot, 1)
    expected = 0
    before = canvas.cached_frames
    for t in range(2, 8):
        same = np.array_equal(window.view.station_flags(window.variable, t),
                              window.view.station_flags(window.variable, t - 1))
        expected += same
        _step(window, qtbot, t)
    assert expected >= 3  # (the sample's flags change at a few steps only)
    assert canvas.cached_frames - before >= expected - 1  # the first may build the cache


def test_a_layer_change_is_never_drawn_from_a_stale_cache(window, qtbot):
    canvas = window.map.canvas
    _step(window, qtbot, 1)
    _step(window, qtbot, 2)
    _step(window, qtbot, 1)
    with_graticule = canvas_image(window)
    window.map_model.layers["graticule"].set_visible(False)
    _step(window, qtbot, 2)
    _step(window, qtbot, 1)
    cached = canvas.cached_frames
    without = canvas_image(window)
    assert canvas.cached_frames > cached  # from the cache, made again after the change
    assert np.abs(without.astype(int) - _full_draw(window, qtbot).astype(int)).max() <= 3
    assert (np.abs(with_graticule.astype(int) - without.astype(int)).max(axis=2) > 40).sum() > 50
