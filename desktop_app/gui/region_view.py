"""What the window shows, independent of widgets: the region, its field, its stations."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import xarray as xr

from desktop_app.core.flags import QCFlag
from desktop_app.core.variables import get_variable
from desktop_app.downscale.baseline import best_method, bilinear, lapse_rate_baseline
from desktop_app.errors import SchemaError
from desktop_app.sources.region import RegionBundle
from desktop_app.viz.styles import DEFAULT_COLORMAPS

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
        self.baseline_method = best_method(region.coarse)
        self.baseline = lapse_rate_baseline(region.coarse, region.terrain,
                                            method=self.baseline_method)
        self.forecast: xr.Dataset | None = None
        self.layer = "baseline"
        self.field = self.baseline
        self.field_label = f"{self.baseline_method} baseline"
        self.times: np.ndarray = self.field["time"].values
        self.lat: np.ndarray = self.field["latitude"].values
        self.lon: np.ndarray = self.field["longitude"].values
        self.elevation: np.ndarray = region.terrain["elevation"].values
        self.stations: xr.Dataset | None = region.stations
        self._clim: dict[str, tuple[float, float]] = {}

    # -- layers -----------------------------------------------------------------------
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
        self._clim.clear()
        if layer == "baseline" or self.forecast is None:
            self.field = self.baseline
            self.field_label = f"{self.baseline_method} baseline"
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
                diff[n].attrs = {**fc[n].attrs, "long_name":
                                 f"{fc[n].attrs.get('long_name', n)}, forecast minus baseline"}
            diff["elevation"] = self.baseline["elevation"]
            self.field = diff
            self.field_label = f"difference {model} − baseline"
        self.field.attrs = dict(fc.attrs)

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
        return "coolwarm" if self.layer == "difference" else COLORMAPS.get(variable, "viridis")

    @property
    def variables(self) -> list[str]:
        return [str(v) for v in self.field.data_vars if "time" in self.field[v].dims]

    def frame(self, variable: str, t: int) -> np.ndarray:
        return np.asarray(self.field[variable].values[t])

    def clim(self, variable: str) -> tuple[float, float]:
        """Colour limits fixed over all times, so a colour means one value throughout."""
        if variable not in self._clim:
            values = self.field[variable].values
            lo, hi = float(np.nanmin(values)), float(np.nanmax(values))
            if self.layer == "difference":  # symmetric, so white means no difference
                lim = max(abs(lo), abs(hi), 0.1)
                lo, hi = -lim, lim
            self._clim[variable] = (lo, hi if hi > lo else lo + 1.0)
        return self._clim[variable]

    def label(self, variable: str) -> str:
        var = get_variable(variable)
        if self.layer == "difference":
            return f"{var.long_name}, forecast − baseline ({var.units})"
        return f"{var.long_name} ({var.units})"

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
        coarse = self.region.coarse[variable]
        coarse_at = bilinear(coarse.values, coarse["latitude"].values,
                             coarse["longitude"].values, np.array([lat]), np.array([lon]))
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
