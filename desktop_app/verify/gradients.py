"""Vertical temperature gradients that stations see, to check the baselines' lapse rates.

Per time step, the least-squares slope of temperature on station elevation over the
stations that report (K/km; positive = an inversion: warmer higher up). With stations
spread over a region, the slope mixes the vertical gradient with horizontal contrasts,
so its spread is wider than the free atmosphere's; its sign and centre are what the
comparison with a fixed -6.5 K/km rests on.
"""

from __future__ import annotations

from typing import Any

import numpy as np

DRY_ADIABATIC = -9.8  # K/km


def vertical_gradients(temperature: np.ndarray, elevation: np.ndarray,
                       min_stations: int = 3) -> np.ndarray:
    """K/km per step from ``temperature (station, time)`` (degC or K) and station
    ``elevation (station,)`` (m); NaN where fewer than ``min_stations`` report or
    those that do stand at one height."""
    t = np.asarray(temperature, float)
    z = np.asarray(elevation, float)[:, None] / 1000.0
    ok = np.isfinite(t)
    n = ok.sum(axis=0)
    zz = np.where(ok, z, 0.0)
    tt = np.where(ok, t, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        z_mean = zz.sum(0) / n
        t_mean = tt.sum(0) / n
        cov = (np.where(ok, (z - z_mean) * (t - t_mean), 0.0)).sum(0)
        var = (np.where(ok, (z - z_mean) ** 2, 0.0)).sum(0)
        slope = cov / var
    return np.where((n >= min_stations) & (var > 1e-9), slope, np.nan)


def summary(gradients: np.ndarray) -> dict[str, Any]:
    """Percentiles, mean, the share of inversions (> 0) and of steeper than dry
    adiabatic (< -9.8 K/km), over the finite values."""
    g = np.asarray(gradients, float)
    g = g[np.isfinite(g)]
    if g.size == 0:
        return {"n": 0}
    p = np.percentile(g, [5, 25, 50, 75, 95])
    return {"n": int(g.size), "mean": round(float(g.mean()), 2),
            "p05": round(float(p[0]), 2), "p25": round(float(p[1]), 2),
            "median": round(float(p[2]), 2), "p75": round(float(p[3]), 2),
            "p95": round(float(p[4]), 2),
            "share_inversion": round(float((g > 0).mean()), 3),
            "share_superadiabatic": round(float((g < DRY_ADIABATIC).mean()), 3)}
