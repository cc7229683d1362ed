"""Incremental QC and windowed features for one station's rolling window.

QC runs the QC engine's own checks (the tests the QC registry marks usable online:
gross range, rate of change, spike, flat line, with the variable's configured
parameters) over the rolling window and keeps the flags of the
new values plus the value just before them (spike needs the next neighbour, so the value
that was last in the previous poll is only now evaluable). Features are 5-minute
windows sliding by one minute: count, mean, min, max and the least-squares trend
(units per hour), computed for every window end that the new values touch.
"""

from __future__ import annotations

import json

import numpy as np
from numpy.typing import NDArray

from desktop_app.core.flags import QCFlag, worst
from desktop_app.qc.config import default_tests
from desktop_app.qc.registry import TimeAxis, online_tests, qc_test, series_check
from desktop_app.watch.store import QCRow

WINDOW_S = 300
STEP_S = 60


def qc_tests(variable: str) -> dict[str, object]:
    """The configured tests for ``variable`` that the registry marks usable online (the
    buddy check needs the network of stations, climatology a climate, robust outlier
    the whole series: those stay offline)."""
    return online_tests(default_tests(variable))


def qc_window(times_s: NDArray[np.int64], values: NDArray[np.float64],
              tests: dict[str, object]) -> tuple[NDArray[np.uint8], dict[str, NDArray[np.uint8]]]:
    """Aggregate flags and per-test flags over a window (ascending times)."""
    axis = TimeAxis(times_s.astype("datetime64[s]").astype("datetime64[ns]"))
    out = {name: series_check(name, p, axis)(values) for name, p in tests.items()}
    if not out:
        missing = ~np.isfinite(values)
        return np.where(missing, QCFlag.MISSING, QCFlag.NOT_EVALUATED).astype(np.uint8), out
    return worst(*out.values()).astype(np.uint8), out


def qc_rows(station: str, variable: str, times_s: NDArray[np.int64],
            values: NDArray[np.float64], first_new: int, tests: dict[str, object]
            ) -> list[QCRow]:
    """Rows for the store's ``qc_flags`` table: the new values and the one before.

    The checks run on the part of the window they can see from the new values: the
    flat-line span (its fail threshold) plus a step, not the whole window."""
    reach = max([int(qc_test(name).lookback_s(p)) for name, p in tests.items()], default=0)
    lo = int(np.searchsorted(times_s, times_s[min(first_new, times_s.size - 1)] - reach))
    lo = max(0, min(lo, first_new - 2))
    times_s, values, first_new = times_s[lo:], values[lo:], first_new - lo
    agg, per = qc_window(times_s, values, tests)
    start = max(0, first_new - 1)
    # per-test detail only where some test did not pass (most rows: NULL, a smaller store)
    passed = (np.all(np.stack(list(per.values())) == QCFlag.PASS, axis=0) if per
              else np.zeros(times_s.size, bool))
    return [QCRow(station, variable, int(times_s[i]), int(agg[i]),
                  None if passed[i] else json.dumps({k: int(v[i]) for k, v in per.items()}))
            for i in range(start, times_s.size)]


def window_features(times_s: NDArray[np.int64], values: NDArray[np.float64],
                    ends: NDArray[np.int64], window_s: int = WINDOW_S
                    ) -> NDArray[np.float64]:
    """(len(ends), 5) array: n, mean, min, max, trend per hour over (end - window, end].

    Vectorised with cumulative sums; windows with no finite value give NaN stats.
    """
    ok = np.isfinite(values)
    t, v = times_s[ok], values[ok]
    lo = np.searchsorted(t, ends - window_s, side="right")
    hi = np.searchsorted(t, ends, side="right")
    n = (hi - lo).astype(np.float64)
    out = np.full((ends.size, 5), np.nan)
    out[:, 0] = n
    if t.size == 0:
        return out
    tc = (t - t[0]).astype(np.float64) / 3600.0  # hours, centred on the window start
    cs = [np.concatenate([[0.0], np.cumsum(a)]) for a in (v, tc, tc * v, tc * tc)]
    sv, st, stv, stt = (c[hi] - c[lo] for c in cs)
    with np.errstate(invalid="ignore", divide="ignore"):
        out[:, 1] = sv / n
        var_t = stt - st * st / n
        out[:, 4] = np.where(var_t > 1e-12, (stv - st * sv / n) / var_t, np.nan)
    width = int(n.max()) if n.size else 0
    if width:
        idx = lo[:, None] + np.arange(width)[None, :]
        inside = idx < hi[:, None]
        seg = v[np.minimum(idx, v.size - 1)]
        has = n > 0
        out[has, 2] = np.where(inside, seg, np.inf).min(axis=1)[has]
        out[has, 3] = np.where(inside, seg, -np.inf).max(axis=1)[has]
    return out


def window_ends(first_new_s: int, last_s: int, step_s: int = STEP_S) -> NDArray[np.int64]:
    """Window ends on the step grid from the first new value to the latest value: the
    windows a poll's new values change (later windows are computed when their data comes)."""
    start = -(-first_new_s // step_s) * step_s
    stop = (last_s // step_s) * step_s
    return np.arange(start, stop + 1, step_s, dtype=np.int64)
