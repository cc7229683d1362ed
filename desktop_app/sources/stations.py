"""Station files into the canonical station schema: USCRN sub-hourly, TMY3 and a generic
CSV with a column mapping (SMET in :mod:`.smet`; the table of formats that the CLI, the
window and the watch offer is :mod:`.station_formats`). Missing-value codes become NaN;
times become naive UTC."""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from desktop_app.core.schema import validate_station_dataset
from desktop_app.core.variables import get_variable
from desktop_app.errors import ConfigError, DataFileError
from desktop_app.sources.altitude import DESCRIPTION as ALTITUDE_GRID
from desktop_app.sources.altitude import point_altitude
from desktop_app.sources.units import to_internal
from desktop_app.validation import check_times

# Codes station networks use for "no value" (USCRN: -9999.0, -99999, -99.000; NREL: -9900)
MISSING_CODES = (-9999.0, -7999.0, -99999.0, -99.0, -9900.0, -9999.9)

# USCRN sub-hourly (5-minute) fixed-width product: 23 whitespace-separated fields.
USCRN_COLUMNS = (
    "WBANNO", "UTC_DATE", "UTC_TIME", "LST_DATE", "LST_TIME", "CRX_VN", "LONGITUDE",
    "LATITUDE", "AIR_TEMPERATURE", "PRECIPITATION", "SOLAR_RADIATION", "SR_FLAG",
    "SURFACE_TEMPERATURE", "ST_TYPE", "ST_FLAG", "RELATIVE_HUMIDITY", "RH_FLAG",
    "SOIL_MOISTURE_5", "SOIL_TEMPERATURE_5", "WETNESS", "WET_FLAG", "WIND_1_5", "WIND_FLAG",
)
# our name -> (USCRN column, flag column or None)
USCRN_VARIABLES = {
    "temperature": ("AIR_TEMPERATURE", None),
    "precipitation": ("PRECIPITATION", None),
    "relative_humidity": ("RELATIVE_HUMIDITY", "RH_FLAG"),
    "wind_speed": ("WIND_1_5", "WIND_FLAG"),
}
# TMY3 column -> our name
TMY3_VARIABLES = {
    "Dry-bulb (C)": "temperature",
    "Dew-point (C)": "dewpoint_temperature",
    "RHum (%)": "relative_humidity",
    "Pressure (mbar)": "surface_pressure",
    "Wdir (degrees)": "wind_direction",
    "Wspd (m/s)": "wind_speed",
}


def mask_missing(values: np.ndarray) -> np.ndarray:
    out = np.asarray(values, dtype="float64").copy()
    out[np.isin(np.round(out, 3), MISSING_CODES)] = np.nan
    return out


@dataclass
class StationTable:
    """One station's series before it becomes a Dataset."""

    station_id: str
    latitude: float
    longitude: float
    elevation: float
    time: np.ndarray
    values: dict[str, np.ndarray]
    notes: dict[str, str] = field(default_factory=dict)


def to_dataset(tables: Sequence[StationTable], attrs: Mapping[str, str]) -> xr.Dataset:
    """Stations on the union of their times (NaN where a station has no row)."""
    if not tables:
        raise DataFileError("no station rows found")
    time = np.unique(np.concatenate([t.time for t in tables]))
    names = sorted({v for t in tables for v in t.values})
    data_vars = {}
    for name in names:
        grid = np.full((len(tables), time.size), np.nan, dtype="float32")
        for i, table in enumerate(tables):
            if name in table.values:
                grid[i, np.searchsorted(time, table.time)] = table.values[name]
        attrs_v = get_variable(name).cf_attrs()
        note = next((t.notes[name] for t in tables if name in t.notes), None)
        if note:
            attrs_v["comment"] = note
        data_vars[name] = (("station", "time"), grid, attrs_v)
    ds = xr.Dataset(
        data_vars,
        coords={
            "station_id": ("station", np.array([t.station_id for t in tables], dtype=object),
                           {"cf_role": "timeseries_id"}),
            "latitude": ("station", np.array([t.latitude for t in tables]),
                         {"units": "degrees_north", "standard_name": "latitude"}),
            "longitude": ("station", np.array([t.longitude for t in tables]),
                          {"units": "degrees_east", "standard_name": "longitude"}),
            "elevation": ("station", np.array([t.elevation for t in tables]),
                          get_variable("elevation").cf_attrs()),
            "time": ("time", time.astype("datetime64[ns]"), {"standard_name": "time"}),
        },
        attrs={"featureType": "timeSeries", **attrs},
    )
    return validate_station_dataset(ds)


def _unique_sorted(table: StationTable, source: str) -> StationTable:
    order = np.argsort(table.time, kind="stable")
    time = table.time[order]
    if time.size > 1 and np.any(np.diff(time) == np.timedelta64(0, "ns")):
        raise DataFileError(f"{source}: station {table.station_id} has duplicate time stamps")
    table.time = time
    table.values = {k: v[order] for k, v in table.values.items()}
    return table


USCRN_ELEVATION_NOTE = (
    "USCRN sub-hourly files carry no elevation: taken from " + ALTITUDE_GRID + " at the "
    "station's position (NCEI's station list, stations.tsv, has the surveyed value; give "
    "it as the station's elevation)")


def read_uscrn(path: Path, elevation: float | None = None) -> xr.Dataset:
    """USCRN sub-hourly file (one or more stations, WBAN number as id).

    The product has no elevation column and no header: the station's elevation is
    ``elevation`` when given (one station), else the bundled altitude grid's value at its
    position, said so in the ``elevation`` coordinate's comment."""
    rows = []
    for number, line in enumerate(read_lines(path), start=1):
        fields = line.split()
        if not fields:
            continue
        if len(fields) != len(USCRN_COLUMNS):
            raise DataFileError(
                f"{path}:{number}: not a USCRN sub-hourly row "
                f"({len(fields)} fields, expected {len(USCRN_COLUMNS)})"
            )
        rows.append(fields)
    if not rows:
        raise DataFileError(f"{path}: no USCRN rows")
    frame = pd.DataFrame(rows, columns=list(USCRN_COLUMNS))
    try:
        time = pd.to_datetime(frame["UTC_DATE"] + frame["UTC_TIME"].str.zfill(4),
                              format="%Y%m%d%H%M").to_numpy("datetime64[ns]")
        numeric = {c: frame[c].astype("float64").to_numpy()
                   for c in ("LONGITUDE", "LATITUDE")}
        for _, (column, flag) in USCRN_VARIABLES.items():
            numeric[column] = frame[column].astype("float64").to_numpy()
            if flag:
                numeric[flag] = frame[flag].astype("float64").to_numpy()
    except ValueError as exc:
        raise DataFileError(f"{path}: unreadable USCRN value: {exc}") from exc
    tables = []
    for wban in pd.unique(frame["WBANNO"]):
        sel = (frame["WBANNO"] == wban).to_numpy()
        values = {}
        for name, (column, flag) in USCRN_VARIABLES.items():
            v = mask_missing(numeric[column][sel])
            if flag:  # USCRN flags: 0 good, 3 erroneous -> NaN
                v[numeric[flag][sel] != 0] = np.nan
            values[name] = v
        tables.append(_unique_sorted(StationTable(
            station_id=f"USCRN:{wban}",
            latitude=float(numeric["LATITUDE"][sel][0]),
            longitude=float(numeric["LONGITUDE"][sel][0]),
            elevation=float("nan"),  # not in the sub-hourly product: filled below
            time=time[sel],
            values=values,
            notes={"wind_speed": "measured at 1.5 m above ground",
                   "precipitation": "amount over the 5-minute step"},
        ), str(path)))
    if elevation is not None and len(tables) > 1:
        raise ConfigError(f"{path}: holds {len(tables)} stations; one given elevation "
                          "cannot serve them all")
    lats = np.array([t.latitude for t in tables])
    lons = np.array([t.longitude for t in tables])
    heights = [elevation] if elevation is not None else point_altitude(lats, lons)
    for table, height in zip(tables, heights, strict=True):
        table.elevation = float(height)
    ds = to_dataset(tables, {"source": "USCRN sub-hourly (NOAA NCEI)",
                             "source_files": path.name})
    ds["elevation"].attrs["comment"] = ("given by the user" if elevation is not None
                                        else USCRN_ELEVATION_NOTE)
    return ds


def read_tmy3(path: Path, *, year: int = 1990) -> xr.Dataset:
    """TMY3 file. Months come from different years, so the year is set to ``year``
    (recorded in attrs); local standard time (hour ending, 01:00..24:00) -> UTC."""
    lines = read_lines(path)
    if len(lines) < 3:
        raise DataFileError(f"{path}: too short for a TMY3 file")
    head = next(csv.reader([lines[0]]))
    try:
        site, name, state = head[0], head[1], head[2]
        tz_hours, lat, lon, elev = (float(x) for x in head[3:7])
    except (IndexError, ValueError) as exc:
        raise DataFileError(f"{path}: first line is not a TMY3 station header") from exc
    reader = csv.reader(lines[1:])
    header = next(reader)
    if "Date (MM/DD/YYYY)" not in header or "Time (HH:MM)" not in header:
        raise DataFileError(f"{path}: not a TMY3 file (no 'Date (MM/DD/YYYY)' column)")
    rows = [r for r in reader if r]
    col = {c: i for i, c in enumerate(header)}
    try:
        stamps = []
        for r in rows:
            month, day, _ = r[col["Date (MM/DD/YYYY)"]].split("/")
            hour = int(r[col["Time (HH:MM)"]].split(":")[0])
            local = dt.datetime(year, int(month), int(day)) + dt.timedelta(hours=hour)
            stamps.append(local - dt.timedelta(hours=tz_hours))
        time = np.array(stamps, dtype="datetime64[ns]")
        values = {
            ours: mask_missing(np.array([float(r[col[theirs]]) for r in rows]))
            for theirs, ours in TMY3_VARIABLES.items() if theirs in col
        }
    except (ValueError, IndexError, KeyError) as exc:
        raise DataFileError(f"{path}: unreadable TMY3 row: {exc}") from exc
    table = _unique_sorted(StationTable(f"TMY3:{site}", lat, lon, elev, time, values), str(path))
    return to_dataset([table], {
        "source": "TMY3 typical meteorological year (NREL)",
        "source_files": path.name,
        "station_name": f"{name}, {state}",
        "comment": f"typical year: months from different years, year set to {year}",
    })


@dataclass(frozen=True)
class CsvMapping:
    """Which column holds what. ``columns`` maps our variable names (and ``time``) to
    CSV headers; ``units`` gives a column's unit when it is not our internal one."""

    columns: Mapping[str, str]
    station_id: str = "station"
    latitude: float = float("nan")
    longitude: float = float("nan")
    elevation: float = float("nan")
    utc_offset_hours: float = 0.0
    time_format: str | None = None
    units: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def parse(cls, text: str, **kwargs: object) -> CsvMapping:
        """``"time=Date,temperature=T (C)"`` -> mapping (names checked)."""
        columns: dict[str, str] = {}
        for part in filter(None, (p.strip() for p in text.split(","))):
            key, sep, value = part.partition("=")
            if not sep or not value:
                raise ConfigError(f"column mapping entry {part!r} must look like name=COLUMN")
            if key != "time":
                get_variable(key)
            columns[key] = value
        if "time" not in columns:
            raise ConfigError("column mapping needs time=COLUMN")
        return cls(columns=columns, **kwargs)  # type: ignore[arg-type]


def read_csv(path: Path, mapping: CsvMapping) -> xr.Dataset:
    try:
        frame = pd.read_csv(path, na_values=[str(c) for c in MISSING_CODES])
    except (OSError, ValueError, pd.errors.ParserError) as exc:
        raise DataFileError(f"cannot read CSV {path}: {exc}") from exc
    missing = [c for c in mapping.columns.values() if c not in frame.columns]
    if missing:
        raise DataFileError(
            f"{path}: no column(s) {', '.join(map(repr, missing))}; "
            f"has {', '.join(map(repr, frame.columns))}"
        )
    if not np.isfinite([mapping.latitude, mapping.longitude]).all():
        raise ConfigError(f"{path}: a CSV station needs a latitude and a longitude")
    column = frame[mapping.columns["time"]]
    try:
        if pd.api.types.is_numeric_dtype(column):  # epoch seconds, not pandas' default ns
            local = pd.to_datetime(column, unit="s")
        else:
            local = pd.to_datetime(column, format=mapping.time_format)
    except (ValueError, TypeError, OverflowError) as exc:
        raise DataFileError(f"{path}: unreadable time column: {exc}") from exc
    check_times(local.to_numpy(), f"{path}: column {mapping.columns['time']!r}")
    if getattr(local.dt, "tz", None) is not None:
        local = local.dt.tz_convert("UTC").dt.tz_localize(None)
        offset = 0.0
    else:
        offset = mapping.utc_offset_hours
    time = (local - pd.Timedelta(hours=offset)).to_numpy("datetime64[ns]")
    values = {}
    for name, column in mapping.columns.items():
        if name == "time":
            continue
        try:
            raw = mask_missing(pd.to_numeric(frame[column], errors="raise").to_numpy())
            if np.isinf(raw).any():
                raise ValueError("holds infinite values")
            values[name] = to_internal(raw, mapping.units.get(name, get_variable(name).units),
                                       name)
        except ValueError as exc:
            raise DataFileError(f"{path}: column {column!r}: {exc}") from exc
    table = _unique_sorted(StationTable(mapping.station_id, mapping.latitude, mapping.longitude,
                                        mapping.elevation, time, values), str(path))
    return to_dataset([table], {"source": "CSV station file", "source_files": path.name})


def read_lines(path: Path) -> list[str]:
    try:
        return path.read_text(encoding="utf-8", errors="strict").splitlines()
    except UnicodeDecodeError:
        return path.read_text(encoding="latin-1").splitlines()
    except OSError as exc:
        raise DataFileError(f"cannot read station file {path}: {exc.strerror or exc}") from exc
