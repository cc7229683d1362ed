"""The decoded Natural Earth lines are kept in the user's cache between launches (issue 22:
start-up), mapped from one .npy file each, in a folder named after the bundled file's
name, size and time: the same arrays as a fresh decode."""

from __future__ import annotations

import numpy as np
import pytest

from desktop_app import paths
from desktop_app.viz.map_model import basemap


@pytest.fixture
def fresh_load():
    basemap._load.cache_clear()
    yield basemap._load
    basemap._load.cache_clear()


def _decoded_from_bundle(scale):
    with np.load(basemap.BASEMAP_DIR / f"basemap_{scale}.npz") as data:
        return {k: basemap._decode(data[f"{k}_xy"], data[f"{k}_starts"]) for k in basemap.KINDS}


def _assert_same(got, want):
    assert got.keys() == want.keys()
    for kind in want:
        for a, b in zip(got[kind], want[kind], strict=True):
            np.testing.assert_array_equal(a, b)


def test_the_second_launch_reads_the_decoded_lines(fresh_load, monkeypatch):
    want = _decoded_from_bundle("110m")
    _assert_same(fresh_load("110m"), want)
    stored = list(paths.cache_dir().glob("basemap_110m_*"))
    assert len(stored) == 1 and stored[0].is_dir()
    assert len(want["coastline"][0]) > 1000  # real coastlines

    basemap._load.cache_clear()  # the next launch: mapped, not decoded
    monkeypatch.setattr(basemap, "_decode", lambda *a: pytest.fail("decoded again"))
    again = fresh_load("110m")
    _assert_same(again, want)
    xy = again["coastline"][0]
    assert isinstance(xy, np.memmap) and not xy.flags.writeable  # nobody can change them


def test_an_unreadable_decoded_file_is_decoded_again_and_replaced(fresh_load):
    want = _decoded_from_bundle("110m")
    fresh_load("110m")
    (stored,) = paths.cache_dir().glob("basemap_110m_*")
    xy = stored / "coastline_xy.npy"
    xy.write_bytes(xy.read_bytes()[:1000])  # cut short
    basemap._load.cache_clear()
    _assert_same(fresh_load("110m"), want)
    assert {p.name for p in stored.iterdir()} == {  # rewritten whole
        f"{k}_{p}.npy" for k in basemap.KINDS for p in ("xy", "starts", "boxes")}
    basemap._load.cache_clear()
    _assert_same(fresh_load("110m"), want)


def test_another_bundled_file_gets_its_own_cache_entry(fresh_load, tmp_path, monkeypatch):
    original = fresh_load("110m")["coastline"][0]
    copy = tmp_path / "basemap"
    copy.mkdir()
    with np.load(basemap.BASEMAP_DIR / "basemap_110m.npz") as data:
        arrays = {k: data[k] for k in data.files}
    arrays["coastline_xy"] = arrays["coastline_xy"].copy()
    arrays["coastline_xy"][1] += 7  # one vertex moved: another file
    np.savez(copy / "basemap_110m.npz", **arrays)
    monkeypatch.setattr(basemap, "BASEMAP_DIR", copy)
    basemap._load.cache_clear()
    moved = fresh_load("110m")
    # its own entry, which replaces the earlier install's
    assert len(list(paths.cache_dir().glob("basemap_110m_*"))) == 1
    _assert_same(moved, _decoded_from_bundle("110m"))  # the moved file's lines
    assert not np.array_equal(moved["coastline"][0], original)
