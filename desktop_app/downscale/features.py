"""Model input features: terrain, solar geometry, calendar and interpolated coarse fields.

This is the ONE feature implementation: the predictor calls it at forecast time and the
trainer must call it at training time, so a model sees the same numbers in both places.
A model card lists the feature names it was trained on (a subset of :data:`FEATURES`, in
order); :class:`FeatureBuilder` computes exactly those, for any tile and time range.

Static terrain features are computed once on the whole fine grid (neighbourhood
operations need the neighbours); time-dependent ones per requested block, so a large
grid can be processed tile by tile without holding all steps in memory.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import xarray as xr
from numpy.typing import ArrayLike

from desktop_app.core.variables import VARIABLES
from desktop_app.downscale import feature_cache
from desktop_app.downscale.baseline import bilinear, interp_matrix
from desktop_app.errors import SchemaError

EARTH_M_PER_DEG = 111_320.0
DEFAULT_TPI_RADIUS_M = 1000.0


@dataclass(frozen=True)
class Feature:
    name: str
    units: str
    description: str
    kind: str  # "static" (terrain), "time" (solar/calendar) or "dynamic" (coarse field)
    variable: str | None = None  # the coarse variable a dynamic feature interpolates


def _interp_feature(var: str) -> Feature:
    return Feature(f"{var}_interp", VARIABLES[var].units,
                   f"coarse {var} bilinearly interpolated to the fine grid", "dynamic", var)


FEATURES: dict[str, Feature] = {f.name: f for f in (
    Feature("elevation", "m", "fine terrain elevation", "static"),
    Feature("coarse_elevation", "m", "coarse orography interpolated to the fine grid",
            "static"),
    Feature("elevation_difference", "m",
            "fine elevation minus the interpolated coarse orography", "static"),
    Feature("slope", "degree", "terrain slope angle", "static"),
    Feature("aspect_sin", "1", "sine of the downslope direction (east component)", "static"),
    Feature("aspect_cos", "1", "cosine of the downslope direction (north component)",
            "static"),
    Feature("topographic_position", "m",
            "elevation minus the mean within ~1 km (valleys < 0 < ridges)", "static"),
    Feature("solar_elevation", "degree", "sun elevation angle above the horizon", "time"),
    Feature("hour_angle", "degree", "solar hour angle, 0 at local solar noon", "time"),
    Feature("day_of_year_sin", "1", "sine of the day of year", "time"),
    Feature("day_of_year_cos", "1", "cosine of the day of year", "time"),
    Feature("hour_sin", "1", "sine of the UTC hour of day", "time"),
    Feature("hour_cos", "1", "cosine of the UTC hour of day", "time"),
    *(_interp_feature(v) for v in
      ("temperature", "relative_humidity", "surface_pressure", "wind_speed")),
)}


def grid_spacing_m(lat: np.ndarray, lon: np.ndarray) -> tuple[float, np.ndarray]:
    """(dy, dx per row) in metres for an ascending regular lat/lon grid."""
    dlat = float(np.diff(lat[:2])[0]) if lat.size > 1 else 1e-3
    dlon = float(np.diff(lon[:2])[0]) if lon.size > 1 else 1e-3
    dy = dlat * EARTH_M_PER_DEG
    dx = dlon * EARTH_M_PER_DEG * np.cos(np.deg2rad(lat))
    return dy, dx


def slope_aspect(elev: np.ndarray, lat: np.ndarray, lon: np.ndarray
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Slope (degrees) and sin/cos of the aspect (direction the slope faces, i.e.
    downhill, clockwise from north) from centred differences."""
    dy, dx = grid_spacing_m(lat, lon)
    z = np.asarray(elev, float)
    if z.shape[0] < 2 or z.shape[1] < 2:
        zero = np.zeros_like(z)
        return zero, zero, zero
    dz_dy, dz_dx = np.gradient(z, dy, axis=0), np.gradient(z, axis=1) / dx[:, None]
    grad = np.hypot(dz_dx, dz_dy)
    slope = np.degrees(np.arctan(grad))
    flat = grad < 1e-9
    safe = np.where(flat, 1.0, grad)
    # downhill points along -gradient; east = +x (lon), north = +y (ascending lat)
    aspect_sin = np.where(flat, 0.0, -dz_dx / safe)
    aspect_cos = np.where(flat, 0.0, -dz_dy / safe)
    return slope, aspect_sin, aspect_cos


def box_mean(values: np.ndarray, ry: int, rx: int) -> np.ndarray:
    """Mean over a (2ry+1)x(2rx+1) window, shrunk at the edges (no padding bias)."""
    v = np.asarray(values, float)
    ny, nx = v.shape
    c = np.zeros((ny + 1, nx + 1))
    c[1:, 1:] = v.cumsum(0).cumsum(1)
    i0 = np.clip(np.arange(ny) - ry, 0, ny)
    i1 = np.clip(np.arange(ny) + ry + 1, 0, ny)
    j0 = np.clip(np.arange(nx) - rx, 0, nx)
    j1 = np.clip(np.arange(nx) + rx + 1, 0, nx)
    total = (c[i1][:, j1] - c[i0][:, j1] - c[i1][:, j0] + c[i0][:, j0])
    count = (i1 - i0)[:, None] * (j1 - j0)[None, :]
    return np.asarray(total / count)


def topographic_position(elev: np.ndarray, lat: np.ndarray, lon: np.ndarray,
                         radius_m: float = DEFAULT_TPI_RADIUS_M) -> np.ndarray:
    """Topographic position index: elevation minus the neighbourhood mean (a cheap
    proxy for cold-air pooling in valleys and exposure on ridges)."""
    dy, dx = grid_spacing_m(lat, lon)
    ry = max(1, round(radius_m / abs(dy)))
    rx = max(1, round(radius_m / float(np.abs(dx).mean())))
    return np.asarray(elev, float) - box_mean(elev, ry, rx)


def _sun(times: np.ndarray, lon: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Solar hour angle (degrees, (time, lon), -180..180) and declination (radians,
    (time,)): NOAA/Spencer low-precision formulas (declination and equation of time
    from the fractional year)."""
    t = np.asarray(times, "datetime64[ns]")
    day_start = t.astype("datetime64[D]")
    doy = (day_start - day_start.astype("datetime64[Y]")).astype(int) + 1
    hours = (t - day_start) / np.timedelta64(1, "h")
    gamma = 2 * np.pi / 365.0 * (doy - 1 + (hours - 12) / 24)
    eqtime = 229.18 * (0.000075 + 0.001868 * np.cos(gamma) - 0.032077 * np.sin(gamma)
                       - 0.014615 * np.cos(2 * gamma) - 0.040849 * np.sin(2 * gamma))
    decl = (0.006918 - 0.399912 * np.cos(gamma) + 0.070257 * np.sin(gamma)
            - 0.006758 * np.cos(2 * gamma) + 0.000907 * np.sin(2 * gamma)
            - 0.002697 * np.cos(3 * gamma) + 0.00148 * np.sin(3 * gamma))
    solar_minutes = hours[:, None] * 60 + eqtime[:, None] + 4 * np.asarray(lon)[None, :]
    ha = (solar_minutes / 4 - 180 + 180) % 360 - 180
    return ha, decl


def solar_geometry(times: np.ndarray, lat: np.ndarray, lon: np.ndarray
                   ) -> tuple[np.ndarray, np.ndarray]:
    """Hour angle and solar elevation (degrees), shape (time, lat, lon).

    NOAA/Spencer low-precision formulas (declination and equation of time from the
    fractional year); good to a fraction of a degree, enough for a model feature.
    """
    ha, decl = _sun(times, lon)
    lat_r = np.deg2rad(np.asarray(lat))[None, :, None]
    decl_r = decl[:, None, None]
    sin_el = (np.sin(lat_r) * np.sin(decl_r)
              + np.cos(lat_r) * np.cos(decl_r) * np.cos(np.deg2rad(ha))[:, None, :])
    elevation = np.degrees(np.arcsin(np.clip(sin_el, -1, 1)))
    hour_angle = np.broadcast_to(ha[:, None, :], elevation.shape)
    return hour_angle, elevation


def solar_elevation_into(out: np.ndarray, times: np.ndarray, lat: np.ndarray,
                         lon: np.ndarray, mean: float = 0.0, std: float = 1.0) -> None:
    """``(elevation - mean) / std`` of :func:`solar_geometry` written into ``out``
    (``(time, lat, lon)``, any float dtype), one step at a time.

    sin(elevation) = sin(lat) sin(decl) + cos(lat) cos(decl) cos(hour angle) is an outer
    product of a latitude and a longitude vector, so a step costs one float64 grid
    (reused) and one arcsin pass instead of several (time, lat, lon) float64 temporaries:
    the same formula in float64, equal to :func:`solar_geometry` to float64 rounding
    before the cast to ``out``'s dtype."""
    ha, decl = _sun(times, lon)
    lat_r = np.deg2rad(np.asarray(lat, float))[:, None]
    cos_ha = np.cos(np.deg2rad(ha))
    grid = np.empty(out.shape[1:])
    for t in range(out.shape[0]):
        np.multiply(np.cos(lat_r) * np.cos(decl[t]), cos_ha[t][None, :], out=grid)
        grid += np.sin(lat_r) * np.sin(decl[t])
        np.clip(grid, -1, 1, out=grid)
        np.arcsin(grid, out=grid)
        np.degrees(grid, out=grid)
        grid -= mean
        grid /= std
        out[t] = grid


def calendar_features(times: np.ndarray) -> dict[str, np.ndarray]:
    """Day-of-year and UTC hour as sin/cos pairs, one value per time."""
    t = np.asarray(times, "datetime64[ns]")
    day_start = t.astype("datetime64[D]")
    doy = (day_start - day_start.astype("datetime64[Y]")).astype(int)
    hours = (t - day_start) / np.timedelta64(1, "h")
    a = 2 * np.pi * doy / 365.25
    h = 2 * np.pi * hours / 24.0
    return {"day_of_year_sin": np.sin(a), "day_of_year_cos": np.cos(a),
            "hour_sin": np.sin(h), "hour_cos": np.cos(h)}


# the calendar features: one value per step, the same in every cell
CALENDAR_FEATURES = ("day_of_year_sin", "day_of_year_cos", "hour_sin", "hour_cos")


def required_variables(names: Sequence[str]) -> list[str]:
    """The coarse variables a feature list needs (besides elevation)."""
    unknown = [n for n in names if n not in FEATURES]
    if unknown:
        raise SchemaError(f"unknown feature {unknown[0]!r}; known: {', '.join(FEATURES)}")
    return [v for n in names if (v := FEATURES[n].variable) is not None]


def two_tap_rows(w: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """``(lo, w_lo, w_hi)`` with ``w[i] @ v == w_lo[i] v[lo[i]] + w_hi[i] v[lo[i] + 1]``
    for an interpolation matrix with at most two neighbouring weights per row (what
    :func:`interp_matrix` makes); None for any other matrix."""
    n, m = w.shape
    if m == 1:
        return np.zeros(n, np.intp), w[:, 0].copy(), np.zeros(n, w.dtype)
    lo = np.clip(np.argmax(w != 0, axis=1), 0, m - 2)
    rows = np.arange(n)
    w_lo, w_hi = w[rows, lo], w[rows, lo + 1]
    rebuilt = np.zeros_like(w)
    rebuilt[rows, lo] = w_lo
    rebuilt[rows, lo + 1] = w_hi
    return (lo, w_lo, w_hi) if np.array_equal(rebuilt, w) else None


def interp_into(out: np.ndarray, values: np.ndarray, wy: np.ndarray, wx: np.ndarray
                ) -> None:
    """``out[t] = wy @ values[t] @ wx.T`` (float32) without BLAS.

    Same numbers as :func:`~desktop_app.downscale.baseline.separable_bilinear` to float32
    rounding. The column product
    runs on the coarse rows (tiny); each fine row is then the weighted sum of its two
    coarse neighbours, written in place: two passes over the output, whatever the
    coarse grid's size. BLAS would run its own threads for the big product, and on a
    2-core machine they fought the model's threads for the cores (a step's features
    took 2-20x their quiet time while onnxruntime's threads were still spinning)."""
    cols = np.einsum("tij,kj->tik", np.asarray(values, np.float32), wx.astype(np.float32))
    taps = two_tap_rows(wy)
    if taps is None:  # not a linear-interpolation matrix: the plain product
        out[...] = wy.astype(np.float32) @ cols
        return
    lo, w_lo, w_hi = taps
    w_lo = w_lo.astype(np.float32)[:, None]
    w_hi = w_hi.astype(np.float32)[:, None]
    # fine rows between the same two coarse rows form runs (ascending grids): one
    # broadcast product per run instead of a gather per row
    starts = np.flatnonzero(np.diff(lo, prepend=-1))
    stops = np.append(starts[1:], lo.size)
    scratch = np.empty(out.shape[1:], np.float32)
    for t in range(out.shape[0]):
        for a, b in zip(starts, stops, strict=True):
            k = lo[a]
            np.multiply(w_lo[a:b], cols[t, k][None, :], out=out[t, a:b])
            if cols.shape[1] > 1:
                np.multiply(w_hi[a:b], cols[t, k + 1][None, :], out=scratch[a:b])
                out[t, a:b] += scratch[a:b]


def _check_finite(name: str, values: np.ndarray) -> None:
    bad = ~np.isfinite(values)
    if bad.any():
        raise SchemaError(
            f"{name} has {int(bad.sum())} missing/NaN values; fill or crop them before "
            "downscaling (a model would otherwise turn them into a wrong map)"
        )


class FeatureBuilder:
    """Computes the named features for blocks of time steps and tiles of the fine grid."""

    def __init__(self, coarse: xr.Dataset, terrain: xr.Dataset, names: Sequence[str],
                 tpi_radius_m: float = DEFAULT_TPI_RADIUS_M,
                 normalisation: tuple[ArrayLike, ArrayLike] | None = None
                 ) -> None:
        """``normalisation=(means, stds)`` per feature makes :meth:`build` return
        ``(x - mean) / std`` directly, without an extra pass over the fine grid: static
        features are stored normalised and interpolated fields are normalised on the
        coarse grid (exact, since interpolation weights sum to one)."""
        self.names = list(names)
        if normalisation is None:
            self._mean = np.zeros(len(self.names), np.float32)
            self._std = np.ones(len(self.names), np.float32)
        else:
            self._mean = np.asarray(normalisation[0], np.float32)
            self._std = np.asarray(normalisation[1], np.float32)
            if self._mean.shape != (len(self.names),) or self._std.shape != self._mean.shape:
                raise SchemaError("normalisation needs one mean and one std per feature")
        needed = required_variables(self.names)
        for what, ds in (("coarse", coarse), ("terrain", terrain)):
            if "elevation" not in ds:
                raise SchemaError(f"{what} dataset needs an 'elevation' variable")
        for var in needed:
            if var not in coarse:
                raise SchemaError(f"coarse input has no {var!r}, which the model needs "
                                  f"(has: {', '.join(map(str, coarse.data_vars))})")
            _check_finite(f"coarse {var!r}", coarse[var].values)
        self.src_lat = np.asarray(coarse["latitude"].values, float)
        self.src_lon = np.asarray(coarse["longitude"].values, float)
        self.lat = np.asarray(terrain["latitude"].values, float)
        self.lon = np.asarray(terrain["longitude"].values, float)
        self.times = np.asarray(coarse["time"].values, "datetime64[ns]")
        self._coarse = {v: np.asarray(coarse[v].values, np.float32) for v in set(needed)}
        self._wy = interp_matrix(self.src_lat, self.lat).astype(np.float32)
        self._wx = interp_matrix(self.src_lon, self.lon).astype(np.float32)
        key = feature_cache.static_key(
            [terrain["elevation"].values, self.lat, self.lon, coarse["elevation"].values,
             self.src_lat, self.src_lon, self._mean, self._std],
            (self.names, float(tpi_radius_m)))
        cached = feature_cache.get(key)
        if cached is None:
            cached = self._statics(terrain["elevation"].values, coarse["elevation"].values,
                                   tpi_radius_m)
            feature_cache.put(key, cached)
        self._static, self._static_norm = cached

    def _statics(self, fine_elev: np.ndarray, coarse_elev: np.ndarray, tpi_radius_m: float
                 ) -> feature_cache.Statics:
        """The static features in physical units and normalised (float32)."""
        elev = np.asarray(fine_elev, float)
        _check_finite("terrain 'elevation'", elev)
        coarse_elev = np.asarray(coarse_elev, float)
        _check_finite("coarse 'elevation'", coarse_elev)
        static: dict[str, np.ndarray] = {"elevation": elev}
        static["coarse_elevation"] = bilinear(coarse_elev, self.src_lat, self.src_lon,
                                              self.lat, self.lon)
        static["elevation_difference"] = elev - static["coarse_elevation"]
        if {"slope", "aspect_sin", "aspect_cos"} & set(self.names):
            s, a_sin, a_cos = slope_aspect(elev, self.lat, self.lon)
            static.update(slope=s, aspect_sin=a_sin, aspect_cos=a_cos)
        if "topographic_position" in self.names:
            static["topographic_position"] = topographic_position(
                elev, self.lat, self.lon, tpi_radius_m)
        physical = {k: v.astype(np.float32) for k, v in static.items()}
        normalised = {name: ((physical[name] - self._mean[k]) / self._std[k]
                             ).astype(np.float32)
                      for k, name in enumerate(self.names) if FEATURES[name].kind == "static"}
        return physical, normalised

    @property
    def shape(self) -> tuple[int, int]:
        return (self.lat.size, self.lon.size)

    def static(self, name: str) -> np.ndarray:
        return self._static[name]

    def normalised_static(self, name: str) -> np.ndarray:
        """A static feature of the model's list as :meth:`build` writes it."""
        return self._static_norm[name]

    def build(self, t0: int, t1: int, rows: slice = slice(None),
              cols: slice = slice(None), out: np.ndarray | None = None) -> np.ndarray:
        """Features for steps ``t0:t1`` on the tile ``rows, cols``: float32
        ``(steps, n_features, tile_rows, tile_cols)``, in physical units (or normalised
        if the builder was given a normalisation). ``out``, if it has the right shape, is
        filled instead of a new array: reusing one buffer across batches saves the page
        faults of a fresh large allocation, a good part of the cost on big grids."""
        lat, lon, times = self.lat[rows], self.lon[cols], self.times[t0:t1]
        shape = (times.size, len(self.names), lat.size, lon.size)
        if (out is not None and out.dtype == np.float32 and out.shape[1:] == shape[1:]
                and out.shape[0] >= shape[0]):
            out = out[: shape[0]]  # a leading slice of a C-contiguous buffer stays contiguous
        else:
            out = np.empty(shape, np.float32)
        calendar: dict[str, np.ndarray] | None = None
        for k, name in enumerate(self.names):
            feature = FEATURES[name]
            mean, std = self._mean[k], self._std[k]
            if feature.kind == "static":
                out[:, k] = self._static_norm[name][rows, cols][None]
            elif feature.variable is not None:
                coarse = (self._coarse[feature.variable][t0:t1] - mean) / std
                interp_into(out[:, k], coarse, self._wy[rows], self._wx[cols])
            elif name == "solar_elevation":
                solar_elevation_into(out[:, k], times, lat, lon, float(mean), float(std))
            elif name == "hour_angle":
                ha = _sun(times, lon)[0]
                out[:, k] = ((ha - mean) / std)[:, None, :]
            else:
                calendar = calendar or calendar_features(times)
                out[:, k] = ((calendar[name] - mean) / std)[:, None, None]
        return out
