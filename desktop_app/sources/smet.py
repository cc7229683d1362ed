"""SMET 1.x ASCII station files (the SLF/MeteoIO format) into the station schema.

A SMET file is a ``SMET 1.1 ASCII`` signature line, a ``[HEADER]`` of ``key = value``
lines and a ``[DATA]`` block of whitespace-separated rows. The header carries what the
reader needs: ``station_id`` (and ``station_name``), the position as ``latitude`` /
``longitude`` / ``altitude``, or ``easting`` / ``northing`` / ``altitude`` with ``epsg``
(converted with pyproj), or the combined ``location``; ``nodata``; ``tz`` (hours the
time stamps are ahead of UTC); ``fields``; and optional ``units_multiplier`` /
``units_offset`` that take each column to MeteoIO's SI units (value x m + o). In SI:
``TA``/``TD`` in K, ``RH`` as a fraction 0..1, ``P`` in Pa, ``VW`` m s-1, ``DW``
degrees, ``PSUM`` mm over the step; these become ours (degC, %, hPa, ...). Fields we
have no variable for (radiation, snow height, surface temperatures) are listed in the
``dropped_fields`` attribute.

Missing values: the header's ``nodata``, and also -999 (MeteoIO's default), because real
files declare one code and write the other (IMIS station OTT2 says -9999 and writes -999
for missing wind).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from desktop_app.errors import DataFileError
from desktop_app.sources.stations import StationTable, mask_missing, read_lines, to_dataset

SMET_DEFAULT_NODATA = -999.0
# SMET field -> (our name, function from SI to our unit)
SMET_FIELDS = {
    "TA": ("temperature", lambda k: k - 273.15),
    "TD": ("dewpoint_temperature", lambda k: k - 273.15),
    "RH": ("relative_humidity", lambda f: f * 100.0),
    "P": ("surface_pressure", lambda pa: pa / 100.0),
    "VW": ("wind_speed", lambda v: v),
    "DW": ("wind_direction", lambda d: d),
    "PSUM": ("precipitation", lambda mm: mm),
}


def _header(lines: list[str], path: Path) -> tuple[dict[str, str], int]:
    """The header as a dict and the index of the first data line."""
    if not lines or not lines[0].startswith("SMET"):
        raise DataFileError(f"{path}: not a SMET file (first line must start 'SMET')")
    if "ASCII" not in lines[0].upper():
        raise DataFileError(f"{path}: only ASCII SMET is read, not {lines[0].strip()!r}")
    header: dict[str, str] = {}
    section = ""
    for number, line in enumerate(lines[1:], start=1):
        text = line.split("#", 1)[0].strip() if not line.lstrip().startswith("#") else ""
        if not text:
            continue
        if text.startswith("["):
            section = text.upper()
            if section == "[DATA]":
                return header, number + 1
            continue
        if section == "[HEADER]":
            key, sep, value = text.partition("=")
            if not sep:
                raise DataFileError(f"{path}:{number + 1}: header line is not 'key = value'")
            header[key.strip().lower()] = value.strip()
    raise DataFileError(f"{path}: no [DATA] section")


def _number(header: dict[str, str], key: str, path: Path) -> float | None:
    if key not in header:
        return None
    try:
        return float(header[key])
    except ValueError:
        raise DataFileError(f"{path}: header {key} = {header[key]!r} is not a number") from None


def _position(header: dict[str, str], path: Path) -> tuple[float, float, float]:
    """(latitude, longitude, altitude); projected coordinates via pyproj and ``epsg``."""
    lat, lon = _number(header, "latitude", path), _number(header, "longitude", path)
    alt = _number(header, "altitude", path)
    east, north = _number(header, "easting", path), _number(header, "northing", path)
    epsg = _number(header, "epsg", path)
    if "location" in header:
        try:
            parts = [float(x) for x in header["location"].split()]
        except ValueError:
            raise DataFileError(f"{path}: unreadable location {header['location']!r}") from None
        if len(parts) != 3:
            raise DataFileError(f"{path}: location needs three numbers, got {len(parts)}")
        if epsg in (None, 4326.0):
            lat, lon, alt = parts
        else:
            east, north, alt = parts
    if (lat is None or lon is None) and east is not None and north is not None:
        if epsg is None:
            raise DataFileError(f"{path}: easting/northing need an epsg code in the header")
        lat, lon = _to_wgs84(east, north, int(epsg), path)
    if lat is None or lon is None:
        raise DataFileError(f"{path}: no station position (latitude/longitude, "
                            "easting/northing with epsg, or location)")
    return lat, lon, float("nan") if alt is None else alt


def _to_wgs84(east: float, north: float, epsg: int, path: Path) -> tuple[float, float]:
    from pyproj import CRS, Transformer  # lazy: only projected positions need PROJ
    from pyproj.exceptions import CRSError

    try:
        transformer = Transformer.from_crs(CRS.from_epsg(epsg), CRS.from_epsg(4326),
                                           always_xy=True)
    except CRSError as exc:
        raise DataFileError(f"{path}: unknown epsg code {epsg}: {exc}") from exc
    lon, lat = transformer.transform(east, north)
    if not (np.isfinite(lat) and np.isfinite(lon)):
        raise DataFileError(f"{path}: easting/northing {east}, {north} are outside EPSG:{epsg}")
    return float(lat), float(lon)


def _per_field(header: dict[str, str], key: str, count: int, default: float,
               path: Path) -> np.ndarray:
    if key not in header:
        return np.full(count, default)
    try:
        values = np.array([float(x) for x in header[key].split()])
    except ValueError:
        raise DataFileError(f"{path}: {key} holds a non-number") from None
    if values.size != count:
        raise DataFileError(f"{path}: {key} has {values.size} values for {count} fields")
    return values


def read_smet_table(path: Path) -> StationTable:
    lines = read_lines(path)
    header, first = _header(lines, path)
    for key in ("station_id", "fields", "nodata"):
        if key not in header:
            raise DataFileError(f"{path}: header lacks {key!r}")
    fields = header["fields"].split()
    if "timestamp" not in fields:
        raise DataFileError(f"{path}: no 'timestamp' field (julian-only SMET is not read)")
    lat, lon, alt = _position(header, path)
    nodata = _number(header, "nodata", path)
    codes = [SMET_DEFAULT_NODATA] + ([nodata] if nodata is not None else [])
    tz = _number(header, "tz", path) or 0.0
    multiplier = _per_field(header, "units_multiplier", len(fields), 1.0, path)
    offset = _per_field(header, "units_offset", len(fields), 0.0, path)
    rows = [line.split() for line in lines[first:] if line.strip()]
    bad = next((i for i, r in enumerate(rows) if len(r) != len(fields)), None)
    if bad is not None:
        raise DataFileError(f"{path}: data row {bad + 1} has {len(rows[bad])} values for "
                            f"{len(fields)} fields")
    if not rows:
        raise DataFileError(f"{path}: no data rows")
    columns = list(zip(*rows, strict=True))
    t_col = fields.index("timestamp")
    try:
        stamps = pd.to_datetime(pd.Series(columns[t_col]), format="ISO8601")
    except (ValueError, TypeError) as exc:
        raise DataFileError(f"{path}: unreadable timestamp: {exc}") from exc
    if getattr(stamps.dt, "tz", None) is not None:  # stamps with an offset: that wins
        time = stamps.dt.tz_convert("UTC").dt.tz_localize(None)
    else:
        time = stamps - pd.Timedelta(hours=tz)
    values: dict[str, np.ndarray] = {}
    dropped = []
    for i, name in enumerate(fields):
        if i == t_col:
            continue
        if name not in SMET_FIELDS:
            dropped.append(name)
            continue
        try:
            raw = np.array(columns[i], dtype="float64")
        except ValueError as exc:
            raise DataFileError(f"{path}: field {name}: {exc}") from exc
        missing = np.isin(raw, codes)
        si = mask_missing(raw) * multiplier[i] + offset[i]
        si[missing] = np.nan
        ours, convert = SMET_FIELDS[name]
        values[ours] = convert(si)
    name = header.get("station_name", "")
    return StationTable(
        station_id=f"SMET:{header['station_id']}", latitude=lat, longitude=lon,
        elevation=alt, time=time.to_numpy("datetime64[ns]"), values=values,
        notes={"dropped_fields": " ".join(dropped), "station_name": name})


def read_smet(paths: Path | Sequence[Path]) -> xr.Dataset:
    """One or more SMET files (one station each) as one station dataset."""
    path_list = [Path(paths)] if isinstance(paths, str | Path) else [Path(p) for p in paths]
    tables = []
    for path in path_list:
        table = read_smet_table(path)
        order = np.argsort(table.time, kind="stable")
        if np.any(np.diff(table.time[order]) == np.timedelta64(0, "ns")):
            raise DataFileError(f"{path}: duplicate time stamps")
        table.time = table.time[order]
        table.values = {k: v[order] for k, v in table.values.items()}
        tables.append(table)
    ids = [t.station_id for t in tables]
    if len(set(ids)) != len(ids):
        dup = next(i for i in ids if ids.count(i) > 1)
        raise DataFileError(f"station {dup!r} appears in more than one file")
    dropped = sorted({f for t in tables for f in t.notes.pop("dropped_fields").split()})
    names = [t.notes.pop("station_name") for t in tables]
    ds = to_dataset(tables, {"source": "SMET station file(s) (SLF/MeteoIO format)",
                             "source_files": ", ".join(p.name for p in path_list),
                             "dropped_fields": ", ".join(dropped)})
    ds.coords["station_name"] = ("station", np.array(names, dtype=object))
    return ds
