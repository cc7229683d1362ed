"""Injected faults on real series, with labels: the labelled set the anomaly
detectors are scored on. The series are real; the faults are generated (seeded) and
labelled as such.

Kinds: ``spike`` (one value +- 5..10 robust sigmas of the step changes), ``stuck``
(the value repeats for 6..12 steps), ``gap`` (6..24 values removed; the first value
after the gap is labelled), ``drift`` (an additive ramp growing to 8..15 step sigmas
over 12..36 steps). A fault event is ``(kind, first, last)`` in the faulty series.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

KINDS = ("spike", "stuck", "gap", "drift")


@dataclass
class Labelled:
    times: NDArray[np.int64]
    values: NDArray[np.float64]
    label: NDArray[np.bool_]
    events: list[tuple[str, int, int]]


def inject(times: NDArray[np.int64], values: NDArray[np.float64], n_events: int,
           seed: int = 0) -> Labelled:
    rng = np.random.default_rng(seed)
    v = values.astype(np.float64).copy()
    keep = np.ones(v.size, bool)
    sigma = 1.4826 * float(np.nanmedian(np.abs(np.diff(v) - np.nanmedian(np.diff(v)))))
    sigma = sigma if sigma > 0 else float(np.nanstd(np.diff(v)) or 1.0)
    slots = np.sort(rng.choice(np.arange(50, v.size - 60, 60), size=n_events, replace=False))
    raw: list[tuple[str, int, int]] = []
    for j, start in enumerate(slots):
        kind = KINDS[j % len(KINDS)]
        if kind == "spike":
            v[start] += rng.choice([-1, 1]) * rng.uniform(5, 10) * max(sigma, 0.5)
            raw.append((kind, start, start))
        elif kind == "stuck":
            length = int(rng.integers(6, 13))
            v[start:start + length] = v[start]
            raw.append((kind, start + 1, start + length - 1))
        elif kind == "gap":
            length = int(rng.integers(6, 25))
            keep[start:start + length] = False
            raw.append((kind, start + length, start + length))
        else:
            length = int(rng.integers(12, 37))
            v[start:start + length] += np.linspace(0, rng.uniform(8, 15) * max(sigma, 0.5),
                                                   length)
            raw.append((kind, start + length // 3, start + length - 1))
    # renumber to positions in the kept series
    new_index = np.cumsum(keep) - 1
    events = [(k, int(new_index[a]), int(new_index[b])) for k, a, b in raw]
    t, x = times[keep], v[keep]
    label = np.zeros(x.size, bool)
    for _, a, b in events:
        label[a:b + 1] = True
    return Labelled(t, x, label, events)


@dataclass
class Score:
    precision: float
    recall: float
    f1: float
    flagged: int
    recall_by_kind: dict[str, float]


def score(flags: NDArray[np.bool_], data: Labelled, margin: int = 1) -> Score:
    """Event recall (an event counts when a flag falls in it or ``margin`` steps after)
    and point precision (a flag counts when it falls in or ``margin`` after an event)."""
    near = data.label.copy()
    for _, a, b in data.events:
        near[a:min(b + 1 + margin, near.size)] = True
    flagged = int(flags.sum())
    precision = float((flags & near).sum() / flagged) if flagged else 0.0
    hits = [flags[a:min(b + 1 + margin, flags.size)].any() for _, a, b in data.events]
    recall = float(np.mean(hits)) if hits else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    by_kind = {k: float(np.mean([h for h, (kind, _, _) in zip(hits, data.events, strict=True)
                                 if kind == k]))
               for k in KINDS if any(e[0] == k for e in data.events)}
    return Score(precision, recall, f1, flagged, by_kind)


def persistence_forecast(times: NDArray[np.int64], values: NDArray[np.float64],
                         lag_s: int = 86400) -> NDArray[np.float64]:
    """The naive forecast a residual is taken against in the labelled set: the value
    ``lag_s`` earlier (linear in time; NaN before the series has that much history)."""
    out = np.interp(times - lag_s, times, values)
    out[times - lag_s < times[0]] = np.nan
    return np.asarray(out, dtype=np.float64)


def evaluate(times: NDArray[np.int64], values: NDArray[np.float64], n_events: int,
             seed: int = 0) -> dict[str, Score]:
    """Fit on the first half of a real series, inject faults into the second half,
    score each detector and two trivial baselines there (nothing is tuned on it)."""
    from desktop_app.watch.anomaly import Forest, RobustZ, features

    ok = np.isfinite(values)
    times, values = times[ok], values[ok]
    half = times.size // 2
    ht, hv = times[:half], values[:half]
    hist = features(ht, hv, persistence_forecast(ht, hv))
    data = inject(times[half:], values[half:], n_events, seed)
    # the forecast for the held-out half comes from its own (faulty) past, as live
    fc = persistence_forecast(np.concatenate([ht, data.times]),
                              np.concatenate([hv, data.values]))[half:]
    feats = features(data.times, data.values, fc)
    robust = RobustZ().fit(hist)
    forest = Forest().fit(hist)
    rflags, fflags = robust.flags(feats), forest.flags(feats)
    rng = np.random.default_rng(seed + 1)
    prevalence = float(data.label.mean())
    baselines = {
        "baseline: flag everything": np.ones(data.label.size, bool),
        "baseline: random at fault rate": rng.random(data.label.size) < prevalence,
    }
    results = {"robust_z": score(rflags, data), "isolation_forest": score(fflags, data),
               "robust_z OR forest": score(rflags | fflags, data)}
    results.update({k: score(v, data) for k, v in baselines.items()})
    return results
