"""The desk's own ONNX models scored at the watched stations, version by version.

For each model given (typically the active one and the one it replaced, after
``models install --use`` of a fine-tuned version), the app's predictor downscales the
coarse fields over the stations' terrain; the value at each station's nearest fine cell
becomes a forecast row ``(model name, version, station, variable, issue, valid, value)``.
The store pairs them with the observations like any forecast, so the rolling skill table
(``Store.skill``: per station, model, version and lead) holds the versions side by side:
an A/B by model version. The coarse fields here are analyses or reanalyses, so the rows
are issued at their valid time (lead 0): the comparison is of the downscaling, not of a
forecast's lead-time error.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from desktop_app.errors import DataFileError
from desktop_app.inference.predictor import Predictor
from desktop_app.inference.registry import ModelEntry
from desktop_app.verify.stations import nearest_cells
from desktop_app.watch.store import ForecastRow, Store


def model_rows(entry: ModelEntry, coarse: xr.Dataset, terrain: xr.Dataset,
               stations: list[tuple[str, float, float]], variable: str) -> list[ForecastRow]:
    """``entry``'s downscaled ``variable`` at the stations on the grid, every step."""
    if variable not in entry.card.variables:
        raise DataFileError(f"model {entry.spec} does not predict {variable!r}")
    field = Predictor(entry, "cpu", warm_up=False).predict(coarse, terrain)[variable]
    lat = np.asarray(terrain["latitude"].values, float)
    lon = np.asarray(terrain["longitude"].values, float)
    ids = [s[0] for s in stations]
    i, j, inside = nearest_cells(lat, lon, np.array([s[1] for s in stations], float),
                                 np.array([s[2] for s in stations], float))
    times = (np.asarray(coarse["time"].values).astype("datetime64[s]").astype(np.int64))
    rows: list[ForecastRow] = []
    for k in np.flatnonzero(inside):
        values = field[:, i[k], j[k]]
        rows += [ForecastRow(entry.card.name, entry.card.version, ids[k], variable, int(t),
                             int(t), float(v))
                 for t, v in zip(times, values, strict=True) if np.isfinite(v)]
    return rows


def score_models(store: Store, entries: list[ModelEntry], coarse: xr.Dataset,
                 terrain: xr.Dataset, variable: str) -> dict[str, int]:
    """Store each model's rows for the store's stations; rows per ``NAME@VERSION``."""
    stations = [(s.id, float(s.latitude), float(s.longitude)) for s in store.stations()]
    if not stations:
        raise DataFileError(f"the watch store {store.path} has no stations yet")
    written: dict[str, int] = {}
    for entry in entries:
        rows = model_rows(entry, coarse, terrain, stations, variable)
        store.add_forecasts(rows)
        written[entry.spec] = len(rows)
    return written
