"""Anomaly detection on a station's series: robust z-scores and an IsolationForest.

Per value the detectors see five features, each taken against the station's own
recent history: the step change ``delta``, the deviation from the median of the last
``k`` values ``dev``, the log range of the last ``k`` values ``logrange`` (a stuck
sensor has range 0), the forecast residual ``residual`` (value - forecast; NaN without a
forecast) and the time step relative to the usual one ``gap``.

- :class:`RobustZ`: each feature's robust z (median / 1.4826 MAD of the history); a
  value is anomalous when any |z| passes ``threshold`` (the log range only on its low
  side: a quiet stretch is normal, a flat one is not), or the gap ratio passes
  ``gap_ratio``.
- :class:`Forest`: scikit-learn's IsolationForest fitted on the history's z-features,
  thresholded at the history's ``1 - contamination`` score quantile.

scikit-learn is imported only when a forest is built; without the ``[watch]`` extra
that is one clear error naming the extra.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from desktop_app.errors import extra_needed

FEATURES = ("delta", "dev", "logrange", "residual", "gap")
_MAD = 1.4826


def features(times_s: NDArray[np.int64], values: NDArray[np.float64],
             forecast: NDArray[np.float64] | None = None, k: int = 6,
             usual_step_s: float | None = None) -> NDArray[np.float64]:
    """(n, 5) feature matrix for an ascending series (NaN values kept as NaN rows);
    ``usual_step_s`` defaults to the series' median step."""
    v = np.asarray(values, dtype=np.float64)
    n = v.size
    out = np.full((n, len(FEATURES)), np.nan)
    if n == 0:
        return out
    t = np.asarray(times_s, dtype=np.float64)
    out[1:, 0] = np.diff(v)
    if n >= k:
        win = np.lib.stride_tricks.sliding_window_view(v, k)  # (n-k+1, k)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN windows -> NaN
            if np.isnan(win).any():
                med = np.nanmedian(win[:, :-1], axis=1)
                rng = np.nanmax(win, axis=1) - np.nanmin(win, axis=1)
            else:  # the common case, and much faster than the NaN-aware versions
                med = np.median(win[:, :-1], axis=1)
                rng = win.max(axis=1) - win.min(axis=1)
        out[k - 1:, 1] = v[k - 1:] - med
        out[k - 1:, 2] = np.log10(rng + 1e-3)
    if forecast is not None:
        out[:, 3] = v - np.asarray(forecast, dtype=np.float64)
    if n > 1:
        dt = np.diff(t)
        usual = float(np.median(dt)) if usual_step_s is None else usual_step_s
        out[1:, 4] = dt / usual if usual > 0 else np.nan
    return out


@dataclass
class Scale:
    """Robust centre and scale of each feature over a history."""

    center: NDArray[np.float64]
    scale: NDArray[np.float64]

    @classmethod
    def fit(cls, feats: NDArray[np.float64]) -> Scale:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns stay NaN
            center = np.nanmedian(feats, axis=0)
            mad = _MAD * np.nanmedian(np.abs(feats - center), axis=0)
            # The MAD collapses when most values are equal (night-time zeros, a step
            # change that is usually 0): take the wider of it and the central-99 %
            # spread, which are equal for a normal distribution.
            lo, hi = np.nanpercentile(feats, [0.5, 99.5], axis=0)
        scale = np.fmax(mad, (hi - lo) / (2 * 2.5758))
        scale = np.where(scale > 1e-9, scale, 1.0)
        return cls(center, scale)

    def z(self, feats: NDArray[np.float64]) -> NDArray[np.float64]:
        z = (feats - self.center) / self.scale
        z[:, 4] = feats[:, 4]  # the gap ratio is used as it is
        return z


@dataclass
class RobustZ:
    threshold: float = 6.0
    gap_ratio: float = 3.0
    scale: Scale | None = None
    name: str = "robust_z"

    def fit(self, history: NDArray[np.float64]) -> RobustZ:
        self.scale = Scale.fit(history)
        return self

    def score(self, feats: NDArray[np.float64]) -> NDArray[np.float64]:
        """Score per row in units of the threshold (>= 1 means anomalous)."""
        if self.scale is None:
            raise RuntimeError("RobustZ.score before fit")
        z = self.scale.z(feats)
        parts = np.stack([np.abs(z[:, 0]), np.abs(z[:, 1]), np.maximum(-z[:, 2], 0.0),
                          np.abs(z[:, 3])], axis=1) / self.threshold
        gap = z[:, 4] / self.gap_ratio
        return np.fmax(np.nanmax(np.where(np.isnan(parts), -np.inf, parts), axis=1),
                       np.nan_to_num(gap, nan=0.0))

    def flags(self, feats: NDArray[np.float64]) -> NDArray[np.bool_]:
        return self.score(feats) >= 1.0


def _isolation_forest() -> Any:
    with extra_needed("watch", {"sklearn"}, "the learned anomaly detector"):
        from sklearn.ensemble import IsolationForest
    return IsolationForest


@dataclass
class Forest:
    contamination: float = 0.005
    n_estimators: int = 100
    seed: int = 0
    name: str = "isolation_forest"
    scale: Scale | None = None
    model: Any = None
    cut: float = field(default=np.inf)

    @staticmethod
    def _matrix(z: NDArray[np.float64]) -> NDArray[np.float64]:
        m = np.nan_to_num(z, nan=0.0, posinf=50.0, neginf=-50.0)
        return np.clip(m, -50.0, 50.0)

    def fit(self, history: NDArray[np.float64]) -> Forest:
        self.scale = Scale.fit(history)
        x = self._matrix(self.scale.z(history))
        forest_cls = _isolation_forest()
        self.model = forest_cls(n_estimators=self.n_estimators, random_state=self.seed,
                                max_samples=min(256, len(x))).fit(x)
        train = -self.model.score_samples(x)
        self.cut = float(np.quantile(train, 1.0 - self.contamination))
        return self

    def score(self, feats: NDArray[np.float64]) -> NDArray[np.float64]:
        if self.scale is None or self.model is None:
            raise RuntimeError("Forest.score before fit")
        raw = -self.model.score_samples(self._matrix(self.scale.z(feats)))
        return np.asarray(raw / self.cut, dtype=np.float64)

    def flags(self, feats: NDArray[np.float64]) -> NDArray[np.bool_]:
        return self.score(feats) >= 1.0
