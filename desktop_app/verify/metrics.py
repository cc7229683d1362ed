"""Verification scores: MAE, RMSE, bias and the MSE skill score against a reference.

Pure functions on arrays; pairs where either value is missing are left out.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np


@dataclass(frozen=True)
class Scores:
    n: int
    mae: float
    rmse: float
    bias: float  # mean(forecast - observed)

    @property
    def mse(self) -> float:
        return self.rmse ** 2

    def as_dict(self) -> dict[str, float | int]:
        return asdict(self)


def scores(forecast: np.ndarray, observed: np.ndarray) -> Scores:
    f = np.asarray(forecast, float).ravel()
    o = np.asarray(observed, float).ravel()
    if f.shape != o.shape:
        raise ValueError(f"forecast and observed differ in size: {f.size} vs {o.size}")
    ok = np.isfinite(f) & np.isfinite(o)
    if not ok.any():
        return Scores(0, math.nan, math.nan, math.nan)
    err = f[ok] - o[ok]
    return Scores(int(ok.sum()), float(np.abs(err).mean()), float(np.sqrt((err ** 2).mean())),
                  float(err.mean()))


def skill_score(candidate: Scores, reference: Scores) -> float:
    """1 - MSE/MSE_ref: 1 perfect, 0 no better than the reference, < 0 worse."""
    if reference.n == 0 or candidate.n == 0 or reference.mse == 0:
        return math.nan
    return 1.0 - candidate.mse / reference.mse


def compare(observed: np.ndarray, candidates: dict[str, np.ndarray],
            references: tuple[str, ...] = ("baseline", "bilinear")
            ) -> list[dict[str, float | int | str]]:
    """One row per candidate: its scores and its skill against each reference present.

    All candidates are scored on the same pairs (where every candidate and the
    observation exist), so the numbers are comparable.
    """
    o = np.asarray(observed, float)
    common = np.isfinite(o)
    for values in candidates.values():
        common &= np.isfinite(np.asarray(values, float))
    result = {name: scores(np.asarray(v, float)[common], o[common])
              for name, v in candidates.items()}
    rows: list[dict[str, float | int | str]] = []
    for name, s in result.items():
        row: dict[str, float | int | str] = {"forecast": name, **s.as_dict()}
        for ref in references:
            if ref in result and ref != name:
                row[f"skill_vs_{ref}"] = skill_score(s, result[ref])
        rows.append(row)
    return rows
