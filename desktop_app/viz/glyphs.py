"""Glyph bitmaps for vispy's text, read from FreeType in one copy.

vispy turns every character it labels with into a distance-field glyph the first time it
is drawn, reading the FreeType bitmap through freetype-py's ``Bitmap.buffer``, which
builds a Python list one byte at a time. The first map frame draws about a hundred
characters (graticule, places, stations, colour bar), and that list alone cost 0.6 s of
the window's start-up on the 2-core machine. :func:`fast_glyph_bitmaps` makes that
property return the same bytes as a NumPy array copied in one go.
"""

from __future__ import annotations

from typing import Any

import numpy as np

replaced: Any = None  # freetype-py's own getter, once replaced (the tests compare with it)


def fast_glyph_bitmaps() -> bool:
    """Install the one-copy ``freetype.Bitmap.buffer`` (once); False where freetype-py is
    missing or not as expected, and then nothing changes."""
    global replaced
    if replaced is not None:
        return True
    try:
        import freetype  # type: ignore[import-untyped]

        slow = freetype.Bitmap.buffer
        fget = slow.fget
    except (ImportError, AttributeError):
        return False

    def buffer(self: Any) -> Any:
        n = self.rows * self.pitch
        raw = self._FT_Bitmap.buffer
        if n <= 0 or not raw:  # (an empty glyph, or a bottom-up bitmap: as before)
            return fget(self)
        return np.ctypeslib.as_array(raw, shape=(n,)).copy()

    replaced = fget
    freetype.Bitmap.buffer = property(buffer, doc=slow.__doc__)
    return True
