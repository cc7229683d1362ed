"""The output of a batch job: a temporary store beside the target, moved into place.

Layout while a job runs (``OUT`` is the final path)::

    .OUT.partial/
        job.json      what job this is (kind, inputs, chunking, options): a resume must match
        data.zarr/    the Zarr store the chunk tasks write their regions into
        done/         one empty marker per finished chunk, written after its data

A chunk's marker is written only after its region is fully written, so a chunk without a
marker is simply done again (its region rewritten with the same values): nothing is ever
duplicated, and a crash mid-write cannot leave a chunk marked done with half its data.
At the end the store moves to ``OUT`` (a rename for Zarr; for ``.nc`` a NetCDF written
through :func:`desktop_app.fsutil.atomic_path`) and the partial folder is removed. A
user's existing ``OUT`` is never overwritten.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
from pathlib import Path
from typing import Any

from desktop_app.errors import ConfigError, DataFileError
from desktop_app.fsutil import atomic_write_bytes
from desktop_app.sources.output import write_netcdf


def disk_full_message(path: Path | str, exc: OSError) -> str:
    return (f"output disk full writing {path} ({exc.strerror or exc}); free space and run the "
            "same command again to resume (finished chunks are kept)")


class ChunkStore:
    def __init__(self, out: Path) -> None:
        self.out = Path(out)
        self.partial = self.out.with_name(f".{self.out.name}.partial")
        self.data = self.partial / "data.zarr"
        self.done_dir = self.partial / "done"

    @property
    def is_netcdf(self) -> bool:
        return self.out.suffix.lower() in (".nc", ".nc4", ".netcdf")

    def prepare(self, job: dict[str, Any], restart: bool = False) -> bool:
        """Make (or reuse) the partial folder; True when resuming an earlier run."""
        if self.out.exists():
            raise ConfigError(f"output {self.out} already exists; choose another --out or "
                              "remove it (nothing a user made is overwritten)")
        job_file = self.partial / "job.json"
        if self.partial.exists() and restart:
            shutil.rmtree(self.partial)
        if self.partial.exists():
            try:
                earlier = json.loads(job_file.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                earlier = None
            if earlier == job and self.data.exists():
                return True
            raise ConfigError(
                f"{self.partial} holds an unfinished run of a different job (or a damaged "
                "one); run with --restart to discard it, or use another --out")
        try:
            self.done_dir.mkdir(parents=True)
            atomic_write_bytes(job_file, json.dumps(job, indent=1, sort_keys=True).encode())
        except OSError as exc:
            self.discard()
            if exc.errno == errno.ENOSPC:
                raise DataFileError(disk_full_message(self.partial, exc)) from exc
            raise DataFileError(f"cannot create {self.partial}: {exc}") from exc
        return False

    def done(self) -> set[str]:
        if not self.done_dir.is_dir():
            return set()
        return {p.name for p in self.done_dir.iterdir()}

    def discard(self) -> None:
        shutil.rmtree(self.partial, ignore_errors=True)

    def finish(self) -> Path:
        """Move the finished store to the final path."""
        if self.out.exists():
            raise ConfigError(f"output {self.out} appeared while the job ran; left the "
                              f"result in {self.data}")
        try:
            if self.is_netcdf:
                import dask
                import xarray as xr

                # converted here, not shipped through the cluster to this process
                with dask.config.set(scheduler="synchronous"), xr.open_zarr(self.data) as ds:
                    write_netcdf(ds, self.out, what="batch result")
            else:
                os.replace(self.data, self.out)
        except (OSError, DataFileError) as exc:
            # the NetCDF writer wraps the OSError; a full disk still gets its own message
            cause = exc if isinstance(exc, OSError) else exc.__cause__
            if isinstance(cause, OSError) and cause.errno == errno.ENOSPC:
                raise DataFileError(disk_full_message(self.out, cause)) from exc
            if isinstance(exc, DataFileError):
                raise
            raise DataFileError(f"cannot write {self.out}: {exc}") from exc
        self.discard()
        return self.out


def mark_done(done_dir: str, key: str) -> None:
    """Called on the worker after a chunk's data is written."""
    Path(done_dir, key).touch()
