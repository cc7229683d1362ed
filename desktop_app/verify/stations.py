"""Verify a forecast grid at station locations against observations.

The forecast file carries the model field ``<var>`` and, for comparison,
``<var>_baseline`` (the best baseline the inputs allow), each baseline method
(``<var>_toposcale``, ``<var>_lapse_estimated``, ``<var>_lapse_fixed``) and
``<var>_bilinear`` (plain interpolation); each is
sampled at the grid cell nearest to each station (the grid is 100 m-1 km, so nearest
cell is the honest choice; no second interpolation). Observations flagged suspect, fail
or missing by QC (``<var>_qc`` 3, 4, 9) are left out. Generated observations are said
to be generated: their numbers test the code, not the model.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import xarray as xr

from desktop_app.core.variables import get_variable
from desktop_app.errors import SchemaError
from desktop_app.verify.metrics import compare
from desktop_app.verify.report import VerificationReport

EXCLUDED_FLAGS = (3, 4, 9)
# the forecast, its best baseline, each baseline method the forecast carries, bilinear
CANDIDATES = {"model": "{var}", "baseline": "{var}_baseline",
              "toposcale": "{var}_toposcale", "lapse_estimated": "{var}_lapse_estimated",
              "lapse_fixed": "{var}_lapse_fixed", "bilinear": "{var}_bilinear"}


def nearest_cells(lat: np.ndarray, lon: np.ndarray, st_lat: np.ndarray, st_lon: np.ndarray
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Indices of the nearest cell per station and whether the station is on the grid."""
    half_lat = abs(float(lat[1] - lat[0])) / 2 if lat.size > 1 else 0.0
    half_lon = abs(float(lon[1] - lon[0])) / 2 if lon.size > 1 else 0.0
    inside = ((st_lat >= lat[0] - half_lat) & (st_lat <= lat[-1] + half_lat)
              & (st_lon >= lon[0] - half_lon) & (st_lon <= lon[-1] + half_lon))
    i = np.abs(lat[None, :] - st_lat[:, None]).argmin(axis=1)
    j = np.abs(lon[None, :] - st_lon[:, None]).argmin(axis=1)
    return i, j, inside


@dataclass(frozen=True)
class Matched:
    """What a verification pairs: the candidate fields, the shared steps, the cells."""

    present: dict[str, str]  # candidate label -> forecast variable name
    times: np.ndarray
    i: np.ndarray
    j: np.ndarray
    inside: np.ndarray


def match(forecast: xr.Dataset, obs: xr.Dataset, variable: str, *,
          forecast_name: str = "forecast", obs_name: str = "observations") -> Matched:
    """Check the forecast and observations against each other (variables, units, shared
    steps) and find each station's cell; the names say which files they are in errors."""
    var = get_variable(variable)
    if variable not in obs:
        raise SchemaError(f"{obs_name} have no {variable!r}")
    present = {k: v.format(var=variable) for k, v in CANDIDATES.items()
               if v.format(var=variable) in forecast}
    if "model" not in present:
        raise SchemaError(f"{forecast_name} has no {variable!r}")
    for name in present.values():
        units = forecast[name].attrs.get("units")
        if units != var.units:
            raise SchemaError(f"{forecast_name} {name!r} is in {units!r}, expected "
                              f"{var.units!r}")
    if obs[variable].attrs.get("units") != var.units:
        raise SchemaError(f"{obs_name} {variable!r} are in "
                          f"{obs[variable].attrs.get('units')!r}, expected {var.units!r}")
    times = np.intersect1d(forecast["time"].values, obs["time"].values)
    if times.size == 0:
        raise SchemaError(f"{forecast_name} and {obs_name} share no time steps")
    i, j, inside = nearest_cells(forecast["latitude"].values, forecast["longitude"].values,
                                 obs["latitude"].values, obs["longitude"].values)
    return Matched(present, times, i, j, inside)


def report(forecast: xr.Dataset, obs: xr.Dataset, variable: str, matched: Matched,
           candidates: dict[str, np.ndarray], notes: list[str] | None = None
           ) -> VerificationReport:
    """Score the sampled candidates ((station, time) each) against the observations,
    leaving out QC-flagged values and stations off the grid."""
    times, inside = matched.times, matched.inside
    o_sel = obs.sel(time=times)
    observed = np.asarray(o_sel[variable].transpose("station", "time").values, float)
    excluded = 0
    qc_name = f"{variable}_qc"
    if qc_name in o_sel:
        bad = np.isin(o_sel[qc_name].transpose("station", "time").values, EXCLUDED_FLAGS)
        excluded = int((bad & np.isfinite(observed)).sum())
        observed = np.where(bad, np.nan, observed)
    observed[~inside] = np.nan
    rows = compare(observed, candidates)
    notes = list(notes or [])
    if obs.attrs.get("generated_values") == "yes":
        notes.append("the observations are GENERATED: these numbers test the code, "
                     "they are not the model's skill")
    if forecast.attrs.get("model_trained") == "no":
        notes.append(f"the model {forecast.attrs.get('model_name', '')} is not trained "
                     "(baseline as a graph)")
    if int((~inside).sum()):
        notes.append(f"{int((~inside).sum())} stations lie outside the grid and are left out")
    return VerificationReport(
        variable=variable, units=get_variable(variable).units, rows=rows,
        n_stations=int(inside.sum()), excluded_by_qc=excluded, notes=notes,
        meta={"model": f"{forecast.attrs.get('model_name', '?')}@"
                       f"{forecast.attrs.get('model_version', '?')}",
              "times": int(times.size)},
    )


def verify_at_stations(forecast: xr.Dataset, obs: xr.Dataset,
                       variable: str = "temperature") -> VerificationReport:
    matched = match(forecast, obs, variable)
    f_sel = forecast.sel(time=matched.times)
    candidates = {}
    for label, name in matched.present.items():
        grid = np.asarray(f_sel[name].values, float)  # (time, lat, lon)
        candidates[label] = grid[:, matched.i, matched.j].T  # (station, time)
    return report(forecast, obs, variable, matched, candidates)
