"""Plain NumPy reference implementations of the QC kernels, used by the tests.

Written from the rules, vectorised and without Numba, deliberately not sharing code with
``_kernels.py``: the property tests run both on the same inputs and demand equal flags.
Inputs are what the kernels get (normalised by ``checks``); the buddy check here is the
brute-force n^2 version, fine for the few hundred stations a test uses.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from numpy.typing import NDArray

from desktop_app.core.flags import QCFlag

F = NDArray[np.float64]
U8 = NDArray[np.uint8]
_TINY = np.finfo(np.float64).tiny


def gross_range(x: F, flo: float, fhi: float, slo: float, shi: float, has_suspect: bool) -> U8:
    with np.errstate(invalid="ignore"):
        out = np.where(np.isfinite(x), QCFlag.PASS, QCFlag.MISSING).astype(np.uint8)
        if has_suspect:
            out[(x < slo) | (x > shi)] = QCFlag.SUSPECT
        out[(x < flo) | (x > fhi)] = QCFlag.FAIL
    return out


def rate_of_change(x: F, t_ns: NDArray[np.int64], threshold: float, fail: float,
                   has_fail: bool) -> U8:
    dt = np.diff(t_ns.view("timedelta64[ns]")).astype("timedelta64[s]").astype(np.float64)
    out = np.full(x.size, QCFlag.PASS, np.uint8)
    with np.errstate(all="ignore"):
        dv = np.diff(x)
        rate = dv / dt
        masked = (np.abs(dv) * _TINY >= np.abs(dt)) | ~np.isfinite(rate)
        roc = np.where(masked, np.abs(dv), np.abs(rate))
        out[1:][roc > threshold] = QCFlag.SUSPECT
        if has_fail:
            out[1:][roc > fail] = QCFlag.FAIL
    out[~np.isfinite(x)] = QCFlag.MISSING
    return out


def spike(x: F, suspect: float, fail: float, use_suspect: bool, use_fail: bool,
          differential: bool) -> U8:
    n = x.size
    out = np.full(n, QCFlag.PASS, np.uint8)
    if n >= 3:
        a, b, c = x[:-2], x[1:-1], x[2:]
        with np.errstate(all="ignore"):
            if differential:
                d1, d2 = b - a, c - b
                diff = np.where(d1 * d2 >= 0, 0.0, np.minimum(np.abs(d1), np.abs(d2)))
                unknown = ~(np.isfinite(a) & np.isfinite(b) & np.isfinite(c))
            else:
                ref = (a + c) / 2
                diff = np.abs(b - ref)
                unknown = ~(np.isfinite(a) & np.isfinite(c) & np.isfinite(ref))
                unknown |= np.abs(a + c) * _TINY >= 2.0  # numpy.ma safe-division domain
            unknown |= ~np.isfinite(diff)
            mid = out[1:-1]
            if use_suspect:
                mid[diff > suspect] = QCFlag.SUSPECT
            if use_fail:
                mid[diff > fail] = QCFlag.FAIL
            mid[unknown] = QCFlag.NOT_EVALUATED
    out[[0, -1]] = QCFlag.NOT_EVALUATED
    out[~np.isfinite(x)] = QCFlag.MISSING
    return out


def _flat(x: F, count: int, tolerance: float) -> NDArray[np.bool_]:
    flagged = np.zeros(x.size, bool)
    if x.size <= count:
        return flagged
    windows = sliding_window_view(np.where(np.isfinite(x), x, np.nan), count + 1)
    with np.errstate(invalid="ignore"):
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN windows
            spread = np.abs(np.nanmax(windows, axis=1) - np.nanmin(windows, axis=1))
    flagged[count:] = spread < tolerance
    return flagged


def flat_line(x: F, suspect_count: int, fail_count: int, tolerance: float,
              evaluate: bool) -> U8:
    out = np.full(x.size, QCFlag.PASS, np.uint8)
    if x.size < 3:
        return out
    if evaluate:
        out[_flat(x, suspect_count, tolerance)] = QCFlag.SUSPECT
        out[_flat(x, fail_count, tolerance)] = QCFlag.FAIL
    out[~np.isfinite(x)] = QCFlag.MISSING
    return out


def robust_outlier(x: F, suspect_z: float, fail_z: float, min_count: int) -> U8:
    finite = np.isfinite(x)
    out = np.full(x.size, QCFlag.NOT_EVALUATED, np.uint8)
    good = x[finite]
    if good.size >= max(min_count, 1):
        med = np.median(good)
        scale = 1.482602218505602 * np.median(np.abs(good - med))
        if scale > 0:
            z = np.abs(x - med) / scale
            with np.errstate(invalid="ignore"):
                out = np.select([z > fail_z, z > suspect_z], [QCFlag.FAIL, QCFlag.SUSPECT],
                                QCFlag.PASS).astype(np.uint8)
    out[~finite] = QCFlag.MISSING
    return out


def climatology(x: F, month: NDArray[np.int64], lo: F, hi: F) -> U8:
    a, b = lo[month], hi[month]
    with np.errstate(invalid="ignore"):
        out = np.where((x < a) | (x > b), QCFlag.SUSPECT, QCFlag.PASS).astype(np.uint8)
    out[np.isnan(a) | np.isnan(b)] = QCFlag.NOT_EVALUATED
    out[~np.isfinite(x)] = QCFlag.MISSING
    return out


def buddy_check(lats: F, lons: F, elevs: F, values: F, radius: F, num_min: NDArray[np.int64],
                threshold: float, max_elev_diff: float, elev_gradient: float, min_std: float,
                num_iterations: int) -> U8:
    """Brute force, one time step: ``values`` is (station,)."""
    lat, lon = np.deg2rad(lats), np.deg2rad(lons)
    xyz = np.stack([np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)], 1)
    xyz *= 6378137.0
    dist = np.sqrt(((xyz[:, None, :] - xyz[None, :, :]) ** 2).sum(-1))
    near = (dist < radius[:, None]) & (dist > 0)  # same position: never a buddy
    de = elevs[:, None] - elevs[None, :]  # elev_i - elev_j
    adjusted = np.broadcast_to(values[None, :], near.shape).copy()
    if max_elev_diff > 0:
        near &= np.abs(de) <= max_elev_diff
        adjusted = adjusted + de * elev_gradient
    finite = np.isfinite(values)
    flagged = np.zeros(values.size, bool)
    evaluated = np.zeros(values.size, bool)
    for _ in range(num_iterations):
        use = near & finite[None, :] & ~flagged[None, :]
        n = use.sum(1)
        with np.errstate(all="ignore"):
            mean = np.where(use, adjusted, 0.0).sum(1) / n
            var = np.where(use, (adjusted - mean[:, None]) ** 2, 0.0).sum(1) / n
            std = np.maximum(np.sqrt(var + var / n), min_std)
            checked = finite & ~flagged & (n >= num_min)
            new = checked & (np.abs(values - mean) / std > threshold)
        evaluated |= checked
        if not new.any():
            break
        flagged |= new
    out = np.where(evaluated, QCFlag.PASS, QCFlag.NOT_EVALUATED).astype(np.uint8)
    out[flagged] = QCFlag.SUSPECT
    out[~finite] = QCFlag.MISSING
    return out
