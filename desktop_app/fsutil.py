"""Atomic file writes (nothing a user made is ever left half-written or clobbered), the
one check for names that become paths, and the one way to read a whole NetCDF file with
a clear error.

Temp files are named ``.NAME.PID.XXXXXXXX.part`` beside the target. A process killed
mid-write (SIGKILL, power loss) cannot remove its own; the next write of the same name
removes every such file whose process is gone (:func:`clean_stale_parts`).
"""

from __future__ import annotations

import contextlib
import errno
import glob
import hashlib
import os
import re
import shutil
import tempfile
import time
import zipfile
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import xarray as xr

from desktop_app.errors import ConfigError, DataFileError, MicroclimateError, WriteError

# A name that becomes one path component: starts with a letter or digit (so never "."
# "..", a hidden file or an option), then letters, digits and . _ + - only.
_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,99}$")
# A temp file of a writer that died without a PID in its name (older versions) is
# removed once it is this old; one with a PID as soon as that process is gone.
STALE_PART_AGE_S = 24 * 3600
fcntl: ModuleType | None
try:
    import fcntl
except ImportError:  # Windows: no advisory locks; folder_lock only records the PID
    fcntl = None
_NO_SPACE = {errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC), errno.EFBIG}


def safe_name(value: object, what: str,
              error: type[MicroclimateError] = ConfigError) -> str:
    """``value`` if it can be used as one file or folder name, else ``error`` naming
    ``what``: no separators, no ``..``, no leading dot or dash, at most 100 characters."""
    if not isinstance(value, str) or not _SAFE_NAME.match(value):
        raise error(f"{what} {value!r} cannot be used in a file name: use letters, digits "
                    "and . _ + - (at most 100, starting with a letter or digit)")
    return value


def inside(root: Path, path: Path, what: str) -> Path:
    """``path`` resolved, if it lies inside ``root`` (symlinks followed), else an error."""
    resolved, base = Path(path).resolve(), Path(root).resolve()
    if not resolved.is_relative_to(base):
        raise ConfigError(f"{what} {path} is outside {root}")
    return resolved


def write_error(path: Path, exc: BaseException) -> WriteError | None:
    """One clear line for a failed write of ``path``, or None when ``exc`` is not about
    the write (a bug or a bad input inside the ``with`` block stays what it is)."""
    path = Path(path)
    code = exc.errno if isinstance(exc, OSError) else None
    # libraries report a full disk in their own words: netCDF/HDF5 as "HDF error" or even
    # "Permission denied", Qt's image writer as "Unknown error"; so look at the disk
    if code in _NO_SPACE or (code in (None, errno.EACCES, errno.EPERM, errno.EIO)
                             and _disk_full(path.parent)):
        return WriteError(f"no space left on device writing {path}")
    if code == errno.EROFS:
        return WriteError(f"cannot write {path}: read-only file system")
    if code == errno.EISDIR or path.is_dir():
        return WriteError(f"cannot write {path}: it is an existing directory")
    folder = path.parent
    if code in (errno.EACCES, errno.EPERM) or (folder.is_dir() and not os.access(
            folder, os.W_OK)):
        return WriteError(f"cannot write {path}: permission denied (folder {folder} is "
                          "read-only for this user)")
    if isinstance(exc, OSError) and code is not None and exc.filename in (None, str(path)):
        return WriteError(f"cannot write {path}: {exc.strerror or exc}")
    return None


def check_writable(path: Path) -> None:
    """Fail fast, before any work, when ``path`` cannot be written: a directory in the
    way, a file where a folder should be, a read-only or missing-permission folder."""
    path = Path(path)
    if path.is_dir():
        raise WriteError(f"cannot write {path}: it is an existing directory")
    folder = path.parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent  # atomic_path creates the missing folders
    if not folder.is_dir():
        raise WriteError(f"cannot write {path}: {folder} is a file, not a folder")
    if not os.access(folder, os.W_OK):
        try:
            read_only = bool(os.statvfs(folder).f_flag & os.ST_RDONLY)
        except (OSError, AttributeError):
            read_only = False
        raise WriteError(f"cannot write {path}: " + ("read-only file system" if read_only
                         else f"permission denied (folder {folder} is read-only for this "
                              "user)"))


def _disk_full(folder: Path) -> bool:
    try:
        return folder.is_dir() and shutil.disk_usage(folder).free < 1024 * 1024
    except OSError:
        return False


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's live process
    return True


def clean_stale_parts(path: Path) -> list[Path]:
    """Remove the temp files of earlier writes of ``path`` whose writer is gone."""
    path = Path(path)
    removed: list[Path] = []
    prefix = f".{path.name}."
    for part in path.parent.glob(glob.escape(prefix) + "*.part"):
        middle = part.name[len(prefix):-len(".part")].split(".")
        try:
            if middle[0].isdigit() and len(middle) == 2:
                if int(middle[0]) == os.getpid() or _pid_alive(int(middle[0])):
                    continue
            elif time.time() - part.stat().st_mtime < STALE_PART_AGE_S:
                continue
            part.unlink()
            removed.append(part)
        except OSError:
            continue  # another process removed it first, or it is not ours to remove
    return removed

GRID_MAPPING = "crs"  # the grid-mapping variable the CF writer adds to gridded files


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temp file in the same folder and a rename."""
    with atomic_path(path) as tmp, open(tmp, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


# what reading an .npz can raise on a missing, truncated or foreign file
NPZ_UNREADABLE = (OSError, KeyError, ValueError, zipfile.BadZipFile, EOFError)


def read_npz_cache(path: Path, names: Iterable[str]) -> dict[str, np.ndarray] | None:
    """The named arrays of a cache file; None where it is missing, unreadable or lacks
    one of them (a cache is worked out again then, never an error)."""
    try:
        with np.load(path) as stored:
            return {name: stored[name] for name in names}
    except NPZ_UNREADABLE:
        return None


def write_npz_cache(path: Path, arrays: Mapping[str, np.ndarray]) -> bool:
    """Write ``arrays`` to ``path`` atomically (uncompressed: read back in a few ms);
    False where it cannot be written (a cache is only a saving)."""
    save: Any = np.savez  # (its stubs take the array names for its own flags)
    try:
        with atomic_path(path) as tmp, open(tmp, "wb") as handle:
            save(handle, **arrays)
    except (OSError, MicroclimateError):
        return False
    return True


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """Yield a temp path beside ``path``; on success rename it over ``path``.

    On any exception (including cancel) the temp file is removed and ``path`` is left
    exactly as it was; a failure of the write itself (disk full, read-only folder, a
    directory in the way) is a :class:`WriteError` naming ``path``.
    """
    path = Path(path)
    if path.is_dir():
        raise WriteError(f"cannot write {path}: it is an existing directory")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        clean_stale_parts(path)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.{os.getpid()}.",
                                        suffix=".part", dir=path.parent)
    except OSError as exc:
        raise (write_error(path, exc) or WriteError(f"cannot write {path}: {exc}")) from exc
    os.close(fd)
    tmp = Path(tmp_name)
    os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; a user's file gets the usual mode
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException as exc:
        tmp.unlink(missing_ok=True)
        if isinstance(exc, WriteError) or not isinstance(exc, Exception):
            raise
        if isinstance(exc, MicroclimateError):
            if _disk_full(path.parent):  # a writer's own error, caused by the full disk
                raise WriteError(f"no space left on device writing {path}") from exc
            raise
        clear = write_error(path, exc)
        if clear is None:
            raise
        raise clear from exc


@contextlib.contextmanager
def atomic_paths(*paths: Path) -> Iterator[tuple[Path, ...]]:
    """Temp paths for files that belong together (a model and its card, a report's CSV
    and JSON): all are renamed into place only after every one was written, so a failure
    while writing any of them leaves none."""
    with contextlib.ExitStack() as stack:
        yield tuple(stack.enter_context(atomic_path(p)) for p in paths)


@contextlib.contextmanager
def folder_lock(folder: Path, what: str,
                error: type[MicroclimateError] = ConfigError) -> Iterator[None]:
    """Hold ``folder`` for this process (an exclusive lock on ``folder/.lock``, released
    by the kernel if the process dies): a second process is refused with one line."""
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        handle = open(folder / ".lock", "a+", encoding="utf-8")  # noqa: SIM115
    except OSError as exc:
        raise (write_error(folder / ".lock", exc) or WriteError(
            f"cannot write {folder / '.lock'}: {exc}")) from exc
    try:
        if fcntl is not None:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                handle.seek(0)
                holder = handle.read().strip() or "?"
                raise error(f"{what} {folder} is in use by another process (pid {holder}); "
                            "wait for it to finish or choose another folder") from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        yield
    finally:
        handle.close()  # closing releases the lock


def sha256_file(path: Path) -> str:
    """The file's SHA-256 as hex, read in 1 MiB blocks (model files run to hundreds of MB)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def check_grib_framing(path: Path, what: str = "GRIB file") -> int:
    """Count the messages of a GRIB file by their framing alone (``GRIB``, the length in
    the header, ``7777`` at the end), without ecCodes: a truncated or corrupt file is one
    :class:`DataFileError` here, where ecCodes would log a traceback and may crash the
    process at exit (a double free) after cfgrib returned part of the file."""
    path = Path(path)
    try:
        size = path.stat().st_size
        with open(path, "rb") as handle:
            count, pos = 0, 0
            while pos < size:
                handle.seek(pos)
                window = handle.read(1 << 16)
                skip = window.find(b"GRIB")  # writers pad messages (GRIB1 to 120 bytes)
                if skip < 0:
                    break  # trailing padding, as ecCodes tolerates
                pos += skip
                head = window[skip:skip + 16]
                if len(head) < 16:
                    raise DataFileError(f"{what} {path} is truncated: message {count + 1} "
                                        "has no complete header")
                if head[7] == 1:
                    length = int.from_bytes(head[4:7], "big")
                    if length & 0x800000:
                        return count + 1  # GRIB1 "large message" scaling: leave to ecCodes
                elif head[7] == 2:
                    length = int.from_bytes(head[8:16], "big")
                else:
                    raise DataFileError(f"{what} {path}: message {count + 1} has unknown "
                                        f"GRIB edition {head[7]}")
                if length < 16 or pos + length > size:
                    raise DataFileError(f"{what} {path} is truncated: message {count + 1} "
                                        f"needs {length} bytes, {size - pos} are left")
                handle.seek(pos + length - 4)
                if handle.read(4) != b"7777":
                    raise DataFileError(f"{what} {path} is corrupt: message {count + 1} "
                                        "does not end with 7777")
                count, pos = count + 1, pos + length
    except OSError as exc:
        raise DataFileError(f"cannot read {what} {path}: {exc.strerror or exc}") from exc
    if count == 0:
        raise DataFileError(f"{what} {path} holds no GRIB messages")
    return count


def is_grib(path: Path) -> bool:
    try:
        with open(path, "rb") as handle:
            return handle.read(4) == b"GRIB"
    except OSError:
        return False


def load_netcdf(path: Path | str, what: str = "data", engine: str | None = None) -> xr.Dataset:
    """Open and fully load a NetCDF file; a missing, truncated or unreadable file is one
    :class:`DataFileError` line naming ``what`` and the path. A GRIB file is not opened
    here (cfgrib would guess, write index files beside it and, on a corrupt file, crash):
    it is read, checked, by ``fetch era5 --from-file``."""
    path = Path(path)
    if not path.is_file():
        raise DataFileError(f"{what} file not found: {path}")
    if engine is None and is_grib(path):
        raise DataFileError(f"{what} {path} is a GRIB file, not NetCDF; convert it first: "
                            f"microclimate fetch era5 --from-file {path} --out FILE.nc")
    # netCDF4 reads NetCDF 3 and 4 alike. Letting xarray guess loads every backend's
    # plugin (cfgrib/ecCodes among them), and that mix crashed the process at exit
    # (double free, SIGSEGV) after a clean one-line error or even a clean run.
    engine = engine or "netcdf4"
    try:
        with xr.open_dataset(path, engine=engine) as ds:
            return from_cf_file(ds.load())
    except (OSError, ValueError, RuntimeError, EOFError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DataFileError(f"cannot read {what} {path}: {first}") from exc


def from_cf_file(ds: xr.Dataset) -> xr.Dataset:
    """Undo what the CF writer (``sources.output``) adds for other tools: the ``crs``
    grid mapping (the app's grids are always WGS 84) and signed-byte QARTOD flags, which
    come back as the program's ``uint8`` flags."""
    mapped = {str(da.attrs.get("grid_mapping")) for da in ds.data_vars.values()}
    if GRID_MAPPING in mapped and GRID_MAPPING in ds.variables:
        ds = ds.drop_vars(GRID_MAPPING)
    for name in list(ds.data_vars):
        da = ds[name]
        da.attrs.pop("grid_mapping", None)
        if "flag_values" in da.attrs and da.dtype == np.int8:
            attrs = dict(da.attrs)
            for key in ("flag_values", "valid_min", "valid_max"):
                if key in attrs:
                    attrs[key] = np.asarray(attrs[key]).astype(np.uint8)
            ds[name] = da.astype(np.uint8).assign_attrs(attrs)
    return ds
