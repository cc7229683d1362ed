"""Glyph bitmaps for vispy's text, read from FreeType in one copy.

vispy turns every character it labels with into a distance-field glyph the first time it
is drawn, reading the FreeType bitmap through freetype-py's ``Bitmap.buffer``, which
builds a Python list one byte at a time. The first map frame draws about a hundred
characters (graticule, places, stations, colour bar), and that list alone cost 0.6 s of
the window's start-up on the 2-core machine. :func:`fast_glyph_bitmaps` makes that
property return the same bytes as a NumPy array copied in one go.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from desktop_app.fsutil import read_npz_cache, write_npz_cache

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


# -- distance fields kept between launches -------------------------------------------------
# vispy renders each glyph at 256 pt and turns it into a signed distance field on the CPU
# (an 8SSEDT pass and a NumPy resampling, 3-6 ms a glyph on the 2-core machine): 0.3-0.6 s
# of the first map frame for its 50-110 characters, the same work at every launch. The
# fields depend only on the glyph's bitmap and the stored size, so they are kept on disk
# keyed by exactly those bytes: a changed font, size or vispy gives other bytes or another
# file, never a stale glyph.
MAX_GLYPHS = 4096  # a bound on the file (each field is a few kB)
SAVE_DELAY_MS = 2000


def distance_field_file(folder: Path) -> Path:
    import vispy

    return folder / f"glyph-distance-fields-vispy-{vispy.__version__}.npz"


class SavedLater:
    """A cache file written a moment after the frame that added to it and when the
    application quits, never on the start-up's path; a subclass has ``dirty``,
    ``unwritable`` and ``save()``."""

    dirty: bool
    unwritable: bool
    _save_pending = False
    _saves_at_quit = False

    def save(self) -> bool:
        raise NotImplementedError

    def save_soon(self) -> None:
        """Save a moment after the frame that added to the cache, off the start-up's
        path (connect it to the canvas's ``drawn``)."""
        if self.dirty and not self._save_pending and not self.unwritable:
            from PySide6 import QtCore

            self._save_pending = True
            QtCore.QTimer.singleShot(SAVE_DELAY_MS, self._save_now)

    def save_at_quit(self) -> None:
        """Save when the application quits too (once per process): a window closed, or a
        ``gui --screenshot`` run that ends, before the delayed save was due left the
        cache unsaved, so every such launch worked it all out again."""
        from PySide6 import QtCore

        app = QtCore.QCoreApplication.instance()
        if app is not None and not self._saves_at_quit:
            app.aboutToQuit.connect(self.save)
            self._saves_at_quit = True

    def _save_now(self) -> None:
        self._save_pending = False
        self.save()


class DistanceFieldCache(SavedLater):
    """vispy's CPU glyph distance fields, read from and written to one ``.npz`` file;
    where that file is missing (a first launch), read from ``seed``, the fields shipped
    with the app (``resources/glyphs``), and written to ``path`` once a glyph is added."""

    def __init__(self, path: Path, seed: Path | None = None) -> None:
        self.path = path
        self.fields: dict[str, np.ndarray] = {}
        self.computed = 0  # fields worked out in this process (tests, benchmarks)
        self.dirty = False
        self.unwritable = False
        # one flat array and an index: a few ms to read, however many glyphs
        stored = read_npz_cache(path, ("keys", "shapes", "flat"))
        if stored is None and seed is not None:
            stored = read_npz_cache(seed, ("keys", "shapes", "flat"))
        if stored is not None:  # (none yet, or unreadable: worked out again, rewritten)
            self.fields = _unpack(stored["keys"], stored["shapes"], stored["flat"])

    @staticmethod
    def key(data: np.ndarray, size: tuple[int, int]) -> str:
        digest = hashlib.blake2b(digest_size=16)
        digest.update(np.asarray(data.shape, np.int64).tobytes())
        digest.update(np.asarray(size, np.int64).tobytes())
        digest.update(np.ascontiguousarray(data).tobytes())
        return digest.hexdigest()

    def field(self, data: np.ndarray, size: tuple[int, int],
              compute: Callable[[np.ndarray, Any, tuple[int, int], tuple[int, int]], None]
              ) -> np.ndarray:
        """The (h, w, 3) uint8 field of ``data`` at ``size``: stored, or ``compute``d."""
        key = self.key(data, size)
        grey = self.fields.get(key)
        if grey is None or grey.shape != (size[1], size[0]):
            tile = np.zeros((size[1], size[0], 3), np.uint8)
            compute(data, tile, (0, 0), size)
            grey = tile[..., 0].copy()  # vispy repeats one channel three times
            if len(self.fields) < MAX_GLYPHS:
                self.fields[key] = grey
                self.dirty = True
            self.computed += 1
        return np.repeat(grey[..., np.newaxis], 3, axis=2)

    def stored_field(self, data: np.ndarray, size: tuple[int, int]) -> np.ndarray | None:
        """The (h, w) field of ``data`` at ``size`` if it is held (one channel)."""
        grey = self.fields.get(self.key(data, size))
        return grey if grey is not None and grey.shape == (size[1], size[0]) else None

    def save(self) -> bool:
        """Write the file if fields were added (atomically); False when nothing was due
        or the folder cannot be written (the cache is only ever a saving)."""
        if not self.dirty:
            return False
        fields = list(self.fields.values())
        if not write_npz_cache(self.path, {
                "keys": np.array(list(self.fields), dtype="U32"),
                "shapes": np.array([f.shape for f in fields], np.int64).reshape(-1, 2),
                "flat": np.concatenate([f.ravel() for f in fields]) if fields
                else np.zeros(0, np.uint8)}):
            self.unwritable = True  # (not tried again at every frame)
            return False
        self.dirty = False
        return True


def _unpack(keys: np.ndarray, shapes: np.ndarray, flat: np.ndarray) -> dict[str, np.ndarray]:
    """The fields of a saved file; none where its index and its bytes disagree."""
    ends = np.cumsum(shapes[:, 0] * shapes[:, 1]) if shapes.ndim == 2 else np.zeros(0)
    if len(keys) != len(ends) or (ends[-1] if len(ends) else 0) != flat.size:
        return {}
    starts = ends - shapes[:, 0] * shapes[:, 1]
    return {str(k): flat[a:b].reshape(int(h), int(w))
            for k, a, b, (h, w) in zip(keys, starts, ends, shapes, strict=True)}


distance_fields: DistanceFieldCache | None = None  # the installed cache, if any
vispy_distance_field: Any = None  # vispy's own renderer, once replaced (for the tests)


def cache_distance_fields(path: Path, seed: Path | None = None) -> DistanceFieldCache | None:
    """Serve vispy's CPU glyph distance fields from ``path`` (or ``seed`` while there is
    no such file; installed once); None where vispy's renderer is not as expected, and
    then nothing changes."""
    global distance_fields, vispy_distance_field
    if distance_fields is not None:
        return distance_fields
    try:
        from vispy.visuals.text.text import SDFRendererCPU
    except ImportError:
        return None
    compute = getattr(SDFRendererCPU, "render_to_texture", None)
    if compute is None:
        return None
    cache = DistanceFieldCache(path, seed)

    def render_to_texture(self: Any, data: np.ndarray, texture: Any,
                          offset: tuple[int, int], size: tuple[int, int]) -> None:
        field = cache.field(data, size, lambda *args: compute(self, *args))
        texture[offset[1]:offset[1] + size[1], offset[0]:offset[0] + size[0], :] = field

    SDFRendererCPU.render_to_texture = render_to_texture
    distance_fields, vispy_distance_field = cache, compute
    return cache
