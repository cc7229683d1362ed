"""The map's label glyphs reach the disk after the window's frames (issue 22: start-up):
the next launch reads their distance fields instead of working them out again."""

from __future__ import annotations

import pytest

from desktop_app.viz import glyphs

pytestmark = pytest.mark.gui


def test_the_window_saves_the_glyphs_it_labelled_with(window, qtbot):
    cache = glyphs.distance_fields  # installed by the first map canvas of the process
    assert cache is not None
    assert window.map.drawn.disconnect(cache.save_soon)  # saves after the map's frames
    window.map.drawn.connect(cache.save_soon)
    qtbot.waitUntil(lambda: not cache.dirty, timeout=glyphs.SAVE_DELAY_MS + 10000)
    stored = glyphs.DistanceFieldCache(cache.path)
    assert len(stored.fields) == len(cache.fields)
    # the labels on screen (graticule degrees, station names, colour bar) are in it
    assert len(stored.fields) >= 20
