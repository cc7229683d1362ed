"""Baselines that follow the atmosphere: a lapse rate read off the coarse field itself,
and TopoSCALE-style interpolation in the coarse column's pressure-level profile.

A fixed -6.5 K/km is the mean of the free troposphere; near the ground in winter the
real gradient is often positive (cold air pools in valleys: inversions). Two ways to
follow what the atmosphere is doing at each step, both vectorised NumPy:

- :func:`estimate_lapse_rate`: per coarse cell and step, the slope of a regression of
  temperature on coarse orography over the (2r+1)x(2r+1) neighbourhood of coarse
  cells, shrunk towards the standard rate where the neighbourhood has little relief (a
  ridge prior: with no relief there is no information, so the standard rate stands),
  and bounded to a physical range that allows inversions.
- :func:`toposcale_temperature`: after Fiddes and Gruber (2014, Geosci. Model Dev. 7,
  387-405), the temperature at the fine elevation from the coarse column's
  temperature/geopotential-height profile (pressure levels, bilinearly interpolated to
  the fine grid, linear in height between levels). Near the ground the pressure levels
  do not see the surface layer, so the surface field's departure from the profile at
  the coarse ground is added back, fading with height above the coarse ground.
"""

from __future__ import annotations

import numpy as np

from desktop_app.downscale.baseline import STANDARD_LAPSE_RATE

# Over a neighbourhood of coarse cells the gradient cannot be steeper than dry
# adiabatic (-9.8 K/km) for long; strong valley inversions reach well above +10 K/km
# at stations, but averaged over coarse cells +10 K/km is already extreme.
LAPSE_BOUNDS = (-10.0, 10.0)  # K/km
# neighbourhood relief (std of the orography) at which the data and the prior weigh equally
RELIEF_SCALE_M = 150.0
DEFAULT_RADIUS = 1  # coarse cells: a 3x3 neighbourhood
# e-folding height of the surface layer's departure above the coarse ground: see
# toposcale_temperature (infinite: the departure holds at every height)
BLEND_HEIGHT_M = float("inf")


def box_sum(values: np.ndarray, r: int) -> np.ndarray:
    """Sum over the (2r+1)x(2r+1) window on the last two axes, shrunk at the edges."""
    v = np.asarray(values, float)
    *lead, ny, nx = v.shape
    c = np.zeros((*lead, ny + 1, nx + 1))
    c[..., 1:, 1:] = v.cumsum(-2).cumsum(-1)
    i0 = np.clip(np.arange(ny) - r, 0, ny)
    i1 = np.clip(np.arange(ny) + r + 1, 0, ny)
    j0 = np.clip(np.arange(nx) - r, 0, nx)
    j1 = np.clip(np.arange(nx) + r + 1, 0, nx)
    return np.asarray(c[..., i1, :][..., j1] - c[..., i0, :][..., j1]
                      - c[..., i1, :][..., j0] + c[..., i0, :][..., j0])


def estimate_lapse_rate(temperature: np.ndarray, orography: np.ndarray, *,
                        radius: int = DEFAULT_RADIUS,
                        relief_scale_m: float = RELIEF_SCALE_M,
                        bounds: tuple[float, float] = LAPSE_BOUNDS,
                        prior: float = STANDARD_LAPSE_RATE) -> np.ndarray:
    """Lapse rate (K/km) per coarse cell and step from ``temperature (..., ny, nx)`` and
    ``orography (ny, nx)`` (m).

    Ridge regression of T on z in each neighbourhood, towards ``prior``:
    ``(cov(T, z) + s^2 prior) / (var(z) + s^2)`` with ``s = relief_scale_m``; so a flat
    neighbourhood (var(z) << s^2) keeps the standard rate, a mountainous one follows
    its own data, and the result is clipped to ``bounds``.
    """
    z = np.asarray(orography, float)
    t = np.asarray(temperature, float)
    n = box_sum(np.ones_like(z), radius)
    z_mean = box_sum(z, radius) / n
    var_z = np.maximum(box_sum(z * z, radius) / n - z_mean ** 2, 0.0)
    t_mean = box_sum(t, radius) / n
    cov = box_sum(t * z, radius) / n - t_mean * z_mean
    s2 = relief_scale_m ** 2
    gamma = (cov + s2 * prior / 1000.0) / (var_z + s2) * 1000.0
    return np.clip(gamma, *bounds)


def _interp_in_height(z: np.ndarray, heights: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Piecewise-linear ``values(z)`` per cell, ``heights``/``values`` (levels, ...) with
    heights ascending along the first axis; beyond the ends the end segment's slope
    continues (extrapolation into the ground or above the top level). One pass per
    segment (a few levels) instead of a gather: several times faster on large grids."""
    out = None
    for k in range(heights.shape[0] - 1):
        z0, v0 = heights[k], values[k]
        slope = (values[k + 1] - v0) / np.maximum(heights[k + 1] - z0, 1.0)
        segment = v0 + (z - z0) * slope
        out = segment if out is None else np.where(z >= z0, segment, out)
    assert out is not None, "a profile needs at least two levels"
    return np.asarray(out)


def levels_spanning(heights: np.ndarray, lo: float, hi: float) -> slice:
    """The levels (axis 1 of ``heights (time, level, ...)``, ascending) needed to
    interpolate anywhere in ``[lo, hi]``: the ones around that range and those inside."""
    n = heights.shape[1]
    top = heights.max(axis=(0, *range(2, heights.ndim)))
    bottom = heights.min(axis=(0, *range(2, heights.ndim)))
    k0 = max(0, int((top <= lo).sum()) - 1)
    k1 = min(n, n - int((bottom >= hi).sum()) + 1)
    k1 = max(k1, k0 + 2)
    return slice(min(k0, n - 2), min(n, k1))


def level_order(heights: np.ndarray) -> np.ndarray:
    """Indices that sort the level axis (axis -3) by mean height, lowest first."""
    h = np.asarray(heights)
    axes = tuple(a for a in range(h.ndim) if a != h.ndim - 3)
    return np.argsort(h.mean(axis=axes))


def toposcale_temperature(t_surface: np.ndarray, z_surface: np.ndarray,
                          t_levels: np.ndarray, z_levels: np.ndarray, z_fine: np.ndarray,
                          wy: np.ndarray, wx: np.ndarray, *,
                          blend_height_m: float = BLEND_HEIGHT_M) -> np.ndarray:
    """Temperature at the fine elevation, ``(time, rows, cols)``.

    ``t_surface (time, ny, nx)`` is the coarse 2 m temperature, ``z_surface (ny, nx)``
    the coarse orography (m); ``t_levels``/``z_levels (time, level, ny, nx)`` the
    pressure-level temperature and geopotential height (m); ``z_fine (rows, cols)``;
    ``wy (rows, ny)``/``wx (cols, nx)`` the bilinear weights to the fine grid.
    """
    order = level_order(z_levels)
    t_lev = np.asarray(t_levels, np.float32)[:, order]
    z_lev = np.asarray(z_levels, np.float32)[:, order]
    zs = np.asarray(z_surface, np.float32)
    zf = np.asarray(z_fine, np.float32)
    wy = np.asarray(wy, np.float32)
    wx = np.asarray(wx, np.float32)
    nt = t_lev.shape[0]
    # the surface layer's departure from the free-atmosphere profile, on the coarse grid
    offset = (np.asarray(t_surface, np.float32)
              - _interp_in_height(zs[None], z_lev.transpose(1, 0, 2, 3),
                                  t_lev.transpose(1, 0, 2, 3)))
    zc_fine = wy @ zs @ wx.T
    fade = np.exp(-np.maximum(zf - zc_fine, 0.0) / blend_height_m).astype(np.float32)
    # only the levels around the fine terrain's height range go to the fine grid
    used = levels_spanning(z_lev, float(zf.min()), float(zf.max()))
    t_lev, z_lev = t_lev[:, used], z_lev[:, used]
    out = np.empty((nt, *zf.shape), np.float32)
    for t in range(nt):
        t_f = _to_fine(t_lev[t], wy, wx)  # (level, rows, cols): the column at each fine cell
        z_f = _to_fine(z_lev[t], wy, wx)
        out[t] = _interp_in_height(zf, z_f, t_f) + fade * (wy @ offset[t] @ wx.T)
    return out


def _to_fine(levels: np.ndarray, wy: np.ndarray, wx: np.ndarray) -> np.ndarray:
    """Bilinear of each level ``(level, ny, nx)`` as one tall matrix product (a batched
    3-D matmul of small matrices is many times slower)."""
    n, ny, nx = levels.shape
    rows = (wy @ levels.transpose(1, 0, 2).reshape(ny, n * nx))  # (fine rows, n * nx)
    rows = rows.reshape(-1, n, nx).transpose(1, 0, 2).reshape(n * wy.shape[0], nx)
    return np.asarray(rows @ wx.T).reshape(n, wy.shape[0], wx.shape[0])
