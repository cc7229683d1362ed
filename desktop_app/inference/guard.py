"""The guard: a model steps aside where its inputs lie outside what it was trained on.

The model card records the training domain (``training_domain``): the range of each
input feature (low and high quantiles over the training cells and steps), the fine
elevation range, the coarse/fine grid-spacing ratio, the months and the latitude band.
At forecast time the predictor counts, per step, the share of fine cells with any input
outside that domain (a month or a spacing ratio outside it puts the whole step
outside). Past :data:`DEFAULT_THRESHOLD` the step is the best physical baseline
instead, and the forecast says so per step (``model_used``, ``guard_outside_share``).
A card without a domain cannot be guarded; the forecast says that too.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from desktop_app.errors import ModelError

DEFAULT_THRESHOLD = 0.10  # share of a step's cells outside the domain that stops the model
MARGIN = 0.05  # of each input's training range, allowed beyond it on either side
DOMAIN_KEYS = {"quantiles", "inputs", "elevation_m", "spacing_ratio", "months", "latitude"}


@dataclass(frozen=True)
class TrainingDomain:
    inputs: dict[str, tuple[float, float]]  # feature -> (low, high) in physical units
    elevation_m: tuple[float, float]
    spacing_ratio: tuple[float, float]  # coarse / fine grid spacing
    months: tuple[int, ...]
    latitude: tuple[float, float]
    quantiles: tuple[float, float] = (0.001, 0.999)

    def as_dict(self) -> dict[str, Any]:
        return {"quantiles": list(self.quantiles),
                "inputs": {k: [float(lo), float(hi)] for k, (lo, hi) in self.inputs.items()},
                "elevation_m": list(self.elevation_m),
                "spacing_ratio": list(self.spacing_ratio), "months": list(self.months),
                "latitude": list(self.latitude)}


def _pair(value: Any, where: str) -> tuple[float, float]:
    if (not isinstance(value, list) or len(value) != 2
            or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in value)
            or not all(math.isfinite(v) for v in value) or value[0] > value[1]):
        raise ModelError(f"{where}: expected [low, high] with low <= high")
    return float(value[0]), float(value[1])


def parse_domain(data: Any, where: str) -> TrainingDomain:
    """Strictly parse a card's ``training_domain``; :class:`ModelError` names the key."""
    if not isinstance(data, dict):
        raise ModelError(f"{where}: expected an object")
    unknown = set(data) - DOMAIN_KEYS
    if unknown:
        raise ModelError(f"{where}: unknown key {sorted(unknown)[0]!r}")
    missing = DOMAIN_KEYS - set(data)
    if missing:
        raise ModelError(f"{where}: missing key {sorted(missing)[0]!r}")
    inputs = data["inputs"]
    if not isinstance(inputs, dict):
        raise ModelError(f"{where} 'inputs': expected an object of feature ranges")
    months = data["months"]
    if (not isinstance(months, list) or not months
            or not all(isinstance(m, int) and not isinstance(m, bool) and 1 <= m <= 12
                       for m in months)):
        raise ModelError(f"{where} 'months': expected a list of months 1-12")
    return TrainingDomain(
        inputs={str(k): _pair(v, f"{where} input {k!r}") for k, v in inputs.items()},
        elevation_m=_pair(data["elevation_m"], f"{where} 'elevation_m'"),
        spacing_ratio=_pair(data["spacing_ratio"], f"{where} 'spacing_ratio'"),
        months=tuple(months), latitude=_pair(data["latitude"], f"{where} 'latitude'"),
        quantiles=_pair(data["quantiles"], f"{where} 'quantiles'"))


def spacing_ratio(coarse_lat: np.ndarray, fine_lat: np.ndarray) -> float:
    """Coarse over fine latitude spacing (1 when either grid has a single row)."""
    if coarse_lat.size < 2 or fine_lat.size < 2:
        return 1.0
    return float(abs(coarse_lat[1] - coarse_lat[0]) / abs(fine_lat[1] - fine_lat[0]))


def step_outside(domain: TrainingDomain, times: np.ndarray, ratio: float) -> np.ndarray:
    """Per step: True where the whole step is outside (month, or the spacing ratio)."""
    months = (np.asarray(times, "datetime64[M]").astype(int) % 12) + 1
    lo, hi = domain.spacing_ratio
    # 10 % slack: a 0.25 deg grid cut from 0.2497 deg coordinates is the same grid
    ratio_out = not (lo / 1.1 <= ratio <= hi * 1.1)
    return np.asarray(~np.isin(months, domain.months) | ratio_out)


def static_outside(domain: TrainingDomain, elevation: np.ndarray, lat: np.ndarray
                   ) -> np.ndarray:
    """Fine cells outside the elevation range or the latitude band, (rows, cols)."""
    z_lo, z_hi = domain.elevation_m
    la_lo, la_hi = domain.latitude
    z = np.asarray(elevation)
    lat_out = (np.asarray(lat) < la_lo) | (np.asarray(lat) > la_hi)
    return np.asarray((z < z_lo) | (z > z_hi) | lat_out[:, None])


def normalised_bounds(domain: TrainingDomain, names: list[str], mean: np.ndarray,
                      std: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each input's range in the model's normalised units, widened by
    :data:`MARGIN` of its width on each side (quantiles stop short of the extremes a
    bounded input like the hour's cosine reaches), shaped (1, F, 1, 1); an input the
    domain does not list is unbounded."""
    lo = np.full(len(names), -np.inf, np.float32)
    hi = np.full(len(names), np.inf, np.float32)
    for k, name in enumerate(names):
        if name in domain.inputs:
            a, b = domain.inputs[name]
            pad = MARGIN * (b - a)
            lo[k] = (a - pad - mean[k]) / std[k]
            hi[k] = (b + pad - mean[k]) / std[k]
    return lo[None, :, None, None], hi[None, :, None, None]


def summary(used: np.ndarray, share: np.ndarray, method: str, threshold: float,
            forced: bool) -> str:
    """One line for the CLI, the panel and the file's attributes."""
    n, k = used.size, int(used.sum())
    if np.isnan(share).all():
        return ("guard off: the model card records no training domain; the model ran on "
                f"all {n} steps unchecked")
    worst = float(np.nanmax(share)) if n else 0.0
    if forced:
        return (f"guard overridden (--force-model): model on all {n} steps; up to "
                f"{worst:.0%} of a step's inputs lie outside its training domain")
    if k == n:
        return (f"guard: model on all {n} steps (at most {worst:.0%} of a step's inputs "
                f"outside its training domain, threshold {threshold:.0%})")
    return (f"guard: {n - k} of {n} steps outside the model's training domain (up to "
            f"{worst:.0%} of inputs, threshold {threshold:.0%}) use the {method} baseline"
            f"; model on {k}")
