"""Names that become paths, temp files of killed writers, files that belong together,
and a failed write as one line: the file-system rules every writer goes through."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import xarray as xr

from desktop_app.errors import ConfigError, ModelError, WriteError
from desktop_app.fsutil import (
    STALE_PART_AGE_S,
    atomic_path,
    atomic_paths,
    atomic_write_bytes,
    clean_stale_parts,
    safe_name,
)
from tests.fsfaults import full_folder, readonly_folder


@pytest.mark.parametrize("name", ["../x", "..", ".", "a/b", "a\\b", "/etc", ".hidden",
                                  "-rf", "", "x" * 101, "a\x00b", "a b", "é"])
def test_unsafe_names_are_refused(name: str) -> None:
    with pytest.raises(ConfigError, match="cannot be used in a file name"):
        safe_name(name, "export.name")
    with pytest.raises(ModelError, match="model card: name"):
        safe_name(name, "model card: name", ModelError)


@pytest.mark.parametrize("name", ["downscaler", "toy-1.0.0", "v1.10.0+cu121", "A_b"])
def test_ordinary_names_pass(name: str) -> None:
    assert safe_name(name, "name") == name


def _killed_writer(target: Path) -> Path:
    """Start a real process that begins an atomic write of ``target``, SIGKILL it mid-
    write, and return the temp file it left behind."""
    code = ("import sys, time; from pathlib import Path; from desktop_app.fsutil import "
            "atomic_path\nwith atomic_path(Path(sys.argv[1])) as tmp:\n"
            "    tmp.write_bytes(b'half'); print(tmp, flush=True); time.sleep(60)\n")
    proc = subprocess.Popen([sys.executable, "-c", code, str(target)],
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    part = Path(proc.stdout.readline().strip())
    proc.kill()
    proc.wait()
    return part


def test_a_killed_writers_temp_file_is_removed_by_the_next_write(tmp_path: Path) -> None:
    target = tmp_path / "out.nc"
    part = _killed_writer(target)
    assert part.exists() and part.name.startswith(".out.nc.") and not target.exists()
    atomic_write_bytes(target, b"whole")
    assert not part.exists() and target.read_bytes() == b"whole"
    assert [p.name for p in tmp_path.iterdir()] == ["out.nc"]


def test_a_live_writers_temp_file_is_left_alone(tmp_path: Path) -> None:
    target = tmp_path / "out.nc"
    with atomic_path(target) as mine:
        mine.write_bytes(b"in progress")
        assert clean_stale_parts(target) == []  # our own process is alive
        assert mine.exists()


def test_old_temp_files_without_a_pid_go_after_a_day(tmp_path: Path) -> None:
    target = tmp_path / "out.nc"
    old, new = tmp_path / ".out.nc.k2j4x9q1.part", tmp_path / ".out.nc.a8b7c6d5.part"
    for p in (old, new):
        p.write_bytes(b"x")
    past = time.time() - STALE_PART_AGE_S - 10
    os.utime(old, (past, past))
    assert clean_stale_parts(target) == [old]
    assert new.exists()


def test_files_that_belong_together_land_together_or_not_at_all(tmp_path: Path) -> None:
    a, b = tmp_path / "r.csv", tmp_path / "r.json"
    with pytest.raises(RuntimeError), atomic_paths(a, b) as (ta, tb):
        ta.write_text("csv")
        raise RuntimeError("second file failed")
    assert list(tmp_path.iterdir()) == []
    with atomic_paths(a, b) as (ta, tb):
        ta.write_text("csv")
        tb.write_text("json")
    assert a.read_text() == "csv" and b.read_text() == "json"


def test_an_existing_directory_as_output_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "out.nc").mkdir()
    with pytest.raises(WriteError, match=r"cannot write .*out.nc: it is an existing dir"):
        atomic_write_bytes(tmp_path / "out.nc", b"x")


def test_a_full_disk_is_named_not_hdf_error(tmp_path: Path) -> None:
    ds = xr.Dataset({"t": ("x", range(100_000))})
    with full_folder(tmp_path) as folder:
        target = folder / "big.nc"
        with (pytest.raises(WriteError, match=f"no space left on device writing {target}"),
              atomic_path(target) as tmp):
            ds.to_netcdf(tmp, engine="netcdf4")
        with pytest.raises(WriteError, match="no space left on device"):
            atomic_write_bytes(folder / "raw.bin", b"x" * 200_000)
        assert list(folder.iterdir()) == []


def test_a_read_only_folder_is_named(tmp_path: Path) -> None:
    with (readonly_folder(tmp_path) as folder,
          pytest.raises(WriteError, match=r"cannot write .*x.json: (read-only|perm)")):
        atomic_write_bytes(folder / "x.json", b"{}")
