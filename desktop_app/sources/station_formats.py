"""The one table of station file formats. The CLI (``fetch stations --format``,
``region create --station-format``), the window's Data panel and the watch config all
offer and check formats from here, so a new reader is added in one place: a
:class:`StationFormat` row in :data:`STATION_FORMATS`.

The station-file data provider (:class:`StationFileFetch`, :class:`StationFileProvider`)
lives here too: it is the table's one reader entry point."""

from __future__ import annotations

import fnmatch
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import xarray as xr

from desktop_app.core.progress import Progress
from desktop_app.core.schema import validate_station_dataset
from desktop_app.errors import ConfigError, DataFileError, lookup
from desktop_app.sources.context import FetchContext
from desktop_app.sources.smet import read_smet
from desktop_app.sources.stations import CsvMapping, read_csv, read_tmy3, read_uscrn

# (paths, column mapping or None, elevation or None) -> station dataset
Reader = Callable[[Sequence[Path], CsvMapping | None, float | None], xr.Dataset]


@dataclass(frozen=True)
class StationFormat:
    name: str
    description: str
    patterns: tuple[str, ...]  # file name patterns (file dialogs, guessing)
    read: Reader
    needs_mapping: bool = False  # a CSV needs to be told which column holds what

    def file_filter(self) -> str:
        """A Qt file-dialog filter line, e.g. ``SMET (*.smet)``."""
        return f"{self.description} ({' '.join(self.patterns)})"


def _each(read_one: Callable[[Path], xr.Dataset]) -> Reader:
    def read(paths: Sequence[Path], mapping: CsvMapping | None,
             elevation: float | None) -> xr.Dataset:
        return combine_stations([read_one(p) for p in paths])
    return read


def _uscrn(paths: Sequence[Path], mapping: CsvMapping | None,
           elevation: float | None) -> xr.Dataset:
    return combine_stations([read_uscrn(p, elevation) for p in paths])


def _smet(paths: Sequence[Path], mapping: CsvMapping | None,
          elevation: float | None) -> xr.Dataset:
    return read_smet(paths)


def _csv(paths: Sequence[Path], mapping: CsvMapping | None,
         elevation: float | None) -> xr.Dataset:
    if mapping is None:
        # neutral words: the CLI checks its own flags first and names them
        raise ConfigError("a CSV station file needs a column mapping "
                          "(time=COL,<variable>=COL,...)")
    return combine_stations([read_csv(p, mapping) for p in paths])


STATION_FORMATS: dict[str, StationFormat] = {f.name: f for f in (
    StationFormat("uscrn", "USCRN sub-hourly (NOAA)", ("CRNS0101-05-*.txt", "CRN*.txt"),
                  _uscrn),
    StationFormat("tmy3", "TMY3 typical year (NREL)", ("*TY.csv", "*TYA.CSV", "*.csv"),
                  _each(read_tmy3)),
    StationFormat("smet", "SMET (SLF/MeteoIO)", ("*.smet",), _smet),
    StationFormat("csv", "CSV with a column mapping", ("*.csv", "*.txt"), _csv,
                  needs_mapping=True),
)}


def station_format(name: str) -> StationFormat:
    return lookup(STATION_FORMATS, name, "station format")


def formats_without_mapping() -> list[StationFormat]:
    """Formats a file alone describes (the window and the watch offer these)."""
    return [f for f in STATION_FORMATS.values() if not f.needs_mapping]


def guess_format(path: Path) -> str | None:
    """The first format whose patterns match the file name, else None."""
    for fmt in STATION_FORMATS.values():
        if any(fnmatch.fnmatch(path.name, p) for p in fmt.patterns):
            return fmt.name
    return None


def read_station_files(paths: Sequence[Path], fmt: str, mapping: CsvMapping | None = None,
                       *, elevation: float | None = None) -> xr.Dataset:
    """Station files of one format as one station dataset."""
    spec = station_format(fmt)
    path_list = [Path(p) for p in paths]
    if not path_list:
        raise ConfigError("no station files given")
    for path in path_list:
        if not path.exists():
            raise DataFileError(f"station file not found: {path}")
    return spec.read(path_list, mapping, elevation)


def read_station_file(path: Path, fmt: str, mapping: CsvMapping | None = None) -> xr.Dataset:
    """One station file in format ``fmt``."""
    return read_station_files([Path(path)], fmt, mapping)


def combine_stations(parts: Sequence[xr.Dataset]) -> xr.Dataset:
    """Several station datasets side by side on the union of their times."""
    if len(parts) == 1:
        return parts[0]
    ids = [str(i) for p in parts for i in p["station_id"].values]
    if len(set(ids)) != len(ids):
        dup = next(i for i in ids if ids.count(i) > 1)
        raise DataFileError(f"station {dup!r} appears in more than one file")
    combined = xr.concat(parts, dim="station", join="outer", combine_attrs="override",
                         data_vars="all", coords="different", compat="equals")
    combined.attrs["source_files"] = ", ".join(str(p.attrs.get("source_files", ""))
                                              for p in parts)
    for name in combined.data_vars:
        combined[name] = combined[name].astype(np.float32)
    return validate_station_dataset(combined)


@dataclass(frozen=True)
class StationFileFetch:
    """A fetch request: station files of one format in :data:`STATION_FORMATS`."""

    path: Path
    format: str
    mapping: CsvMapping | None = None
    more: tuple[Path, ...] = ()  # further files of the same format (one station each)
    elevation: float | None = None  # for a format whose files carry none (USCRN)


class StationFileProvider:
    """Station files, read through the format table (no cache: they are on disk)."""

    name = "stations"
    title = "Station files (" + ", ".join(STATION_FORMATS) + ")"

    def fetch(self, request: StationFileFetch, ctx: FetchContext, progress: Progress,
              cancel: threading.Event | None) -> xr.Dataset:
        paths = [request.path, *request.more]
        progress(0.0, f"reading {request.path}" + (f" and {len(request.more)} more"
                                                   if request.more else ""))
        ds = read_station_files(paths, request.format, request.mapping,
                                elevation=request.elevation)
        progress(1.0, f"{ds.sizes['station']} station(s), {ds.sizes['time']} times")
        return ds
