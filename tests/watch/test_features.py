"""Windowed features and incremental QC on real series against plain references."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from desktop_app.qc import checks
from desktop_app.qc.config import default_tests
from desktop_app.watch.features import qc_rows, qc_tests, window_ends, window_features

DATA = Path(__file__).resolve().parent.parent / "data" / "qc"


def sensor(n=3000):
    frame = pd.read_csv(DATA / "20363_1000427.csv.gz", nrows=n)
    return (frame["time_epoch"].to_numpy(np.int64).copy(),
            frame["value"].to_numpy(np.float64).copy())


def test_window_features_match_a_plain_loop():
    t, v = sensor()
    v[100:110] = np.nan  # real series with a missing stretch
    ends = window_ends(int(t[0]), int(t[-1]), 60)[::7]
    got = window_features(t, v, ends, window_s=3600)
    for k, e in enumerate(ends[:400]):
        m = (t > e - 3600) & (t <= e) & np.isfinite(v)
        assert got[k, 0] == m.sum()
        if m.sum() == 0:
            assert np.isnan(got[k, 1])
            continue
        np.testing.assert_allclose(got[k, 1], v[m].mean(), rtol=1e-9)
        assert got[k, 2] == v[m].min() and got[k, 3] == v[m].max()
        if m.sum() >= 2 and np.ptp(t[m]) > 0:
            np.testing.assert_allclose(got[k, 4], np.polyfit(t[m] / 3600.0, v[m], 1)[0],
                                       rtol=1e-6, atol=1e-9)


def test_window_ends_on_the_minute_grid():
    np.testing.assert_array_equal(window_ends(61, 300), [120, 180, 240, 300])
    assert window_ends(301, 310).size == 0


def test_incremental_qc_equals_batch_qc_on_a_real_series():
    frame = pd.read_csv(DATA / "723170TYA.CSV", skiprows=1)
    v = frame["Dry-bulb (C)"].to_numpy(np.float64)[:500].copy()
    t = np.arange(v.size, dtype=np.int64) * 3600  # hourly, as the file is
    v[200] += 20.0  # one injected spike so the checks have something to flag
    tests = qc_tests("temperature")
    p = default_tests("temperature")
    batch = {
        "gross_range": checks.gross_range(v, p["gross_range"].fail_span,
                                          p["gross_range"].suspect_span),
        "spike": checks.spike(v, p["spike"].suspect_threshold, p["spike"].fail_threshold),
        "rate_of_change": checks.rate_of_change(v, t.astype("datetime64[s]"),
                                                p["rate_of_change"].threshold),
    }
    window = 24
    seen: dict[int, dict] = {}
    prev = window - 3
    for end in [*range(window, v.size, 3), v.size]:  # polls bringing ~three values each
        lo = max(0, end - window)
        rows = qc_rows("s", "temperature", t[lo:end], v[lo:end], prev - lo, tests)
        prev = end
        for r in rows:
            detail = json.loads(r[4]) if r[4] is not None else dict.fromkeys(tests, 1)
            assert r[4] is not None or r[3] == 1  # no detail only when all passed
            seen[r[2]] = detail
    for name, flags in batch.items():
        # every value but the very last (spike needs its next neighbour) agrees
        for i in range(window, v.size - 1):
            assert seen[int(t[i])][name] == flags[i], (name, i)
    assert seen[int(t[200])]["spike"] >= 3
