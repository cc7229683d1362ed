"""Detectors on real series with injected (generated, labelled) faults: fitted on the
first half, scored on the held-out second half, compared with trivial baselines
computed on the same data."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from desktop_app.sources.stations import read_tmy3
from desktop_app.watch.anomaly import Forest, RobustZ, features
from desktop_app.watch.faults import evaluate, inject, score

DATA = Path(__file__).resolve().parent.parent / "data" / "qc"


def tmy3(name):
    ds = read_tmy3(DATA / name)
    t = ds["time"].values.astype("datetime64[s]").astype(np.int64)
    return t, ds["temperature"].values[0].astype(np.float64)


def sensor_series():
    frame = pd.read_csv(DATA / "20363_1000427.csv.gz")
    return frame["time_epoch"].to_numpy(np.int64), frame["value"].to_numpy(np.float64)


@pytest.mark.parametrize("load,events", [
    (lambda: tmy3("723170TYA.CSV"), 40),
    (lambda: tmy3("703165TY.csv"), 40),
    (sensor_series, 200),
])
def test_detectors_beat_trivial_baselines_on_held_out_faults(load, events):
    t, v = load()
    results = evaluate(t, v, events, seed=3)
    best_baseline = max(s.f1 for k, s in results.items() if k.startswith("baseline"))
    assert results["robust_z"].f1 > best_baseline
    assert results["robust_z OR forest"].f1 > best_baseline
    assert results["isolation_forest"].precision > results[
        "baseline: random at fault rate"].precision


def test_injected_labels_match_the_faults():
    t, v = tmy3("723170TYA.CSV")
    data = inject(t, v, 8, seed=1)
    kinds = [k for k, _, _ in data.events]
    assert kinds == ["spike", "stuck", "gap", "drift"] * 2
    for kind, a, b in data.events:
        assert data.label[a:b + 1].all()
        if kind == "stuck":
            assert np.all(data.values[a:b + 1] == data.values[a - 1])
        if kind == "gap":
            assert data.times[a] - data.times[a - 1] > 3 * 3600
    # a perfect detector scores 1, an empty one 0
    assert score(data.label, data).f1 == 1.0
    assert score(np.zeros_like(data.label), data).f1 == 0.0


def test_robust_scale_survives_a_mostly_constant_feature():
    t, v = sensor_series()
    feats = features(t[:5000], v[:5000])
    r = RobustZ().fit(feats)
    assert np.all(np.isfinite(r.scale.scale)) and np.all(r.scale.scale > 0)
    # on its own history only a small share is flagged
    assert r.flags(feats).mean() < 0.02


def test_forest_without_scikit_learn_names_the_extra(monkeypatch):
    import builtins
    real = builtins.__import__

    def fake(name, *a, **k):
        if name.startswith("sklearn"):
            raise ModuleNotFoundError("No module named 'sklearn'", name="sklearn")
        return real(name, *a, **k)

    monkeypatch.setattr(builtins, "__import__", fake)
    from desktop_app.errors import MicroclimateError
    with pytest.raises(MicroclimateError, match=r"\[watch\] extra"):
        Forest().fit(np.zeros((300, 5)))
