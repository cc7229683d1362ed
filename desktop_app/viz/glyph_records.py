"""vispy's glyph records, kept between launches: a label's characters without FreeType.

The first time a process draws a character, vispy's ``TextureFont._load_char`` imports
FreeType (~30 ms, once), renders the glyph at 256 pt, works out its kerning against
every glyph the font holds (two FreeType calls a pair: quadratic in the labels'
characters) and turns the bitmap into a distance field (:mod:`glyphs` keeps those). On
the 2-core machine that was 60-90 ms of the first map frame, the same at every launch.
What vispy keeps of a glyph is small: its offset, advance and bitmap size, its field,
and its kerning with the other glyphs. :class:`GlyphRecords` keeps exactly that, per
font, for a closed set of characters (the kerning of every pair in the set is known),
and hands vispy a character from it; a returning user's first frame then needs no
FreeType at all. A character outside the set takes vispy's own path, and the set grows
by it when the file is next written.

A record depends on vispy (its font sizes and renderer), the font file and the FreeType
library freetype-py loads. The file says which (vispy's version; each file's size and
modification time), and a record made with other files is never served. Fonts that
vispy looks up among the system's, or a FreeType that is not freetype-py's own copy,
are not recorded.
"""

from __future__ import annotations

import importlib.util
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from desktop_app.fsutil import read_npz_cache, write_npz_cache
from desktop_app.viz.glyphs import SavedLater

MAX_CHARS = 512  # per font: its kerning table is square in this
_LIBRARY = {"win32": "libfreetype.dll", "darwin": "libfreetype.dylib"}.get(
    sys.platform, "libfreetype.so")  # the name freetype-py looks for in its own folder
_ARRAYS = ("fonts", "glyph_font", "glyph_char", "glyph_metrics", "flat",
           "kern_font", "kern_pair", "kern_value")


def records_file(folder: Path) -> Path:
    import vispy

    return folder / f"glyph-records-vispy-{vispy.__version__}.npz"


def _stamp(path: Path) -> str:
    st = path.stat()
    return f"{path.name} {st.st_size} {st.st_mtime_ns}"


def font_identity(font: dict[str, Any]) -> str | None:
    """What a glyph of ``font`` (a vispy TextureFont's font dict) depends on, as text;
    None where that cannot be pinned down (then nothing of the font is recorded)."""
    try:
        import vispy
        from vispy.util.fonts._vispy_fonts import _get_vispy_font_filename, _vispy_fonts

        spec = importlib.util.find_spec("freetype")
        if font["face"] not in _vispy_fonts or spec is None:
            return None
        folders = list(spec.submodule_search_locations or [])
        if not folders:
            return None
        font_file = Path(_get_vispy_font_filename(font["face"], font["bold"],
                                                  font["italic"]))
        return (f"vispy {vispy.__version__}; {font['face']} bold={bool(font['bold'])} "
                f"italic={bool(font['italic'])} size={font['size']}; "
                f"{_stamp(font_file)}; {_stamp(Path(folders[0]) / _LIBRARY)}")
    except (ImportError, ValueError, KeyError, OSError):
        return None


@dataclass
class Glyph:
    left: int
    top: int
    advance: float
    rows: int  # the 256 pt bitmap's size: it sets the glyph's place in the atlas
    cols: int
    field: np.ndarray  # (h, w) uint8: the distance field, one channel


@dataclass
class FontSet:
    """The recorded glyphs of one font; ``kerning`` holds the non-zero pairs among them
    (``(a, b)``: the kerning of ``b`` after ``a``), every other pair among them is 0."""

    glyphs: dict[str, Glyph] = field(default_factory=dict)
    kerning: dict[tuple[str, str], float] = field(default_factory=dict)


def _field_shape(font: Any, rows: int, cols: int) -> tuple[int, int]:
    """(h, w) of a glyph's field in ``font``'s atlas, as vispy's ``_load_char`` sizes it."""
    spread, ratio = font._spread, font.ratio
    return (rows + 2 * spread) // ratio, (cols + 2 * spread) // ratio


class GlyphRecords(SavedLater):
    """The records in one file, read once; written (atomically) when glyphs were added."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.sets: dict[str, FontSet] = {}
        self.served = 0  # characters handed out from the records in this process
        self.learned = 0  # characters vispy worked out since the file was last written
        self.learned_here = 0  # ... in this process
        self.unwritable = False
        self.dirty = False  # glyphs were learned since the file was last written
        self._fonts: dict[int, tuple[Any, str | None]] = {}  # id(TextureFont) -> identity
        stored = read_npz_cache(path, _ARRAYS)
        if stored is not None:
            self.sets = _unpack(stored)

    # -- serving ------------------------------------------------------------------------
    def identity(self, font: Any) -> str | None:
        known = self._fonts.get(id(font))
        if known is None or known[0] is not font:
            known = (font, font_identity(font._font))
            self._fonts[id(font)] = known
        return known[1]

    def serve(self, font: Any, char: str) -> bool:
        """Put ``char`` into vispy's ``font`` (a TextureFont) as its own ``_load_char``
        would; False where it is not recorded (nothing is changed then)."""
        ident = self.identity(font)
        fs = self.sets.get(ident) if ident is not None else None
        rec = fs.glyphs.get(char) if fs is not None else None
        if fs is None or rec is None or rec.field.shape != _field_shape(font, rec.rows,
                                                                          rec.cols):
            return False
        h, w = rec.field.shape
        glyph: dict[str, Any] = {"char": char, "offset": (rec.left, rec.top),
                                 "advance": rec.advance, "kerning": {}}
        loaded = font._glyphs
        loaded[char] = glyph
        for other, other_glyph in loaded.items():  # itself included, as vispy does
            glyph["kerning"][other] = self._kerning(font, fs, other, char)
            other_glyph["kerning"][char] = self._kerning(font, fs, char, other)
        atlas = font._atlas
        region = atlas.get_free_region(w + 2, h + 2)
        if region is None:
            raise RuntimeError("Cannot store glyph")  # (vispy's own words)
        x, y = region[0] + 1, region[1] + 1
        atlas[y:y + h, x:x + w, :] = np.repeat(rec.field[..., np.newaxis], 3, axis=2)
        glyph.update(size=(w, h), texcoords=(x / float(atlas.shape[1]),
                                             y / float(atlas.shape[0]),
                                             (x + w) / float(atlas.shape[1]),
                                             (y + h) / float(atlas.shape[0])))
        self.served += 1
        return True

    @staticmethod
    def _kerning(font: Any, fs: FontSet, a: str, b: str) -> float:
        if a in fs.glyphs and b in fs.glyphs:
            return fs.kerning.get((a, b), 0.0)
        return _freetype_kerning(font._font, a, b)

    # -- learning and writing -------------------------------------------------------------
    def learn(self, font: Any, char: str, field_of: Any) -> None:
        """Remember ``char``, which vispy just loaded into ``font``; ``field_of(data,
        size)`` gives its distance field (the field cache) or None."""
        ident = self.identity(font)
        glyph = font._glyphs.get(char)
        if ident is None or glyph is None or "bitmap" not in glyph:
            return
        fs = self.sets.setdefault(ident, FontSet())
        if char in fs.glyphs or len(fs.glyphs) >= MAX_CHARS:
            return
        bitmap = glyph["bitmap"]
        rows, cols = bitmap.shape
        data = np.zeros((rows + 2 * font._spread, cols + 2 * font._spread), np.uint8)
        data[font._spread:rows + font._spread, font._spread:cols + font._spread] = bitmap
        grey = field_of(data, glyph["size"])
        if grey is None or grey.shape != _field_shape(font, rows, cols):
            return
        # the pairs with the glyphs loaded here come from vispy; the others (recorded
        # glyphs this process never loaded) are asked of FreeType, so the set stays closed
        for other in [*fs.glyphs, char]:
            for a, b in ((other, char), (char, other)):
                k = (font._glyphs[b]["kerning"].get(a) if a in font._glyphs
                     and b in font._glyphs else None)
                k = _freetype_kerning(font._font, a, b) if k is None else float(k)
                if k:
                    fs.kerning[(a, b)] = k
        fs.glyphs[char] = Glyph(int(glyph["offset"][0]), int(glyph["offset"][1]),
                                float(glyph["advance"]), rows, cols, grey)
        self.learned += 1
        self.learned_here += 1
        self.dirty = True

    def save(self) -> bool:
        """Write the file if glyphs were added; False when nothing was due or the folder
        cannot be written (the records are only ever a saving)."""
        if not self.dirty or self.unwritable:
            return False
        if not write_npz_cache(self.path, _pack(self.sets)):
            self.unwritable = True
            return False
        self.learned = 0
        self.dirty = False
        return True


def _freetype_kerning(font: dict[str, Any], a: str, b: str) -> float:
    """The kerning of ``b`` after ``a`` as vispy's ``_load_glyph`` works it out."""
    from vispy.util.fonts._freetype import _load_font

    face = _load_font(font["face"], font["bold"], font["italic"])
    face.set_char_size(font["size"] * 64)
    return float(face.get_kerning(a, b).x / 64.0)


def _pack(sets: dict[str, FontSet]) -> dict[str, np.ndarray]:
    idents = list(sets)
    glyphs = [(i, c, g) for i, ident in enumerate(idents) for c, g in sets[ident].glyphs.items()]
    kerns = [(i, a + b, k) for i, ident in enumerate(idents)
             for (a, b), k in sets[ident].kerning.items()]
    return {
        "fonts": np.array(idents, dtype=str),
        "glyph_font": np.array([i for i, _, _ in glyphs], np.int64),
        "glyph_char": np.array([c for _, c, _ in glyphs], dtype="U1"),
        "glyph_metrics": np.array([(g.left, g.top, g.advance, g.rows, g.cols, *g.field.shape)
                                   for _, _, g in glyphs], np.float64).reshape(-1, 7),
        "flat": (np.concatenate([g.field.ravel() for _, _, g in glyphs]) if glyphs
                 else np.zeros(0, np.uint8)),
        "kern_font": np.array([i for i, _, _ in kerns], np.int64),
        "kern_pair": np.array([p for _, p, _ in kerns], dtype="U2"),
        "kern_value": np.array([k for _, _, k in kerns], np.float64),
    }


def _unpack(stored: dict[str, np.ndarray]) -> dict[str, FontSet]:
    """The sets of a written file; none where its parts disagree with each other."""
    metrics = stored["glyph_metrics"]
    n = len(stored["glyph_char"])
    if metrics.shape != (n, 7) or len(stored["glyph_font"]) != n or not (
            len(stored["kern_font"]) == len(stored["kern_pair"]) == len(stored["kern_value"])):
        return {}
    sizes = (metrics[:, 5] * metrics[:, 6]).astype(np.int64)
    if int(sizes.sum()) != stored["flat"].size:
        return {}
    idents = [str(s) for s in stored["fonts"]]
    sets = {ident: FontSet() for ident in idents}
    ends = np.cumsum(sizes)
    try:
        for i, char, row, end, size in zip(stored["glyph_font"], stored["glyph_char"],
                                           metrics, ends, sizes, strict=True):
            left, top, advance, rows, cols, h, w = row
            grey = stored["flat"][end - size:end].reshape(int(h), int(w))
            sets[idents[i]].glyphs[str(char)] = Glyph(int(left), int(top), float(advance),
                                                      int(rows), int(cols), grey)
        for i, pair, k in zip(stored["kern_font"], stored["kern_pair"],
                              stored["kern_value"], strict=True):
            pair = str(pair)
            sets[idents[i]].kerning[(pair[0], pair[1])] = float(k)
    except (IndexError, ValueError):
        return {}
    return sets


records: GlyphRecords | None = None  # the installed records, if any
vispy_load_char: Any = None  # vispy's own TextureFont._load_char, once replaced


def serve_glyph_records(path: Path) -> GlyphRecords | None:
    """Serve vispy's label characters from the records in ``path`` (installed once);
    None where vispy's TextureFont is not as expected, and then nothing changes."""
    global records, vispy_load_char
    if records is not None:
        return records
    try:
        from vispy.visuals.text.text import TextureFont
    except ImportError:
        return None
    load_char = getattr(TextureFont, "_load_char", None)
    if load_char is None:
        return None
    from desktop_app.viz import glyphs

    kept = GlyphRecords(path)

    def _load_char(self: Any, char: str) -> None:
        if kept.serve(self, char):
            return
        glyphs.fast_glyph_bitmaps()  # FreeType is needed after all: its faster bitmaps
        load_char(self, char)
        cache = glyphs.distance_fields
        if cache is not None:
            kept.learn(self, char, cache.stored_field)

    TextureFont._load_char = _load_char
    records, vispy_load_char = kept, load_char
    return kept
