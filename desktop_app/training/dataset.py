"""Training samples from coarse fields + terrain + fine-resolution and/or station targets.

Features come from :class:`desktop_app.downscale.features.FeatureBuilder`, the same code
the predictor runs at forecast time. Normalisation statistics are computed on the
training days only and go into the model card. Whole days are split into train /
validation / test, so no hour of a held-out day (nor its neighbour hour) is trained on.
A sample is a pair of consecutive steps of one day (for the temporal-smoothness term).
Station targets (QC-passed observations, split by station as well): :mod:`.stations`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import xarray as xr

from desktop_app.core.variables import VARIABLES
from desktop_app.downscale.features import FeatureBuilder
from desktop_app.errors import SchemaError, TrainingError
from desktop_app.fsutil import load_netcdf
from desktop_app.training.config import DataConfig, check_held_out
from desktop_app.training.stations import StationSet, StationTargets, load_stations


@dataclass
class Split:
    x: np.ndarray  # (steps, features, rows, cols) float32, normalised
    y: np.ndarray | None  # (steps, 1, rows, cols) float32, physical units; None: no grid
    coarse: np.ndarray  # (steps, coarse cells) the coarse target field, physical units
    pairs: np.ndarray  # (n, 2) indices of consecutive steps within one day
    times: np.ndarray
    days: list[str]
    stations: StationTargets | None = None  # this split's stations on this split's days

    @property
    def n_samples(self) -> int:
        return int(self.pairs.shape[0])


@dataclass
class TrainingData:
    names: list[str]
    units: list[str]
    mean: np.ndarray
    std: np.ndarray
    out_mean: float
    out_std: float
    target: str
    block_ids: np.ndarray  # (rows*cols,) the coarse cell each fine cell falls in
    n_blocks: int
    train: Split
    val: Split
    test: Split | None
    coarse: xr.Dataset  # kept for evaluation through the app's predictor
    fine: xr.Dataset
    station_set: StationSet | None = None
    seed: int = 0

    @property
    def has_grid_target(self) -> bool:
        return self.train.y is not None

    def split_record(self) -> dict[str, object]:
        """What was held out, for the run folder and the model card."""
        record: dict[str, object] = {
            "seed": self.seed, "train_days": self.train.days, "val_days": self.val.days,
            "test_days": self.test.days if self.test is not None else []}
        st = self.station_set
        if st is not None:
            record.update({
                "train_stations": st.split["train"], "val_stations": st.split["val"],
                "test_stations": st.split["test"], "station_flags": st.flags_used,
                "station_qc": st.flag_source, "station_counts": st.counts})
        return record


def open_dataset(path: str | Path, what: str) -> xr.Dataset:
    return load_netcdf(path, what)


def nearest_block_ids(coarse: xr.Dataset, fine: xr.Dataset) -> tuple[np.ndarray, int]:
    clat, clon = coarse["latitude"].values, coarse["longitude"].values
    i = np.abs(fine["latitude"].values[:, None] - clat[None, :]).argmin(1)
    j = np.abs(fine["longitude"].values[:, None] - clon[None, :]).argmin(1)
    return (i[:, None] * clon.size + j[None, :]).ravel().astype(np.int64), clat.size * clon.size


def day_split(days: list[str], cfg: DataConfig) -> tuple[list[str], list[str], list[str]]:
    """(train, val, test) days; unknown requested days are an error, overlap too."""
    check_held_out(cfg, "days", days, str, f"in the dataset (days {days[0]}..{days[-1]})")
    test = [d for d in days if d in cfg.test_days]
    rest = [d for d in days if d not in test]
    if cfg.val_days:
        val = [d for d in rest if d in cfg.val_days]
    else:
        val = rest[len(rest) - max(1, round(0.15 * len(rest))):]
    train = [d for d in rest if d not in val]
    if not train or not val:
        raise TrainingError(f"need at least one training and one validation day; the "
                            f"dataset has {len(days)} day(s) of which {len(test)} are test")
    return train, val, test


def _pairs(times: np.ndarray) -> np.ndarray:
    day = times.astype("datetime64[D]")
    idx = np.flatnonzero(day[1:] == day[:-1])
    return np.stack([idx, idx + 1], 1).astype(np.int64)


Norm = tuple[np.ndarray, np.ndarray, float, float]  # feature mean, std; output mean, std


def build_dataset(cfg: DataConfig, seed: int = 0, norm: Norm | None = None) -> TrainingData:
    """Samples from ``cfg``; ``seed`` draws the held-out stations (when not listed).
    ``norm``: a base model's normalisation (fine-tuning keeps the card's, it is part of
    the model), else computed on the training days."""
    coarse = open_dataset(cfg.coarse, "coarse")
    fine = open_dataset(cfg.fine, "fine")
    if cfg.target not in VARIABLES:
        raise TrainingError(f"data.target {cfg.target!r} is not a known variable")
    grid = cfg.target in fine
    if not grid and not cfg.stations:
        raise SchemaError(f"fine dataset has no {cfg.target!r} variable and no "
                          "data.stations are given: there is nothing to train against")
    for what, ds, var in (("fine", fine, "elevation"), ("coarse", coarse, cfg.target),
                          ("coarse", coarse, "elevation")):
        if var not in ds:
            raise SchemaError(f"{what} dataset has no {var!r} variable")
    times = coarse["time"].values
    if grid:
        times = np.intersect1d(times, fine["time"].values)
        target = fine[cfg.target].sel(time=times)
        ok = np.isfinite(target.values).all(axis=(1, 2))
        times = times[ok]  # steps with a missing target cell are left out
    if times.size < 2:
        raise TrainingError(f"empty dataset: {times.size} time step(s) with a complete "
                            f"{cfg.target!r} target in both {cfg.coarse} and {cfg.fine}")
    coarse = coarse.sel(time=times)
    if grid:
        fine = fine.sel(time=times)
    terrain = fine[["elevation"]]
    builder = FeatureBuilder(coarse, terrain, cfg.features)
    x = builder.build(0, times.size)
    y = fine[cfg.target].values.astype(np.float32)[:, None] if grid else None
    st = (load_stations(cfg, seed, times, builder.lat, builder.lon) if cfg.stations
          else None)
    coarse_y = coarse[cfg.target].values.astype(np.float32).reshape(times.size, -1)
    day_names = [str(d) for d in times.astype("datetime64[D]")]
    days = sorted(set(day_names))
    train_days, val_days, test_days = day_split(days, cfg)
    day_arr = np.array(day_names)
    train_idx = np.flatnonzero(np.isin(day_arr, train_days))
    if norm is not None:
        mean, std = np.asarray(norm[0], np.float64), np.asarray(norm[1], np.float64)
    else:
        mean = x[train_idx].mean(axis=(0, 2, 3), dtype=np.float64)
        std = x[train_idx].std(axis=(0, 2, 3), dtype=np.float64)
        std = np.where(std < 1e-6, 1.0, std)  # constant over the training days
    x = (x - mean[None, :, None, None].astype(np.float32)) / std[None, :, None, None].astype(
        np.float32)
    ids, n_blocks = nearest_block_ids(coarse, fine)

    def split(chosen: list[str], which: str) -> Split:
        idx = np.flatnonzero(np.isin(day_arr, chosen))
        return Split(np.ascontiguousarray(x[idx]), y[idx] if y is not None else None,
                     coarse_y[idx], _pairs(times[idx]), times[idx], chosen,
                     st.targets(which, idx) if st is not None else None)

    train = split(train_days, "train")
    if train.n_samples == 0:
        raise TrainingError("empty dataset: no pair of consecutive steps in the training days")
    if y is not None:
        out = y[train_idx]
    else:
        assert train.stations is not None
        out = train.stations.obs[np.isfinite(train.stations.obs)]
        if out.size == 0:
            raise TrainingError(
                f"empty dataset: no QC-passed {cfg.target!r} observation ("
                f"{'/'.join(cfg.station_flags)}) of a training station on a training day "
                f"in {cfg.stations}")
    val = split(val_days, "val")
    if y is None and val.stations is not None and val.stations.n_obs == 0:
        raise TrainingError(f"no QC-passed observation of a validation station "
                            f"({', '.join(val.stations.ids)}) on a validation day "
                            f"({', '.join(val_days)}): nothing to stop early on")
    out_mean, out_std = ((norm[2], norm[3]) if norm is not None
                         else (float(out.mean()), float(max(out.std(), 1e-6))))
    return TrainingData(
        names=list(cfg.features), units=[str(u) for u in _units(cfg.features)],
        mean=mean, std=std, out_mean=out_mean, out_std=out_std, target=cfg.target,
        block_ids=ids, n_blocks=n_blocks, train=train, val=val,
        test=split(test_days, "test") if test_days else None, coarse=coarse, fine=fine,
        station_set=st, seed=seed)


def _units(names: list[str]) -> list[str]:
    from desktop_app.downscale.features import FEATURES

    return [FEATURES[n].units for n in names]
