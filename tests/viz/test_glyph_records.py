"""Glyphs served from the records are the glyphs vispy works out itself: the same
metrics, kerning, place in the atlas and distance field, for vispy's own font and the
characters map labels are written in (no GL context needed: the atlas only queues its
writes, which are caught here)."""

from __future__ import annotations

import numpy as np
import pytest
from vispy.visuals.text.text import SDFRendererCPU, TextureFont

from desktop_app.viz import glyph_records, glyphs
from desktop_app.viz.glyph_records import GlyphRecords, font_identity

LABELS = "34.5°N 118.2°W Los Angeles −5 km Zürich"
OTHER = "ŁódźŻ"  # characters the records have not got


def _font(bold: bool = False) -> tuple[TextureFont, list]:
    """A fresh TextureFont whose atlas writes are kept in the returned list."""
    font = TextureFont({"face": "OpenSans", "bold": bold, "italic": False}, SDFRendererCPU())
    writes: list = []
    atlas_type = type(font._atlas)

    class Kept(atlas_type):  # type: ignore[misc, valid-type]
        def __setitem__(self, key, value):
            writes.append((key, np.array(value, copy=True)))
            super().__setitem__(key, value)

    font._atlas.__class__ = Kept
    return font, writes


def _vispy_load(font: TextureFont, char: str) -> None:
    """vispy's own _load_char, whether or not the map canvas installed the records."""
    (glyph_records.vispy_load_char or TextureFont._load_char)(font, char)


def _field_of(data: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    render = glyphs.vispy_distance_field or SDFRendererCPU.render_to_texture
    tile = np.zeros((size[1], size[0], 3), np.uint8)
    render(SDFRendererCPU(), data, tile, (0, 0), size)
    return tile[..., 0].copy()


def _learned(path, chars=LABELS, bold=False) -> tuple[GlyphRecords, TextureFont, list]:
    records = GlyphRecords(path)
    font, writes = _font(bold)
    for char in dict.fromkeys(chars):
        _vispy_load(font, char)
        records.learn(font, char, _field_of)
    return records, font, writes


def _same_glyphs(got: dict, want: dict) -> None:
    assert got.keys() == want.keys()
    for char, glyph in want.items():
        for key in ("offset", "advance", "size", "texcoords", "kerning"):
            assert got[char][key] == glyph[key], (char, key)


def _same_writes(got: list, want: list) -> None:
    assert len(got) == len(want) > 0
    for (key_g, tile_g), (key_w, tile_w) in zip(got, want, strict=True):
        assert key_g == key_w
        np.testing.assert_array_equal(tile_g, tile_w)


@pytest.mark.parametrize("bold", [False, True])
def test_served_glyphs_are_vispys_own_after_a_restart(tmp_path, bold):
    path = tmp_path / "records.npz"
    records, vispy_font, vispy_writes = _learned(path, bold=bold)
    assert records.learned == len(set(LABELS)) and records.save() and path.exists()

    restarted = GlyphRecords(path)  # the next launch
    font, writes = _font(bold)
    for char in dict.fromkeys(LABELS):
        assert restarted.serve(font, char)
    _same_glyphs(font._glyphs, vispy_font._glyphs)
    _same_writes(writes, vispy_writes)
    assert restarted.served == len(set(LABELS)) and not restarted.dirty
    assert sum(1 for g in font._glyphs.values() for k in g["kerning"].values() if k) > 0
    assert sum(int(t.astype(bool).sum()) for _, t in writes) > 1000  # real glyphs


def test_a_new_character_after_served_ones_kerns_as_vispy_does(tmp_path):
    """Characters the records lack take vispy's path next to served ones (their kerning
    with those comes from FreeType), and join the records when they are next written;
    the set stays closed: the kerning of every recorded pair is known."""
    path = tmp_path / "records.npz"
    first, _, _ = _learned(path, "Los Angeles")
    first.save()
    sequence = "Lo" + OTHER + "s Angeles" + OTHER

    want, want_writes = _font()
    for char in dict.fromkeys(sequence):
        _vispy_load(want, char)
    records = GlyphRecords(path)
    got, got_writes = _font()
    for char in dict.fromkeys(sequence):
        if not records.serve(got, char):
            _vispy_load(got, char)
            records.learn(got, char, _field_of)
    _same_glyphs(got._glyphs, want._glyphs)
    _same_writes(got_writes, want_writes)
    assert records.learned == len(set(OTHER)) and records.save()

    again = GlyphRecords(path)
    later, later_writes = _font()
    for char in dict.fromkeys(sequence):
        assert again.serve(later, char)
    _same_glyphs(later._glyphs, want._glyphs)
    _same_writes(later_writes, want_writes)


def test_records_of_other_font_files_are_never_served(tmp_path, monkeypatch):
    path = tmp_path / "records.npz"
    records, _, _ = _learned(path, "N5")
    records.save()
    ident = font_identity({"face": "OpenSans", "bold": False, "italic": False, "size": 256})
    assert ident is not None and "OpenSans-Regular.ttf" in ident and "libfreetype" in ident
    # another FreeType library or font file (here: their stamps) is another identity
    monkeypatch.setattr(glyph_records, "_stamp", lambda p: f"{p.name} 1 2")
    font, writes = _font()
    assert not GlyphRecords(path).serve(font, "N")
    assert font._glyphs == {} and writes == []
    # a font vispy looks up among the system's is not recorded at all
    assert font_identity({"face": "DejaVu Sans", "bold": False, "italic": False,
                          "size": 256}) is None


def test_an_unreadable_or_inconsistent_file_serves_nothing(tmp_path):
    path = tmp_path / "records.npz"
    path.write_bytes(b"PK\x03\x04 not a zip archive")
    assert GlyphRecords(path).sets == {}
    records, _, _ = _learned(path, "N5")
    assert records.save()  # replaced
    arrays = dict(np.load(path))
    arrays["flat"] = arrays["flat"][:-1]  # a field cut short
    np.savez(path, **arrays)
    assert GlyphRecords(path).sets == {}


def test_a_folder_that_cannot_be_written_keeps_the_records_in_memory(tmp_path):
    blocked = tmp_path / "a file, not a folder"
    blocked.write_text("x")
    records, _, _ = _learned(blocked / "records.npz", "N")
    assert not records.save() and records.unwritable
    records.save_soon()  # not tried again at every frame
    assert not records._save_pending
    font, _ = _font()
    assert records.serve(font, "N")
