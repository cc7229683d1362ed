"""The physical baselines: bilinear interpolation plus a terrain correction.

Temperature is moved from the coarse model orography to the fine terrain by one of the
:data:`METHODS`: a fixed lapse rate (-6.5 K/km by default), a lapse rate estimated at
each step from the coarse field itself, or TopoSCALE-style interpolation in the coarse
column's pressure-level profile (:mod:`desktop_app.downscale.lapse`); plain bilinear
interpolation is the reference every method must beat. Pressure follows the hypsometric
equation for the height difference. Humidity is adjusted consistently: specific humidity
is held, so the vapour pressure scales with pressure, and relative humidity is recomputed
for the corrected temperature.
Wind is interpolated only.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from desktop_app.core.variables import VARIABLES
from desktop_app.errors import SchemaError

STANDARD_LAPSE_RATE = -6.5  # K per km, ICAO standard atmosphere
_G = 9.80665
_RD = 287.05
# name -> what it is (the order breaks ties in the selection, downscale.select)
METHODS = {
    "toposcale": "TopoSCALE-style: the coarse pressure-level profile at the fine "
                 "elevation plus the surface departure",
    "lapse_estimated": "lapse rate estimated at each step from the coarse field",
    "lapse_fixed": f"fixed lapse rate {STANDARD_LAPSE_RATE} K/km",
    "bilinear": "plain bilinear interpolation (no terrain correction)",
}
PRESSURE_LEVEL_VARS = ("temperature_pl", "geopotential_height_pl")
# time steps of the baseline worked out together: a block's temporaries (about 1 MB each
# on a 111 x 257 grid) stay in the cache and their memory is reused from block to block
BLOCK_STEPS = 8


def has_pressure_levels(coarse: xr.Dataset) -> bool:
    return all(v in coarse for v in PRESSURE_LEVEL_VARS)


def available_methods(coarse: xr.Dataset) -> list[str]:
    """The temperature baselines these inputs allow."""
    return [m for m in METHODS if m != "toposcale" or has_pressure_levels(coarse)]


def best_method(coarse: xr.Dataset) -> str:
    """The baseline the coarse input itself favours (:mod:`desktop_app.downscale.select`:
    a leave-one-cell-out check at the coarse scale)."""
    from desktop_app.downscale.select import select_baseline

    return select_baseline(coarse).method


def _positions(src: np.ndarray, dst: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each ``dst`` coordinate, the lower of its two ``src`` neighbours and its
    fraction of the way to the upper one (clamped at the edges: constant
    extrapolation). ``src`` has at least two ascending values."""
    pos = np.interp(dst, src, np.arange(src.size, dtype=float))
    lo = np.clip(np.floor(pos).astype(np.intp), 0, src.size - 2)
    return lo, pos - lo


def interp_matrix(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Dense (dst, src) weights of 1-D linear interpolation with the positions and edge
    clamping of :func:`bilinear`."""
    src = np.asarray(src, float)
    dst = np.asarray(dst, float)
    w = np.zeros((dst.size, src.size))
    if src.size == 1:
        w[:, 0] = 1.0
        return w
    lo, frac = _positions(src, dst)
    rows = np.arange(dst.size)
    w[rows, lo] = 1.0 - frac
    w[rows, lo + 1] += frac
    return w


def separable_bilinear(values: np.ndarray, wy: np.ndarray, wx: np.ndarray) -> np.ndarray:
    """``bilinear`` as two small matrix products: ``wy @ values @ wx.T`` per step.

    The same numbers as the gather-based version (to rounding), several times faster on
    large fine grids because the coarse side is tiny."""
    return np.asarray(wy @ (np.asarray(values, np.float32) @ wx.T))


def bilinear(values: np.ndarray, src_lat: np.ndarray, src_lon: np.ndarray,
             dst_lat: np.ndarray, dst_lon: np.ndarray) -> np.ndarray:
    """Bilinearly interpolate ``values[..., lat, lon]`` onto the ``dst`` grid (float64).

    Source coordinates must be ascending. Destination points outside the source grid
    take the edge value (constant extrapolation) rather than inventing a trend.
    """
    v = np.asarray(values)
    src_lat, src_lon = np.asarray(src_lat, float), np.asarray(src_lon, float)
    dst_lat, dst_lon = np.asarray(dst_lat, float), np.asarray(dst_lon, float)
    if np.isfinite(v).all():
        # two small matrix products (the coarse side is tiny): about 20x faster than
        # gathers on a fine grid, and equal to them to rounding (1e-14 K)
        wy = interp_matrix(src_lat, dst_lat)
        wx = interp_matrix(src_lon, dst_lon)
        return np.asarray(wy @ (v @ wx.T), dtype=np.float64)
    # a missing source value must spoil only the cells next to it (a matrix product
    # would spread it along its whole row and column): gathers
    def neighbours(src: np.ndarray, dst: np.ndarray) -> tuple[np.ndarray, np.ndarray,
                                                                np.ndarray]:
        if src.size == 1:
            zeros = np.zeros(dst.size, dtype=np.intp)
            return zeros, zeros, np.zeros(dst.size)
        lo, frac = _positions(src, dst)
        return lo, lo + 1, frac

    i0, i1, wy_ = neighbours(src_lat, dst_lat)
    j0, j1, wx_ = neighbours(src_lon, dst_lon)
    wy_c = wy_[:, None]
    wx_r = wx_[None, :]
    rows = v[..., j0] * (1 - wx_r) + v[..., j1] * wx_r
    return np.asarray(rows[..., i0, :] * (1 - wy_c) + rows[..., i1, :] * wy_c)


def saturation_vapour_pressure(temp_c: np.ndarray) -> np.ndarray:
    """Magnus formula over water (hPa), Alduchov & Eskridge (1996) constants.

    The same operations in the same order as ``6.1094 * exp(17.625 * t / (t + 243.04))``
    (the same bits), on two temporaries instead of five: on the window's start-up
    baseline each fresh (time, lat, lon) array costs more in first-touch page faults
    than in arithmetic."""
    scaled = np.multiply(temp_c, 17.625)
    if np.ndim(scaled) == 0:
        return 6.1094 * np.exp(scaled / (temp_c + 243.04))
    np.divide(scaled, np.add(temp_c, 243.04), out=scaled)
    np.exp(scaled, out=scaled)
    scaled *= 6.1094
    return scaled


def downscale_temperature(coarse: xr.Dataset, terrain: xr.Dataset, method: str,
                          lapse_rate: float = STANDARD_LAPSE_RATE) -> np.ndarray:
    """Coarse ``temperature`` on the fine grid by ``method``: float32 (time, lat, lon)."""
    from desktop_app.downscale.lapse import estimate_lapse_rate, toposcale_temperature

    if method not in METHODS:
        raise SchemaError(f"unknown baseline method {method!r}; known: {', '.join(METHODS)}")
    if method == "toposcale" and not has_pressure_levels(coarse):
        raise SchemaError("the TopoSCALE baseline needs pressure levels in the coarse input "
                          f"({' and '.join(PRESSURE_LEVEL_VARS)})")
    wy = interp_matrix(coarse["latitude"].values, terrain["latitude"].values
                       ).astype(np.float32)
    wx = interp_matrix(coarse["longitude"].values, terrain["longitude"].values
                       ).astype(np.float32)
    t = np.asarray(coarse["temperature"].values, np.float32)
    z_coarse = np.asarray(coarse["elevation"].values, np.float32)
    z_fine = np.asarray(terrain["elevation"].values, np.float32)
    if method == "toposcale":
        dims = ("time", "pressure_level", "latitude", "longitude")
        levels = [np.asarray(coarse[v].transpose(*dims).values, np.float32)
                  for v in PRESSURE_LEVEL_VARS]
        return toposcale_temperature(t, z_coarse, levels[0], levels[1], z_fine, wy, wx)
    t_interp = separable_bilinear(t, wy, wx)
    if method == "bilinear":
        return t_interp.astype(np.float32)
    dz_km = (z_fine - wy @ z_coarse @ wx.T) / np.float32(1000.0)
    if method == "lapse_fixed":
        return (t_interp + np.float32(lapse_rate) * dz_km).astype(np.float32)
    gamma = estimate_lapse_rate(t, z_coarse).astype(np.float32)
    return (t_interp + separable_bilinear(gamma, wy, wx) * dz_km).astype(np.float32)


def lapse_rate_baseline(
    coarse: xr.Dataset, terrain: xr.Dataset, lapse_rate: float = STANDARD_LAPSE_RATE,
    method: str = "lapse_fixed",
) -> xr.Dataset:
    """Downscale ``coarse`` (time, lat, lon, with an ``elevation`` orography) to the grid
    of ``terrain`` (``elevation`` on latitude/longitude).

    Returns a canonical grid Dataset with the variables of ``coarse`` that the baseline
    knows how to move (temperature, relative_humidity, surface_pressure, wind_speed);
    temperature by ``method`` (see :data:`METHODS`; ``lapse_rate`` is the fixed rate),
    humidity and pressure consistently with the temperature it gives.
    """
    for name, ds in (("coarse", coarse), ("terrain", terrain)):
        if "elevation" not in ds:
            raise SchemaError(f"{name} dataset needs an 'elevation' variable for the baseline")
    if "temperature" not in coarse:
        raise SchemaError("coarse dataset has no 'temperature' to downscale")
    src_lat = coarse["latitude"].values
    src_lon = coarse["longitude"].values
    lat = terrain["latitude"].values
    lon = terrain["longitude"].values
    wy = interp_matrix(src_lat, lat).astype(np.float32)
    wx = interp_matrix(src_lon, lon).astype(np.float32)

    def interp_all(name: str) -> np.ndarray | None:
        """The whole of a coarse variable with missing values, on the fine grid (None
        when it has none: it is then interpolated a block at a time)."""
        values = coarse[name].values
        if np.isfinite(values).all():
            return None
        return bilinear(values, src_lat, src_lon, lat, lon).astype(np.float32)

    names = [n for n in ("temperature", "surface_pressure", "relative_humidity",
                         "wind_speed") if n in coarse]
    with_gaps = {n: interp_all(n) for n in [*names, "elevation"]}

    def interp(name: str, steps: slice | None = None) -> np.ndarray:
        whole = with_gaps[name]
        if whole is not None:
            return whole if steps is None else whole[steps]
        values = coarse[name].values
        return separable_bilinear(values if steps is None else values[steps], wy, wx)

    z_fine = terrain["elevation"].values.astype(np.float32)
    dz = z_fine - interp("elevation")  # metres the fine cell sits above the coarse one
    lapse_dz = np.float32(lapse_rate / 1000.0) * dz
    g_dz = np.float32(-_G / _RD) * dz
    t_other = None if method == "lapse_fixed" else downscale_temperature(
        coarse, terrain, method, lapse_rate).astype(np.float32, copy=False)
    nt = coarse.sizes["time"]
    out = {n: np.empty((nt, lat.size, lon.size), np.float32) for n in names}

    # float32, a block of steps at a time, in place where it can be: the output is
    # float32, and a whole-stack temporary is a fresh block of memory whose first touch
    # costs more than the arithmetic (the window computes this at start-up, with no
    # huge pages: 105 ms for the sample region's stack, 59 ms of it page faults); a
    # block's temporaries stay in the cache and their memory is reused. Each value is
    # computed by the same operations in the same order as over the whole stack.
    for start in range(0, nt, BLOCK_STEPS):
        s = slice(start, start + BLOCK_STEPS)
        t_interp = interp("temperature", s)
        if t_other is None:
            t_fine = np.add(t_interp, lapse_dz, out=out["temperature"][s])
        else:
            t_fine = out["temperature"][s]
            t_fine[...] = t_other[s]
        pressure_ratio = None
        if "surface_pressure" in out:
            # exp(-g dz / (Rd T_mean)), T_mean in K from the two temperatures
            pressure_ratio = np.add(t_interp, t_fine)
            pressure_ratio *= np.float32(0.5)
            pressure_ratio += np.float32(273.15)
            np.reciprocal(pressure_ratio, out=pressure_ratio)
            pressure_ratio *= g_dz
            np.exp(pressure_ratio, out=pressure_ratio)
            np.multiply(interp("surface_pressure", s), pressure_ratio,
                        out=out["surface_pressure"][s])
        if "relative_humidity" in out:
            e = interp("relative_humidity", s)  # % -> vapour pressure (hPa), coarse cell
            e *= saturation_vapour_pressure(t_interp) / np.float32(100.0)
            if pressure_ratio is not None:
                e *= pressure_ratio
            e /= saturation_vapour_pressure(t_fine)  # -> fraction at the fine temperature
            e *= np.float32(100.0)
            np.clip(e, 0.0, 100.0, out=out["relative_humidity"][s])
        if "wind_speed" in out:
            np.maximum(interp("wind_speed", s), 0.0, out=out["wind_speed"][s])

    coords = {"time": coarse["time"].values, "latitude": lat, "longitude": lon}
    how = f"fixed lapse rate {lapse_rate} K/km" if method == "lapse_fixed" else METHODS[method]
    data_vars = {
        name: (("time", "latitude", "longitude"), values.astype(np.float32, copy=False),
               VARIABLES[name].cf_attrs())
        for name, values in out.items()
    }
    result = xr.Dataset(data_vars, coords=coords)
    result["elevation"] = terrain["elevation"]
    result.attrs = {
        "title": "lapse-rate baseline downscaling",
        "method": f"temperature: {how}; hypsometric pressure, constant specific humidity",
        "baseline_method": method,
        "source": coarse.attrs.get("title", "coarse background"),
    }
    return result
