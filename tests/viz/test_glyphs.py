"""The one-copy glyph bitmaps hold the bytes freetype-py's own property gives, for the
characters the map labels with, in vispy's font at the sizes it renders."""

import freetype
import numpy as np
import pytest
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


# -- the distance fields kept between launches ---------------------------------------------
def _padded_glyphs(chars="34.5°N Los Angeles −5 km"):
    """(data, size) as vispy's TextureFont hands them to its renderer: the 256 pt bitmap
    padded by the 32 px spread, stored at a quarter of that."""
    from vispy.util.fonts._freetype import _load_glyph

    font = {"face": "OpenSans", "size": 256, "bold": False, "italic": False}
    loaded: dict = {}
    out = []
    for char in dict.fromkeys(chars):
        _load_glyph(font, char, loaded)
        bitmap = loaded[char]["bitmap"]
        data = np.zeros((bitmap.shape[0] + 64, bitmap.shape[1] + 64), np.uint8)
        data[32:-32, 32:-32] = bitmap
        out.append((data, (data.shape[1] // 4, data.shape[0] // 4)))
    return out


def _vispy_fields(inputs):
    from vispy.visuals.text.text import SDFRendererCPU

    render = glyphs.vispy_distance_field or SDFRendererCPU.render_to_texture
    renderer = SDFRendererCPU()
    tiles = []
    for data, size in inputs:
        tile = np.zeros((size[1], size[0], 3), np.uint8)
        render(renderer, data, tile, (0, 0), size)
        tiles.append(tile)
    return render, renderer, tiles


def _never(*_args):
    raise AssertionError("a stored field was worked out again")


def test_stored_distance_fields_are_vispys_own_bytes_and_survive_a_restart(tmp_path):
    inputs = _padded_glyphs()
    render, renderer, want = _vispy_fields(inputs)
    path = tmp_path / "cache" / "fields.npz"
    cache = glyphs.DistanceFieldCache(path)
    assert cache.fields == {} and not cache.save()  # nothing yet, nothing to write
    for (data, size), tile in zip(inputs, want, strict=True):
        got = cache.field(data, size, lambda *a: render(renderer, *a))
        np.testing.assert_array_equal(got, tile)
    assert cache.computed == len(inputs) and cache.dirty
    assert cache.save() and path.exists() and not cache.dirty

    restarted = glyphs.DistanceFieldCache(path)  # the next launch: read, not worked out
    assert len(restarted.fields) == len(inputs)
    for (data, size), tile in zip(inputs, want, strict=True):
        np.testing.assert_array_equal(restarted.field(data, size, _never), tile)
    assert restarted.computed == 0 and not restarted.dirty
    assert sum(int(t.astype(bool).sum()) for t in want) > 1000  # real glyphs, not blanks

    # another size of the same glyph is another field, never the stored one
    data, size = inputs[0]
    other = (size[0] + 1, size[1])
    assert restarted.field(data, other, lambda *a: render(renderer, *a)).shape[:2] == (
        other[1], other[0])
    assert restarted.computed == 1


def test_an_unreadable_distance_field_file_is_worked_out_again_and_replaced(tmp_path):
    inputs = _padded_glyphs("N5")
    render, renderer, want = _vispy_fields(inputs)
    path = tmp_path / "fields.npz"
    path.write_bytes(b"PK\x03\x04 not a zip archive")
    cache = glyphs.DistanceFieldCache(path)
    assert cache.fields == {}
    for (data, size), tile in zip(inputs, want, strict=True):
        np.testing.assert_array_equal(cache.field(data, size, lambda *a: render(renderer, *a)),
                                      tile)
    assert cache.save()
    assert len(glyphs.DistanceFieldCache(path).fields) == len(inputs)


def test_a_folder_that_cannot_be_written_leaves_the_fields_in_memory(tmp_path):
    inputs = _padded_glyphs("N")
    render, renderer, want = _vispy_fields(inputs)
    blocked = tmp_path / "a file, not a folder"
    blocked.write_text("x")
    cache = glyphs.DistanceFieldCache(blocked / "fields.npz")
    (data, size), tile = inputs[0], want[0]
    np.testing.assert_array_equal(cache.field(data, size, lambda *a: render(renderer, *a)),
                                  tile)
    assert not cache.save() and cache.unwritable
    cache.save_soon()  # no write is tried again at each frame
    assert not cache._save_pending
    np.testing.assert_array_equal(cache.field(data, size, _never), tile)  # still served


# -- the fields shipped with the app (resources/glyphs) -------------------------------------
def _seed():
    import vispy

    from desktop_app.paths import resources_dir

    seed = glyphs.distance_field_file(resources_dir() / "glyphs")
    if not seed.exists():
        pytest.skip(f"no shipped glyph fields for vispy {vispy.__version__}: run "
                    "resources/glyphs/make_glyph_seed.py")
    return seed


def test_the_shipped_fields_are_vispys_own_and_seed_a_first_launch(tmp_path):
    seed = _seed()
    chars = "34.5°N 118.2°W Los Angeles −5 km Zürich Łódź"
    inputs = _padded_glyphs(chars)
    _render, _renderer, want = _vispy_fields(inputs)
    path = tmp_path / "cache" / "fields.npz"
    cache = glyphs.DistanceFieldCache(path, seed)  # a first launch: no file of its own
    assert len(cache.fields) >= 150
    for (data, size), tile in zip(inputs, want, strict=True):
        np.testing.assert_array_equal(cache.field(data, size, _never), tile)
    assert cache.computed == 0 and not cache.dirty and not cache.save()
    assert not path.exists()  # nothing new to keep: the seed serves it again next time


def test_the_users_own_file_wins_over_the_seed_and_keeps_what_it_added(tmp_path):
    seed = _seed()
    inputs = _padded_glyphs("N")
    render, renderer, _want = _vispy_fields(inputs)
    path = tmp_path / "fields.npz"
    cache = glyphs.DistanceFieldCache(path, seed)
    data, size = inputs[0]
    other = (size[0] + 3, size[1])  # a field the seed has not got
    cache.field(data, other, lambda *a: render(renderer, *a))
    assert cache.computed == 1 and cache.save()
    again = glyphs.DistanceFieldCache(path, seed)
    assert len(again.fields) == len(cache.fields)  # the seed's and the added one
    again.field(data, other, _never)


def test_the_fields_are_saved_when_the_application_quits(tmp_path, qapp):
    inputs = _padded_glyphs("5")
    render, renderer, _want = _vispy_fields(inputs)
    path = tmp_path / "fields.npz"
    cache = glyphs.DistanceFieldCache(path)
    cache.field(*inputs[0], lambda *a: render(renderer, *a))
    cache.save_at_quit()
    cache.save_at_quit()  # (connected once)
    assert not path.exists()
    qapp.aboutToQuit.emit()  # what QApplication.exec() emits as it returns
    assert path.exists() and not cache.dirty
    assert qapp.aboutToQuit.disconnect(cache.save)
