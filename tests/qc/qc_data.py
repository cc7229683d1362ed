"""Local readers for the real QC fixtures in ``tests/data/qc`` (see its MANIFEST.md).

Deliberately tiny parsers, independent of the station readers in ``sources``: the QC
tests must not depend on another package's parsing.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

DATA = Path(__file__).resolve().parent.parent / "data" / "qc"

CRN_COLUMNS = [
    "WBANNO",
    "UTC_DATE",
    "UTC_TIME",
    "LST_DATE",
    "LST_TIME",
    "CRX_VN",
    "LONGITUDE",
    "LATITUDE",
    "AIR_TEMPERATURE",
    "PRECIPITATION",
    "SOLAR_RADIATION",
    "SR_FLAG",
    "SURFACE_TEMPERATURE",
    "ST_TYPE",
    "ST_FLAG",
    "RELATIVE_HUMIDITY",
    "RH_FLAG",
    "SOIL_MOISTURE_5",
    "SOIL_TEMPERATURE_5",
    "WETNESS",
    "WET_FLAG",
    "WIND_1_5",
    "WIND_FLAG",
]


def read_ioos_series() -> tuple[np.ndarray, np.ndarray]:
    """ioos_qc's own performance series: (times datetime64[ns], values)."""
    df = pd.read_csv(DATA / "20363_1000427.csv.gz")
    times = pd.to_datetime(df["time"]).dt.tz_localize(None).to_numpy("datetime64[ns]")
    return times, df["value"].to_numpy(np.float64)


def read_crn() -> pd.DataFrame:
    """USCRN rows with their raw missing-value codes (-9999.0, -99999, -99.000) kept."""
    rows = [line.split() for line in (DATA / "CRN_with_problems.txt").read_text().splitlines()]
    df = pd.DataFrame([r for r in rows if r], columns=CRN_COLUMNS)
    df["time"] = pd.to_datetime(df["UTC_DATE"] + df["UTC_TIME"], format="%Y%m%d%H%M")
    return df


def read_tmy3(name: str) -> tuple[dict[str, str], pd.DataFrame]:
    """TMY3 file: header metadata and the hourly table with a ``time`` column.

    Times are taken as written (each month comes from a different real year, so the
    series jumps between years; the QC checks see exactly that).
    """
    path = DATA / name
    head = path.read_text(encoding="latin-1").splitlines()[0].split(",")
    meta = {
        "id": head[0],
        "name": head[1].strip('"'),
        "latitude": head[4],
        "longitude": head[5],
        "elevation": head[6],
    }
    df = pd.read_csv(path, skiprows=1, encoding="latin-1")
    hours = df["Time (HH:MM)"].str.slice(0, 2).astype(int)
    day = pd.to_datetime(df["Date (MM/DD/YYYY)"], format="%m/%d/%Y")
    df["time"] = day + pd.to_timedelta(hours, unit="h")
    return meta, df


@cache
def tmy3_station_dataset() -> xr.Dataset:
    """The two real TMY3 stations as a canonical (station, time) Dataset.

    Both files are laid on one hourly axis by position (hour of the typical year, taken
    from the Greensboro file's times with the year set to 2001): the values are real,
    only the years of the months are unified so that time is increasing.
    """
    files = [read_tmy3("723170TYA.CSV"), read_tmy3("703165TY.csv")]
    times = pd.date_range("2001-01-01 01:00", periods=8760, freq="h").to_numpy("datetime64[ns]")
    columns = {
        "temperature": ("Dry-bulb (C)", "air_temperature", "degC"),
        "dewpoint_temperature": ("Dew-point (C)", "dew_point_temperature", "degC"),
        "relative_humidity": ("RHum (%)", "relative_humidity", "%"),
        "surface_pressure": ("Pressure (mbar)", "surface_air_pressure", "hPa"),
        "wind_speed": ("Wspd (m/s)", "wind_speed", "m s-1"),
    }
    data_vars = {
        name: (
            ("station", "time"),
            np.stack([df[col].to_numpy(np.float64) for _, df in files]),
            {"standard_name": std, "units": units},
        )
        for name, (col, std, units) in columns.items()
    }
    metas = [m for m, _ in files]
    return xr.Dataset(
        data_vars,
        coords={
            "time": times,
            "station_id": ("station", [m["id"] for m in metas]),
            "latitude": ("station", [float(m["latitude"]) for m in metas]),
            "longitude": ("station", [float(m["longitude"]) for m in metas]),
            "elevation": ("station", [float(m["elevation"]) for m in metas]),
        },
    )


def generated_network(n: int, seed: int) -> tuple[np.ndarray, ...]:
    """Generated: random stations in southern Norway, a lapse-rate temperature field
    with noise and 3 % gross outliers (the buddy-check comparisons with titanlib, and the
    compiled kernels against the JIT)."""
    rng = np.random.default_rng(seed)
    lats, lons = rng.uniform(58.0, 62.0, n), rng.uniform(6.0, 12.0, n)
    elevs = rng.uniform(0.0, 1200.0, n)
    values = 8.0 - 0.0065 * elevs + rng.normal(0.0, 0.8, n)
    bad = rng.choice(n, max(n // 33, 1), replace=False)
    values[bad] += rng.normal(0.0, 7.0, bad.size)
    return lats, lons, elevs, values
