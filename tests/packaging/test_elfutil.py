"""packaging/elfutil.py on a real library: the PROJ copy that the eckitlib wheel vendors
(auditwheel, patchelf), whose debug sections strip cannot remove without breaking it."""

from __future__ import annotations

import importlib.util
import struct
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _elfutil() -> ModuleType:
    spec = importlib.util.spec_from_file_location("elfutil", ROOT / "packaging" / "elfutil.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


elfutil = _elfutil()


@pytest.fixture(scope="module")
def eckit_proj() -> Path:
    found = importlib.util.find_spec("eckitlib")
    if found is None or not found.origin or sys.platform != "linux":
        pytest.skip("no eckitlib wheel (Linux) installed")
    libs = sorted((Path(found.origin).parent.parent / "eckitlib.libs").glob("libproj-*"))
    if not libs:
        pytest.skip("this eckitlib wheel vendors no PROJ")
    return libs[0]


# PROJ's PJ_INFO as proj_info() returns it (proj.h): three ints, then strings
PROBE = """
import ctypes, sys
class Info(ctypes.Structure):
    _fields_ = [("major", ctypes.c_int), ("minor", ctypes.c_int), ("patch", ctypes.c_int),
                ("release", ctypes.c_char_p), ("version", ctypes.c_char_p)]
lib = ctypes.CDLL(sys.argv[1])
lib.proj_info.restype = Info
info = lib.proj_info()
print(info.major, info.minor, info.patch, info.release.decode())
"""


def _probe(path: Path) -> str:
    proc = subprocess.run([sys.executable, "-c", PROBE, str(path)], capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_trim_drops_debug_info_and_keeps_the_loaded_image(eckit_proj, tmp_path):
    data = eckit_proj.read_bytes()
    new = elfutil.trimmed(data)
    assert new is not None and len(new) < len(data) // 4  # 87 -> 5 MB for PROJ 9.8
    phoff, = struct.unpack_from("<Q", data, 0x20)
    phnum, = struct.unpack_from("<H", data, 0x38)
    for k in range(phnum):
        old = elfutil._PHDR.unpack_from(data, phoff + k * 56)
        got = elfutil._PHDR.unpack_from(new, phoff + k * 56)
        assert got[:2] + got[3:] == old[:2] + old[3:]  # all but the file offset
        if old[0] == 1:  # PT_LOAD: same bytes, the loader's alignment rule holds
            assert (got[3] - got[2]) % got[7] == 0
            if old[2] > 0:  # (the first one holds the headers, which changed)
                assert new[got[2]:got[2] + got[5]] == data[old[2]:old[2] + old[5]]
    assert elfutil.trimmed(new) is None  # nothing left to drop
    # the trimmed copy loads beside the original's neighbours and runs PROJ's code
    copy = tmp_path / eckit_proj.name
    for neighbour in eckit_proj.parent.iterdir():
        if neighbour.name != eckit_proj.name:
            (tmp_path / neighbour.name).symlink_to(neighbour)
    copy.write_bytes(new)
    got = _probe(copy)
    assert "Rel." in got  # e.g. "9 8 1 Rel. 9.8.1, ..."
    assert got == _probe(eckit_proj)


def test_trim_refuses_what_is_not_elf64():
    assert elfutil.trimmed(b"not an ELF file at all" * 10) is None
    assert elfutil.needed(ROOT / "pyproject.toml") == []


def test_needed_reads_dt_needed(eckit_proj):
    names = elfutil.needed(eckit_proj)
    assert "libc.so.6" in names
    assert any(name.startswith("libsqlite3-") for name in names)  # PROJ's database engine
