"""Winter station temperatures from the shared fixtures as station Datasets (degC).

A tiny local SMET parse (header keys, ``nodata``, ``tz`` offset, ``TA`` in K) for the
benchmark only, until the project's SMET reader lands; the Rofental CSVs (``temp`` in
K; times as the files give them).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

T_ATTRS = {"standard_name": "air_temperature", "units": "degC"}


def _smet(path: Path) -> tuple[dict[str, str], pd.Series]:
    lines = path.read_text(encoding="utf-8").splitlines()
    start = lines.index("[DATA]")
    head = {k.strip(): v.strip() for k, v in
            (line.split("=", 1) for line in lines[1:start] if "=" in line)}
    fields = head["fields"].split()
    table = pd.read_csv(path, skiprows=start + 1, sep=r"\s+", names=fields,
                        na_values=[head["nodata"]])
    times = pd.to_datetime(table["timestamp"]) - pd.Timedelta(hours=float(head["tz"]))
    return head, pd.Series(table["TA"].to_numpy() - 273.15, index=times.to_numpy())


def _dataset(series: list[pd.Series], ids: list[str], names: list[str],
             lat: list[float], lon: list[float], elev: list[float], title: str
             ) -> xr.Dataset:
    frame = pd.concat(series, axis=1)
    return xr.Dataset(
        {"temperature": (("station", "time"), frame.to_numpy().T.astype(np.float32),
                         T_ATTRS)},
        coords={"station_id": ("station", ids), "station_name": ("station", names),
                "latitude": ("station", lat), "longitude": ("station", lon),
                "elevation": ("station", elev),
                "time": frame.index.to_numpy().astype("datetime64[ns]")},
        attrs={"title": title, "generated_values": "no"})


def load_imis(folder: Path) -> xr.Dataset:
    heads, series = [], []
    for path in sorted(folder.glob("*.smet")):
        head, s = _smet(path)
        heads.append(head)
        series.append(s)
    return _dataset(series, [h["station_id"] for h in heads],
                    [h["station_name"] for h in heads],
                    [float(h["latitude"]) for h in heads],
                    [float(h["longitude"]) for h in heads],
                    [float(h["altitude"]) for h in heads],
                    "IMIS stations (SLF), TA, 1 Dec 2008 - 31 Jan 2009, via MeteoIO examples")


def load_rofental(folder: Path) -> xr.Dataset:
    meta = pd.read_csv(folder / "stations.csv", encoding="utf-8-sig").set_index("id")
    ids = ["bellavista", "proviantdepot"]
    series = []
    for sid in ids:
        table = pd.read_csv(folder / f"{sid}.csv", index_col=0, parse_dates=True)
        series.append((table["temp"] - 273.15).rename(sid))
    return _dataset(series, ids, [str(meta.loc[s, "name"]) for s in ids],
                    [np.nan, np.nan], [np.nan, np.nan],
                    [float(meta.loc[s, "alt"]) for s in ids],
                    "Rofental AWS (Strasser et al. 2018), temp, via openAMUNDSEN examples")
