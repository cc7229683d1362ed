"""packaging/addons.py: which of the bundle's files leave for the GRIB add-on, on the real
libraries of the venv's ecCodes wheel (no bundle build: the TOC entries are the ones
PyInstaller writes, see build/bundle-test/work/microclimate/Analysis-00.toc)."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]
FREETYPE = Path("/usr/lib/x86_64-linux-gnu/libfreetype.so.6")


@pytest.fixture(scope="module")
def addons() -> Iterator[ModuleType]:
    with pytest.MonkeyPatch.context() as mp:
        mp.syspath_prepend(str(ROOT / "packaging"))  # as the spec imports it
        mp.delitem(sys.modules, "addons", raising=False)
        yield importlib.import_module("addons")


@pytest.fixture(scope="module")
def lib64() -> Path:
    eccodeslib = pytest.importorskip("eccodeslib")
    return Path(eccodeslib.__file__).parent / "lib64"


def test_grib_files_leave_and_the_base_keeps_what_it_loads(addons: ModuleType,
                                                          lib64: Path) -> None:
    if not FREETYPE.is_file():
        pytest.skip("no system libfreetype to stand for a base library")
    site = lib64.parents[1]
    binaries = [
        ("eccodeslib/lib64/libeccodes.so", str(lib64 / "libeccodes.so"), "BINARY"),
        ("eccodeslib/lib64/libpng16.so.16", str(lib64 / "libpng16.so.16"), "BINARY"),
        # a loose copy that only libeccodes.so loads: it goes with the add-on
        ("libopenjp2.so.7", str(lib64 / "libopenjp2.so.7"), "BINARY"),
        # the system's freetype loads libpng16.so.16, which PyInstaller satisfied with the
        # top-level link to ecCodes' copy
        ("libfreetype.so.6", str(FREETYPE), "BINARY"),
    ]
    datas = [
        ("libpng16.so.16", "eccodeslib/lib64/libpng16.so.16", "SYMLINK"),
        ("libeccodes.so", "eccodeslib/lib64/libeccodes.so", "SYMLINK"),
        ("cfgrib/__init__.pyc", str(site / "cfgrib" / "__init__.py"), "DATA"),
        ("cfgrib-0.9.15.1.dist-info/entry_points.txt", "x", "DATA"),
        ("gribapi/eccodes.h", "x", "DATA"),
        ("xarray/static/css/style.css", "x", "DATA"),
        ("attrs-26.1.0.dist-info/METADATA", "x", "DATA"),
    ]
    binaries, datas, addon = addons.split_grib(list(binaries), list(datas))
    assert addon == {"eccodeslib/lib64/libeccodes.so", "eccodeslib/lib64/libpng16.so.16",
                     "libopenjp2.so.7", "libeccodes.so", "cfgrib/__init__.pyc",
                     "cfgrib-0.9.15.1.dist-info/entry_points.txt", "gribapi/eccodes.h"}
    # the link freetype needs is now a real copy in the base
    assert ("libpng16.so.16", str(lib64 / "libpng16.so.16"), "BINARY") in binaries
    assert not [e for e in datas if e[0] == "libpng16.so.16"]


def test_only_grib_metadata_is_grib(addons: ModuleType) -> None:
    grib = [("cfgrib-0.9.15.1.dist-info/METADATA", "x", "DATA"),
            ("eccodes-2.44.0.dist-info/RECORD", "x", "DATA"),
            ("eckitlib.libs/libproj-e5164a33.so.25.9.8.1", "x", "BINARY")]
    base = [("cffi-2.0.0.dist-info/METADATA", "x", "DATA"),
            ("findlibs/__init__.pyc", "x", "DATA"),
            ("libpng16-75ba44f9.so.16.50.0", "rasterio.libs/libpng16-75ba44f9.so.16.50.0",
             "SYMLINK")]
    assert all(addons.is_grib(e) for e in grib)
    assert not any(addons.is_grib(e) for e in base)
