"""Export verified forecasts as a training set.

CSV (``.csv``) columns, one row per verification pair: ``station_id, latitude,
longitude, elevation, model, model_version, issue_time, valid_time, lead_hours,
forecast, observed, error, qc_flag`` (times ISO 8601 UTC, temperatures in the
variable's internal units, error = forecast - observed, qc_flag the QARTOD aggregate
of the observation). NetCDF (``.nc``): the app's canonical station schema ``(station,
time)`` with ``<var>`` (observed), ``<var>_qc`` and ``<var>_forecast_<lead>h`` (latest
pair per lead), readable by ``microclimate qc``/``verify``. It is also a
station-target file for the trainer (``data.stations``; its ``_qc`` flags are used as
they are).
Written atomically; only QC-passed observations (flag 1) go in unless ``all_flags``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from desktop_app.core.flags import flag_attrs
from desktop_app.core.variables import get_variable
from desktop_app.errors import ConfigError, DataFileError
from desktop_app.fsutil import atomic_path
from desktop_app.sources.output import write_netcdf
from desktop_app.watch.store import Store

COLUMNS = ("station_id", "latitude", "longitude", "elevation", "model", "model_version",
           "issue_time", "valid_time", "lead_hours", "forecast", "observed", "error",
           "qc_flag")


def pairs_frame(store: Store, variable: str, all_flags: bool = False) -> pd.DataFrame:
    rows = store.query(
        "SELECT p.station, s.latitude, s.longitude, s.elevation, p.model, p.model_version, "
        "p.issue_time, p.valid_time, p.lead_s / 3600.0, p.forecast, p.observed, p.error, "
        "COALESCE(q.flag, 2) FROM pairs p JOIN stations s ON s.id = p.station LEFT JOIN "
        "qc_flags q ON q.station = p.station AND q.variable = p.variable AND q.time = "
        "p.valid_time WHERE p.variable = ? ORDER BY p.station, p.valid_time, p.lead_s",
        (variable,))
    frame = pd.DataFrame(rows, columns=list(COLUMNS))
    if not all_flags:
        frame = frame[frame["qc_flag"] == 1]
    for col in ("issue_time", "valid_time"):
        frame[col] = pd.to_datetime(frame[col], unit="s")
    return frame.reset_index(drop=True)


def export_training_set(store: Store, path: Path, variable: str = "temperature",
                        all_flags: bool = False) -> int:
    """Write the pairs to ``path`` (.csv or .nc); return the number of pairs."""
    path = Path(path)
    if path.suffix.lower() not in (".csv", ".nc"):
        raise ConfigError(f"export {path}: give a .csv or .nc file name")
    frame = pairs_frame(store, variable, all_flags)
    if frame.empty:
        raise DataFileError(f"export {path}: the store has no verification pairs for "
                            f"{variable} yet (nothing written)")
    if path.suffix.lower() == ".nc":
        write_netcdf(_station_dataset(frame, variable), path, what="training set")
        return len(frame)
    with atomic_path(path) as tmp:
        out = frame.copy()
        for col in ("issue_time", "valid_time"):
            out[col] = out[col].dt.strftime("%Y-%m-%dT%H:%M:%SZ")
        out.to_csv(tmp, index=False)
    return len(frame)


def _station_dataset(frame: pd.DataFrame, variable: str) -> xr.Dataset:
    stations = sorted(frame["station_id"].unique())
    times = np.sort(frame["valid_time"].unique()).astype("datetime64[ns]")
    si = {s: i for i, s in enumerate(stations)}
    shape = (len(stations), times.size)
    obs = np.full(shape, np.nan, np.float32)
    qc = np.full(shape, 9, np.uint8)
    r = frame["station_id"].map(si).to_numpy()
    c = np.searchsorted(times, frame["valid_time"].to_numpy("datetime64[ns]"))
    obs[r, c] = frame["observed"].to_numpy()
    qc[r, c] = frame["qc_flag"].to_numpy()
    attrs = get_variable(variable).cf_attrs()
    data: dict[str, tuple[tuple[str, str], np.ndarray, dict[str, object]]] = {
        variable: (("station", "time"), obs, {**attrs, "ancillary_variables": f"{variable}_qc"}),
        f"{variable}_qc": (("station", "time"), qc, flag_attrs(variable)),
    }
    for lead in sorted(frame["lead_hours"].unique()):
        sub = frame[frame["lead_hours"] == lead]
        grid = np.full(shape, np.nan, np.float32)
        grid[sub["station_id"].map(si).to_numpy(),
             np.searchsorted(times, sub["valid_time"].to_numpy("datetime64[ns]"))] = \
            sub["forecast"].to_numpy()
        data[f"{variable}_forecast_{lead:g}h"] = (("station", "time"), grid,
                                                 {**attrs, "lead_hours": float(lead)})
    first = frame.drop_duplicates("station_id").set_index("station_id").loc[stations]
    return xr.Dataset(
        data,
        coords={"station_id": ("station", np.array(stations, dtype=object)),
                "latitude": ("station", first["latitude"].to_numpy(np.float64)),
                "longitude": ("station", first["longitude"].to_numpy(np.float64)),
                "elevation": ("station", first["elevation"].to_numpy(np.float64)),
                "time": ("time", times)},
        attrs={"featureType": "timeSeries", "source": "microclimate watch verification store"})
