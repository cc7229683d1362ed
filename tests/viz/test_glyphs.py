"""The one-copy glyph bitmaps hold the bytes freetype-py's own property gives, for the
characters the map labels with, in vispy's font at the sizes it renders."""

import freetype
import numpy as np
from vispy.util.fonts._freetype import _load_font

from desktop_app.viz import glyphs
from desktop_app.viz.glyphs import fast_glyph_bitmaps


def _bitmaps(getter, size):
    face = _load_font("OpenSans", False, False)
    face.set_char_size(size * 64)
    flags = freetype.FT_LOAD_RENDER | freetype.FT_LOAD_NO_HINTING | freetype.FT_LOAD_NO_AUTOHINT
    out = {}
    for char in "34.5°N 118.2°W Los Angeles −5 km ÅØ":
        face.load_char(char, flags)
        bitmap = face.glyph.bitmap
        out[char] = (np.asarray(getter(bitmap), np.uint8), bitmap.rows, bitmap.width)
    return out


def test_glyph_bytes_are_the_same_as_freetype_py_gives():
    assert fast_glyph_bitmaps()  # (the map canvas may have installed it already)
    slow = glyphs.replaced
    fast = freetype.Bitmap.buffer.fget
    assert fast is not slow
    for size in (12, 64):
        want = _bitmaps(slow, size)
        got = _bitmaps(fast, size)
        assert want.keys() == got.keys()
        for char, (data, rows, width) in want.items():
            np.testing.assert_array_equal(got[char][0], data, err_msg=char)
            assert got[char][1:] == (rows, width)
        assert sum(d.size for d, _, _ in want.values()) > 1000  # real glyphs, not blanks
    assert fast_glyph_bitmaps()  # a second call changes nothing
    assert freetype.Bitmap.buffer.fget is fast
