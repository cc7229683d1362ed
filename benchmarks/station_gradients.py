"""Winter station temperatures from the shared fixtures as station Datasets (degC).

IMIS through the project's SMET reader; the Rofental CSVs (``temp`` in K; times as the
files give them) read here, their positions only in UTM, so no latitude/longitude.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from desktop_app.sources.smet import read_smet

T_ATTRS = {"standard_name": "air_temperature", "units": "degC"}


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
    """The project's SMET reader (TA K -> degC, the header's tz -> UTC)."""
    ds = read_smet(sorted(folder.glob("*.smet")))
    return ds[["temperature"]].load()


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
