"""What the window shows, independent of widgets: the region, its field, its stations."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import xarray as xr

from desktop_app.core.flags import QCFlag
from desktop_app.core.variables import VARIABLES, get_variable
from desktop_app.downscale.baseline import best_method, bilinear, lapse_rate_baseline
from desktop_app.errors import SchemaError
from desktop_app.sources.region import RegionBundle
from desktop_app.viz.map_model.colour import DEFAULT_COLORMAPS, default_cmap

COLORMAPS = DEFAULT_COLORMAPS


LAYERS = {
    "baseline": "Baseline (physical)",
    "forecast": "Model forecast",
    "difference": "Forecast − baseline",
}


@dataclass
class StationSeries:
    title: str
    units: str
    observed: np.ndarray | None
    forecast: np.ndarray | None
    baseline: np.ndarray
    coarse: np.ndarray
    flagged: np.ndarray


class RegionView:
    """The region bundle, its baseline field, a model forecast once one has run, and
    which of them (or their difference) the map shows: ``field`` is that layer."""

    def __init__(self, region: RegionBundle) -> None:
        self.region = region
        forecast: xr.Dataset | None = None
        if region.coarse is not None:
            self.baseline_method = best_method(region.coarse)
            self.baseline = lapse_rate_baseline(region.coarse, region.terrain,
                                                method=self.baseline_method)
            self.base_label = f"{self.baseline_method} baseline"
        elif region.fields is not None:
            self.baseline_method = str(region.fields.attrs.get("baseline_method", "physical"))
            self.baseline, forecast, self.base_label = forecast_file_layers(region.fields)
        else:
            self.baseline_method = "no"  # a terrain-only region has no baseline (nor stations)
            self.baseline = terrain_field(region.terrain)
            self.base_label = "terrain only (no weather background in this region)"
        self.forecast: xr.Dataset | None = None
        self.layer = "baseline"
        self.field = self.baseline
        self.field_label = self.base_label
        self.times: np.ndarray = self.field["time"].values
        self.lat: np.ndarray = self.field["latitude"].values
        self.lon: np.ndarray = self.field["longitude"].values
        self.elevation: np.ndarray = region.terrain["elevation"].values
        self.stations: xr.Dataset | None = region.stations
        if forecast is not None:
            self.set_forecast(forecast)

    # -- layers -----------------------------------------------------------------------
    def layer_name(self, layer: str) -> str:
        """What the Field box says for ``layer`` (a region with no background shows its
        terrain, not a baseline)."""
        if layer == "baseline" and self.region.coarse is None and self.region.fields is None:
            return "Terrain"
        return LAYERS[layer]

    def available_layers(self) -> list[str]:
        return ["baseline"] if self.forecast is None else list(LAYERS)

    def set_forecast(self, forecast: xr.Dataset) -> None:
        """Show a model forecast for this region (same grid and valid times)."""
        for coord in ("latitude", "longitude", "time"):
            if not np.array_equal(forecast[coord].values, self.baseline[coord].values):
                raise SchemaError(f"forecast {coord} does not match the region's grid/times")
        self.forecast = forecast
        self.set_layer("forecast")

    def set_layer(self, layer: str) -> None:
        if layer not in self.available_layers():
            raise ValueError(f"layer {layer!r} is not available")
        self.layer = layer
        if layer == "baseline" or self.forecast is None:
            self.field, self.field_label = self.baseline, self.base_label
            return
        fc = self.forecast
        model = f"{fc.attrs.get('model_name', 'model')}@{fc.attrs.get('model_version', '?')}"
        if fc.attrs.get("model_trained") == "no":
            model += " (NOT trained)"
        names = [str(v) for v in fc.data_vars
                 if "time" in fc[v].dims and str(v) in self.baseline]
        if layer == "forecast":
            self.field = fc[[*names, "elevation"]] if "elevation" in fc else fc[names]
            self.field_label = f"forecast {model}"
        else:
            diff = xr.Dataset({n: fc[n] - self.baseline[n] for n in names})
            for n in names:
                diff[n].attrs = {**fc[n].attrs, "field_kind": "difference", "long_name":
                                 f"{fc[n].attrs.get('long_name', n)}, forecast minus baseline"}
            diff["elevation"] = self.baseline["elevation"]
            self.field = diff
            self.field_label = f"difference {model} − baseline"
        self.field.attrs = dict(fc.attrs)

    @property
    def is_difference(self) -> bool:
        return self.layer == "difference"

    def step_note(self, t: int) -> str:
        """What the shown step is, where the guard kept the model from it: '' for a
        baseline layer or a forecast without a guard record."""
        fc = self.forecast
        if self.layer == "baseline" or fc is None or "model_used" not in fc:
            return ""
        if bool(fc["model_used"].values[t]):
            return "this step: model"
        share = float(fc["guard_outside_share"].values[t])
        return (f"this step: {fc.attrs.get('baseline_method', 'physical')} baseline — "
                f"guard: {share:.0%} of inputs outside the model's training domain")

    def cmap_for(self, variable: str) -> str:
        # diverging, blue below zero and red above: a warmer forecast shows red
        return default_cmap(variable, self.is_difference)

    @property
    def variables(self) -> list[str]:
        return [str(v) for v in self.field.data_vars if "time" in self.field[v].dims]

    def frame(self, variable: str, t: int) -> np.ndarray:
        return np.asarray(self.field[variable].values[t])

    # -- stations ---------------------------------------------------------------------
    def set_stations(self, stations: xr.Dataset) -> None:
        """Stations with QC flags added; the loaded region itself is never modified."""
        self.stations = stations

    def station_flags(self, variable: str, t: int) -> np.ndarray:
        """QARTOD flag per station at step ``t``: the QC result if there is one, else
        'missing' for absent values and 'not evaluated' for the rest (never 'pass')."""
        st = self.stations
        if st is None:
            return np.zeros(0, np.uint8)
        qc_name = f"{variable}_qc"
        if qc_name in st and "time" in st[qc_name].dims:
            return np.asarray(st[qc_name].isel(time=t).values, np.uint8)
        flags = np.full(st.sizes["station"], QCFlag.NOT_EVALUATED, np.uint8)
        if variable in st:
            flags[np.isnan(st[variable].isel(time=t).values)] = QCFlag.MISSING
        return flags

    def station_series(self, k: int, variable: str) -> StationSeries:
        st = self.stations
        if st is None:
            raise IndexError("region has no stations")
        lat = float(st["latitude"].values[k])
        lon = float(st["longitude"].values[k])
        i = int(np.abs(self.lat - lat).argmin())
        j = int(np.abs(self.lon - lon).argmin())
        if self.region.coarse is not None and variable in self.region.coarse:
            coarse = self.region.coarse[variable]
            coarse_at = bilinear(coarse.values, coarse["latitude"].values,
                                 coarse["longitude"].values, np.array([lat]), np.array([lon]))
        else:
            coarse_at = np.full((self.times.size, 1, 1), np.nan)
        observed = st[variable].values[k].astype(float) if variable in st else None
        qc_name = f"{variable}_qc"
        if qc_name in st:
            flagged = np.isin(st[qc_name].values[k], (QCFlag.SUSPECT, QCFlag.FAIL))
        else:
            flagged = np.zeros(self.times.size, bool)
        name = str(st["station_name"].values[k]) if "station_name" in st.coords else ""
        sid = str(st["station_id"].values[k])
        elev = float(st["elevation"].values[k])
        return StationSeries(
            title=f"{sid} {name} · {lat:.4f}°N {abs(lon):.4f}°{'W' if lon < 0 else 'E'}"
                  f" · {elev:.0f} m",
            units=get_variable(variable).units,
            observed=observed,
            forecast=(self.forecast[variable].values[:, i, j].astype(float)
                      if self.forecast is not None and variable in self.forecast else None),
            baseline=self.baseline[variable].values[:, i, j].astype(float),
            coarse=coarse_at[:, 0, 0],
            flagged=flagged,
        )


def terrain_field(terrain: xr.Dataset) -> xr.Dataset:
    """A region with no weather yet shows its terrain, as a one-step field (the map and
    the slider always show a (time, lat, lon) stack)."""
    elevation = terrain["elevation"]
    now = np.datetime64(dt.date.today().isoformat(), "ns")
    return xr.Dataset(
        {"elevation": (("time", "latitude", "longitude"), elevation.values[None],
                       get_variable("elevation").cf_attrs())},
        coords={"time": [now], "latitude": terrain["latitude"].values,
                "longitude": terrain["longitude"].values},
        attrs={"method": "no background yet: time is not meaningful"})


def forecast_file_layers(fields: xr.Dataset) -> tuple[xr.Dataset, xr.Dataset | None, str]:
    """A forecast file's layers: (baseline, forecast or None, baseline label). The
    baseline is the file's own ``<var>_baseline`` reference, or the variable itself
    where the file says it is the baseline; with no baseline at all, the file's fields
    are shown on their own."""
    names = [str(v) for v in fields.data_vars
             if "time" in fields[v].dims and str(v) in VARIABLES]
    if not names:
        raise SchemaError("the file has no time-varying variable the app knows")
    base: dict[str, xr.DataArray] = {}
    for name in names:
        if f"{name}_baseline" in fields:
            base[name] = fields[f"{name}_baseline"].assign_attrs(
                **get_variable(name).cf_attrs())
        elif str(fields[name].attrs.get("source", "")).endswith(
                "baseline (no model for this variable)"):
            base[name] = fields[name]
    if not base:
        shown = fields[names]
        shown.attrs = dict(fields.attrs)
        return shown, None, "fields of the forecast file"
    baseline = xr.Dataset(base)
    baseline.attrs = {"method": "as written in the forecast file"}
    guard = [g for g in ("model_used", "guard_outside_share") if g in fields]
    forecast = fields[names + guard]  # the guard's per-step verdict, for the status line
    forecast.attrs = dict(fields.attrs)
    method = fields.attrs.get("baseline_method", "physical")
    return baseline, forecast, f"{method} baseline (from the forecast file)"
