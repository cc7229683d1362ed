"""QC-passed station observations as training targets, split by station and by time.

The model predicts a field on the fine grid; the station data term compares that field
at each station's nearest fine-grid cell (the same sampling as the app's station
verification, :func:`desktop_app.verify.stations.nearest_cells`) with the observation.

Which observations count as targets: only those whose aggregate QARTOD flag
``<var>_qc`` is in ``data.station_flags`` -- by default ``pass`` alone. ``not_evaluated``
may be opted into (a value no test could judge, e.g. a station with too few neighbours
for the buddy check and no other test configured); ``suspect``, ``fail`` and ``missing``
never can be. A station file without flags is flagged here with the app's own QC
(:func:`desktop_app.qc.runner.run_qc`, the config in ``data.station_qc`` or the defaults).

Stations are split into train / validation / test sets (``data.val_stations`` /
``data.test_stations`` or, if not listed, drawn from ``numpy.random.default_rng(seed)``
over the sorted station ids), and the time split is the existing whole-day split. A
split's targets are its own stations on its own days only, so held-out stations and
held-out days never reach the training loss (the features come from the coarse field
and terrain alone, never from station values).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import xarray as xr

from desktop_app.core.flags import QCFlag
from desktop_app.errors import TrainingError
from desktop_app.fsutil import load_netcdf
from desktop_app.training.config import DataConfig, check_held_out
from desktop_app.verify.stations import nearest_cells

ACCEPTABLE_FLAGS = {"pass": QCFlag.PASS, "not_evaluated": QCFlag.NOT_EVALUATED}


@dataclass
class StationTargets:
    """One split's station targets: observations on that split's steps and stations."""

    ids: list[str]
    rows: np.ndarray  # (n,) fine-grid row of each station's nearest cell
    cols: np.ndarray  # (n,)
    obs: np.ndarray  # (steps, n) float32, NaN where not a QC-passed observation

    @property
    def n_obs(self) -> int:
        return int(np.isfinite(self.obs).sum())


@dataclass
class StationSet:
    """All stations on the fine grid, with QC-passed values on the training steps."""

    ids: np.ndarray  # (n,) str
    rows: np.ndarray
    cols: np.ndarray
    values: np.ndarray  # (steps, n) float32, NaN where not accepted by QC
    split: dict[str, list[str]]  # "train" / "val" / "test" -> station ids
    flags_used: list[str]
    flag_source: str  # "file" (flags in the station file) or "run_qc ..."
    counts: dict[str, int]  # accepted / rejected_by_qc / missing / outside_grid
    title: str
    generated: bool  # the file says its values are generated (they test code, not skill)

    def targets(self, which: str, steps: np.ndarray) -> StationTargets:
        chosen = np.isin(self.ids, self.split[which])
        obs = np.ascontiguousarray(self.values[np.ix_(steps, np.flatnonzero(chosen))])
        return StationTargets([str(s) for s in self.ids[chosen]], self.rows[chosen],
                              self.cols[chosen], obs)


def flagged(path: str, variable: str, qc_config: str) -> tuple[xr.Dataset, str]:
    """The station file with ``<variable>_qc`` flags (computed here if the file has none)."""
    ds = load_netcdf(path, "stations")
    if variable not in ds:
        raise TrainingError(f"station file {path} has no {variable!r} variable")
    if f"{variable}_qc" in ds:
        return ds, "file"
    from desktop_app.qc.config import load_config
    from desktop_app.qc.runner import run_qc

    config = load_config(Path(qc_config) if qc_config else None)
    out, _ = run_qc(ds, config)
    if f"{variable}_qc" not in out:
        raise TrainingError(f"the QC config {qc_config or '(defaults)'} has no tests for "
                            f"{variable!r}, so no station value could pass QC")
    return out, f"run_qc with {qc_config or 'the default QC config'}"


def split_stations(ids: list[str], cfg: DataConfig, seed: int) -> dict[str, list[str]]:
    """Deterministic train/val/test station sets: listed ones, else drawn from ``seed``."""
    check_held_out(cfg, "stations", ids, lambda s: f"station {s!r}",
                   f"on the grid (stations: {', '.join(ids)})")
    order = sorted(ids)
    rng = np.random.default_rng(seed)
    shuffled = [order[k] for k in rng.permutation(len(order))]
    n_hold = max(1, round(cfg.station_holdout * len(order))) if cfg.station_holdout else 0
    test = list(cfg.test_stations) or [s for s in shuffled if s not in cfg.val_stations
                                       ][:n_hold]
    val = list(cfg.val_stations) or [s for s in shuffled if s not in test][:n_hold]
    train = [s for s in order if s not in test and s not in val]
    if not train or not val:
        raise TrainingError(f"need at least one training and one validation station; "
                            f"{len(ids)} station(s) on the grid, {len(test)} for test, "
                            f"{len(val)} for validation")
    return {"train": train, "val": sorted(val), "test": sorted(test)}


def load_stations(cfg: DataConfig, seed: int, times: np.ndarray, lat: np.ndarray,
                  lon: np.ndarray) -> StationSet:
    ds, source = flagged(cfg.stations, cfg.target, cfg.station_qc)
    ids_all = np.asarray(ds["station_id"].values).astype(str)
    i, j, inside = nearest_cells(lat, lon, np.asarray(ds["latitude"].values, float),
                                 np.asarray(ds["longitude"].values, float))
    if not inside.any():
        raise TrainingError(f"no station of {cfg.stations} lies on the fine grid "
                            f"{lat.min():.3f}..{lat.max():.3f}N, "
                            f"{lon.min():.3f}..{lon.max():.3f}E")
    sel = ds.reindex(time=times)  # steps without an observation become NaN / missing
    values = np.asarray(sel[cfg.target].transpose("time", "station").values, np.float32)
    flags = np.asarray(sel[f"{cfg.target}_qc"].transpose("time", "station").fillna(
        int(QCFlag.MISSING)).values, np.uint8)
    accept = np.isin(flags, [int(ACCEPTABLE_FLAGS[f]) for f in cfg.station_flags])
    finite = np.isfinite(values)
    ok = accept & finite & inside[None, :]
    counts = {"accepted": int(ok.sum()),
              "rejected_by_qc": int((finite & ~accept)[:, inside].sum()),
              "missing": int((~finite)[:, inside].sum()),
              "outside_grid": int((~inside).sum())}
    ids = ids_all[inside]
    split = split_stations([str(s) for s in ids], cfg, seed)
    return StationSet(ids, i[inside], j[inside], np.where(ok, values, np.nan)[:, inside],
                      split, list(cfg.station_flags), source, counts,
                      str(ds.attrs.get("title", Path(cfg.stations).name)),
                      str(ds.attrs.get("generated_values", "")).lower() == "yes")


def station_scores(pred: dict[str, np.ndarray], targets: StationTargets
                   ) -> dict[str, object]:
    """Model and baseline scores at the stations of ``targets``: pooled and per station.

    ``pred`` maps a label to a (steps, rows, cols) field in physical units."""
    from desktop_app.verify.metrics import compare, scores

    def clean(v: object) -> object:
        if isinstance(v, float):
            return None if math.isnan(v) else round(v, 4)
        return v

    sampled = {k: v[:, targets.rows, targets.cols] for k, v in pred.items()}
    pooled = compare(targets.obs, sampled)
    per_station = []
    for k, sid in enumerate(targets.ids):
        row: dict[str, object] = {"station_id": sid}
        for label, values in sampled.items():
            s = scores(values[:, k], targets.obs[:, k])
            row[f"{label}_rmse"] = clean(s.rmse)
            row[f"{label}_mae"] = clean(s.mae)
            row["n"] = s.n
        per_station.append(row)
    return {"rows": [{key: clean(v) for key, v in r.items()} for r in pooled],
            "per_station": per_station}
