"""Coarse fields + terrain -> features -> normalised tensors -> session -> physical units.

:class:`Predictor` runs one model over a grid, tiled (with a halo) when the grid is large
and batched over time. :func:`run_forecast` is what the CLI and GUI call: it picks the
model from the registry, runs it, fills the variables no model predicts from the
lapse-rate baseline (labelled so), adds the baseline and plain bilinear fields for
comparison, and returns a CF grid Dataset with provenance. Nothing is written here;
:func:`write_forecast` writes atomically, so a failure or cancel leaves no half file.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import xarray as xr

from desktop_app.core.progress import CancelToken, Progress
from desktop_app.core.schema import check_overlap, validate_grid_dataset
from desktop_app.core.variables import VARIABLES
from desktop_app.downscale.baseline import METHODS, available_methods
from desktop_app.downscale.features import CALENDAR_FEATURES, FEATURES, FeatureBuilder
from desktop_app.downscale.select import select_baseline
from desktop_app.errors import CancelledError, MicroclimateError, ModelError
from desktop_app.inference import guard
from desktop_app.inference.baselines import baseline_fields, reference_fields
from desktop_app.inference.card import check_against_graph, check_sha256
from desktop_app.inference.forecast_output import forecast_dataset, model_source, with_halo
from desktop_app.inference.registry import ModelEntry, ModelRegistry
from desktop_app.inference.runtime import ModelSession, create_session
from desktop_app.sources.output import write_netcdf

DEFAULT_MAX_TILE_CELLS = 1024 * 1024  # cells per tile (one time step)
DEFAULT_BATCH_CELLS = 4 * 1024 * 1024  # cells per session.run (steps x tile cells)


class HasCoarseTerrain(Protocol):
    coarse: xr.Dataset | None  # a region made without a background has none
    terrain: xr.Dataset


def tiles(shape: tuple[int, int], max_cells: int, halo: int
          ) -> Iterator[tuple[slice, slice, slice, slice]]:
    """(rows, cols) to compute, each with a halo, and the (rows, cols) inside the result
    of that computation that belong to the tile proper."""
    ny, nx = shape
    if ny * nx <= max_cells:
        yield slice(0, ny), slice(0, nx), slice(0, ny), slice(0, nx)
        return
    side = max(1, int(np.sqrt(max_cells)) - 2 * halo)
    for i0 in range(0, ny, side):
        for j0 in range(0, nx, side):
            yield with_halo((i0, min(ny, i0 + side)), (j0, min(nx, j0 + side)), halo, shape)


class Predictor:
    """One model on one provider: validated (sha256, card vs graph) and warmed up."""

    def __init__(self, entry: ModelEntry, provider: str = "auto", *, threads: int | None = None,
                 int8: bool = False, warm_up: bool = True) -> None:
        self.entry = entry
        self.card = entry.card
        check_sha256(self.card, entry.onnx_path)
        self.session: ModelSession = create_session(entry.onnx_path, provider,
                                                    threads=threads, int8=int8)
        check_against_graph(self.card, self.session.session)
        self.mean = np.array([f.mean for f in self.card.features], np.float32)[:, None, None]
        self.std = np.array([f.std for f in self.card.features], np.float32)[:, None, None]
        if warm_up:
            self.session.warm_up(len(self.card.features))

    @property
    def feature_names(self) -> list[str]:
        return [f.name for f in self.card.features]

    def feature_builder(self, coarse: xr.Dataset, terrain: xr.Dataset) -> FeatureBuilder:
        """Features already normalised with the card's statistics."""
        return FeatureBuilder(coarse, terrain, self.feature_names,
                              normalisation=(self.mean.ravel(), self.std.ravel()))

    def predict(self, coarse: xr.Dataset, terrain: xr.Dataset, *,
                progress: Progress | None = None, cancel: CancelToken | None = None,
                max_tile_cells: int = DEFAULT_MAX_TILE_CELLS,
                batch_cells: int = DEFAULT_BATCH_CELLS,
                outside: np.ndarray | None = None) -> dict[str, np.ndarray]:
        """Model outputs in physical units, ``{variable: (time, lat, lon) float32}``.

        ``outside`` (one float per step), if given, is filled with the guard's measure:
        the share of each step's cells with an input outside the card's training domain
        (NaN where the card records none)."""
        builder = self.feature_builder(coarse, terrain)
        nt = builder.times.size
        ny, nx = builder.shape
        out = {o.variable: np.empty((nt, ny, nx), np.float32) for o in self.card.outputs}
        check = self._guard_check(builder, terrain, outside)
        plan = list(tiles((ny, nx), max_tile_cells, self.card.halo))
        buffer: np.ndarray | None = None
        done, total = 0, len(plan) * nt
        for rows, cols, inner_r, inner_c in plan:
            step = self.batch_steps((rows.stop - rows.start) * (cols.stop - cols.start),
                                    batch_cells)
            for t0 in range(0, nt, step):
                if cancel is not None and cancel.is_set():
                    raise CancelledError("forecast cancelled")
                t1 = min(nt, t0 + step)
                x = builder.build(t0, t1, rows, cols, out=buffer)
                if buffer is None or x.base is not buffer:
                    buffer = x
                target_r = slice(rows.start + inner_r.start, rows.start + inner_r.stop)
                target_c = slice(cols.start + inner_c.start, cols.start + inner_c.stop)
                whole = (inner_r == slice(0, ny)) and (inner_c == slice(0, nx))
                if whole:  # untiled: the model writes straight into the result
                    views = [out[o.variable][t0:t1].reshape(t1 - t0, 1, ny, nx)
                             for o in self.card.outputs]
                    results = self.session.run(x, views)
                else:
                    results = self.session.run(x)
                self.to_physical(x, results, {v: a[t0:t1, target_r, target_c]
                                              for v, a in out.items()},
                                 None if whole else (inner_r, inner_c))
                if check is not None:
                    check(x[:, :, inner_r, inner_c], t0, target_r, target_c)
                done += t1 - t0
                if progress is not None:
                    progress(done / total, f"model steps {done}/{total}")
        return out

    def _guard_check(self, builder: FeatureBuilder, terrain: xr.Dataset,
                     outside: np.ndarray | None
                     ) -> Callable[[np.ndarray, int, slice, slice], None] | None:
        """A function that adds a batch's out-of-domain cells to ``outside`` (and turns
        the counts into shares once the last tile is in), or None: nothing to measure."""
        domain = self.card.domain
        if outside is None:
            return None
        if domain is None:
            outside[:] = np.nan
            return None
        lo, hi = guard.normalised_bounds(domain, self.feature_names, self.mean.ravel(),
                                         self.std.ravel())
        fixed = guard.static_outside(domain, terrain["elevation"].values, builder.lat)
        whole = guard.step_outside(domain, builder.times,
                                   guard.spacing_ratio(builder.src_lat, builder.lat))
        # Only what changes from step to step is checked per step: static channels once
        # per run (into ``fixed``), calendar channels (one value per step, broadcast by
        # the builder) on one cell, the rest cell by cell; unbounded inputs not at all.
        per_cell, per_step = [], []
        for k, name in enumerate(self.feature_names):
            a, b = lo[0, k, 0, 0], hi[0, k, 0, 0]
            if not (np.isfinite(a) or np.isfinite(b)):
                continue
            if FEATURES[name].kind == "static":
                values = builder.normalised_static(name)
                fixed = fixed | (values < a) | (values > b)
            elif name in CALENDAR_FEATURES:
                per_step.append((k, a, b))
            else:
                per_cell.append((k, a, b))
        outside[:] = 0.0
        cells = fixed.size
        counted = [0]

        def check(x: np.ndarray, t0: int, rows: slice, cols: slice) -> None:
            n = x.shape[0]
            bad = np.empty((n, *x.shape[2:]), bool)
            bad[:] = fixed[rows, cols]
            scratch = np.empty_like(bad)
            for k, a, b in per_cell:
                bad |= np.less(x[:, k], a, out=scratch)
                bad |= np.greater(x[:, k], b, out=scratch)
            for k, a, b in per_step:
                value = x[:, k, 0, 0]
                bad |= ((value < a) | (value > b))[:, None, None]
            outside[t0:t0 + n] += bad.reshape(n, -1).sum(axis=1) / cells
            counted[0] += n * bad[0].size
            if counted[0] >= cells * outside.size:  # the last tile: whole steps win
                outside[whole] = 1.0
        return check

    def batch_steps(self, tile_cells: int, batch_cells: int = DEFAULT_BATCH_CELLS) -> int:
        """Time steps per model call for a tile of ``tile_cells`` (halo included)."""
        step = max(1, batch_cells // max(1, tile_cells))
        if self.session.max_batch is not None:
            step = min(step, self.session.max_batch)
        return step

    def to_physical(self, x: np.ndarray, results: list[np.ndarray],
                    targets: dict[str, np.ndarray],
                    inner: tuple[slice, slice] | None, where: str = "") -> None:
        """Write the model outputs for features ``x`` in physical units into ``targets``
        (per variable, (steps, rows, cols)): the ``inner`` part of each output (without
        the halo), or, with ``inner`` None, the outputs the session already wrote into
        the targets. Both the tiled and the cluster forecast go through here, so their
        float32 operations are the same."""
        for spec, y in zip(self.card.outputs, results, strict=True):
            if y.shape != (x.shape[0], 1, *x.shape[2:]):
                raise ModelError(f"model output {spec.name!r} has shape {y.shape}, "
                                 f"expected {(x.shape[0], 1, *x.shape[2:])}")
            target = targets[spec.variable]
            if inner is None:
                target *= spec.std
            else:
                np.multiply(y[:, 0, inner[0], inner[1]], spec.std, out=target)
            target += spec.mean
            # one reduction instead of a boolean mask: any NaN/inf makes it non-finite
            if not np.isfinite(target.sum(dtype=np.float64)):
                raise ModelError(f"model produced NaN/inf for {spec.variable!r}{where}")


def to_hourly(coarse: xr.Dataset) -> xr.Dataset:
    """Linear interpolation of a coarser-than-hourly background to hourly steps."""
    times = coarse["time"].values
    if times.size < 2:
        return coarse
    hourly = np.arange(times[0], times[-1] + np.timedelta64(1, "h"), np.timedelta64(1, "h"))
    if hourly.size == times.size and bool((hourly == times).all()):
        return coarse
    return interp_time(coarse, hourly.astype("datetime64[ns]"))


def interp_time(ds: xr.Dataset, new_times: np.ndarray) -> xr.Dataset:
    """Linear in time, per variable with a time dim (NumPy only, no SciPy)."""
    old = ds["time"].values.astype("datetime64[ns]").astype(np.int64).astype(float)
    new = np.asarray(new_times, "datetime64[ns]").astype(np.int64).astype(float)
    pos = np.interp(new, old, np.arange(old.size, dtype=float))
    lo = np.clip(np.floor(pos).astype(int), 0, max(0, old.size - 2))
    hi = np.minimum(lo + 1, old.size - 1)
    w = (pos - lo)[:, None, None]
    data_vars: dict[str, Any] = {}
    for name, da in ds.data_vars.items():
        if "time" in da.dims and da.dims[0] == "time":
            v = da.values
            mixed = v[lo] * (1 - w.reshape((-1,) + (1,) * (v.ndim - 1))) + v[hi] * w.reshape(
                (-1,) + (1,) * (v.ndim - 1))
            data_vars[str(name)] = (da.dims, mixed.astype(v.dtype), da.attrs)
        else:
            data_vars[str(name)] = da
    coords = {k: v for k, v in ds.coords.items() if k != "time"}
    coords["time"] = np.asarray(new_times, "datetime64[ns]")
    return xr.Dataset(data_vars, coords=coords, attrs=ds.attrs)


def subhourly_times(times: np.ndarray, hours: int, minutes: int = 15) -> np.ndarray:
    """15-minute steps for the first ``hours``, hourly after."""
    t = np.asarray(times, "datetime64[ns]")
    if hours <= 0 or t.size < 2:
        return t
    end = t[0] + np.timedelta64(hours, "h")
    fine = np.arange(t[0], min(end, t[-1]), np.timedelta64(minutes, "m")).astype(t.dtype)
    return np.concatenate([fine, t[t >= min(end, t[-1])]])


def _inputs(region_or_inputs: HasCoarseTerrain | tuple[xr.Dataset, xr.Dataset]
            ) -> tuple[xr.Dataset, xr.Dataset]:
    if isinstance(region_or_inputs, tuple):
        return region_or_inputs
    if region_or_inputs.coarse is None:
        raise MicroclimateError("this region has no coarse background to downscale: make it "
                                "with an ERA5 or Open-Meteo background")
    return region_or_inputs.coarse, region_or_inputs.terrain


def _predictors(registry: ModelRegistry, model: str | None, provider: str,
                int8: bool, threads: int | None) -> list[Predictor]:
    """The named model, or the active model of every variable that has one."""
    if model:
        entries = [registry.find(model)]
    else:
        entries = []
        for var in VARIABLES:
            entry = registry.active(var)
            if entry is not None and entry.spec not in {e.spec for e in entries}:
                entries.append(entry)
    if not entries:
        raise ModelError("no model installed; install one with "
                         "'microclimate models install PATH'")
    return [Predictor(entry, provider, int8=int8, threads=threads) for entry in entries]


def run_forecast(region_or_inputs: HasCoarseTerrain | tuple[xr.Dataset, xr.Dataset],
                 model: str | None = None, provider: str = "auto", *,
                 progress: Progress | None = None, cancel: CancelToken | None = None,
                 int8: bool = False, subhourly_hours: int = 0, references: bool = True,
                 registry: ModelRegistry | None = None,
                 max_tile_cells: int = DEFAULT_MAX_TILE_CELLS, threads: int | None = None,
                 predictor: Predictor | None = None, force_model: bool = False,
                 guard_threshold: float = guard.DEFAULT_THRESHOLD,
                 baseline_method: str | None = None) -> xr.Dataset:
    """The whole local forecast. ``model`` is NAME[@VERSION]; by default the active
    model of each variable runs, and variables without one come from the baseline the
    coarse input favours (:func:`desktop_app.downscale.select.select_baseline`), or
    ``baseline_method`` where given. Steps whose inputs lie outside a model's
    training domain (the guard) are that baseline too, unless ``force_model``."""
    coarse, terrain = _inputs(region_or_inputs)
    validate_grid_dataset(coarse)
    validate_grid_dataset(terrain, require_time=False)
    check_overlap(coarse, terrain)
    coarse = to_hourly(coarse)
    methods = available_methods(coarse) if "temperature" in coarse else []
    selection = select_baseline(coarse, forced=baseline_method)  # before the models: fail fast
    check_memory(coarse, terrain, n_fields=4 + (len(methods) + 1) * int(references) + 1)
    predictors = [predictor] if predictor is not None else _predictors(
        registry or ModelRegistry(), model, provider, int8, threads)
    method = selection.method
    nt = coarse.sizes["time"]
    predicted: dict[str, np.ndarray] = {}
    source: dict[str, str] = {}
    share = np.zeros(nt)
    for k, pred in enumerate(predictors):
        def part(fraction: float, message: str, k: int = k) -> None:
            if progress is not None:
                progress((k + fraction) / len(predictors), message)

        part(0.0, f"running {pred.card.spec} on {pred.session.status.provider.upper()}")
        outside = np.zeros(nt)
        for var, values in pred.predict(coarse, terrain, progress=part, cancel=cancel,
                                        max_tile_cells=max_tile_cells,
                                        outside=outside).items():
            if var not in predicted:  # the first model for a variable wins
                predicted[var] = values
                source[var] = model_source(pred.card)
        share = np.fmax(share, outside) if not np.isnan(outside).all() else outside
    baseline = baseline_fields(coarse, terrain, cancel=cancel, method=method)
    unguarded = np.isnan(share).all()
    used = np.ones(nt, bool) if (force_model or unguarded) else share <= guard_threshold
    for var, values in predicted.items():
        if var in baseline and not used.all():
            values[~used] = baseline[var][~used]
            source[var] += f" inside its training domain; the {method} baseline elsewhere"
    data_vars: dict[str, Any] = {}
    for var, values in predicted.items():
        data_vars[var] = (("time", "latitude", "longitude"), values,
                          {**VARIABLES[var].cf_attrs(), "source": source[var]})
    for var, values in baseline.items():
        if var in predicted:
            continue
        data_vars[var] = (("time", "latitude", "longitude"), values,
                          {**VARIABLES[var].cf_attrs(),
                           "source": f"{method} baseline (no model for this variable)"})
    if references:
        data_vars.update(reference_fields(coarse, terrain, list(predicted), baseline,
                                          method, methods))
    data_vars["model_used"] = ("time", used.astype(np.uint8), {
        "long_name": "the model's output is used at this step (else the baseline)",
        "flag_values": np.array([0, 1], np.uint8),
        "flag_meanings": "baseline_outside_training_domain model"})
    data_vars["guard_outside_share"] = ("time", share.astype(np.float32), {
        "long_name": "share of the step's cells with an input outside the model's "
                     "training domain", "units": "1"})
    status = predictors[0].session.status
    cards = [p.card for p in predictors]
    generated = "yes" if "yes" in (coarse.attrs.get("generated_values"),
                                   terrain.attrs.get("generated_values")) else "no"
    ds = forecast_dataset(
        data_vars, coarse["time"].values, terrain, cards,
        baseline_method=method, baseline_description=METHODS[method],
        baseline_selection=selection.summary(),
        guard=guard.summary(used, share, method, guard_threshold, force_model),
        guard_threshold=guard_threshold,
        model_steps=int(used.sum()),
        provider=status.provider, provider_status=status.summary(),
        source=str(coarse.attrs.get("title", coarse.attrs.get("source", "coarse input"))),
        terrain_source=str(terrain.attrs.get("title", terrain.attrs.get("source", ""))),
        generated_values=generated,
        history=f"{dt.datetime.now(dt.UTC).isoformat(timespec='seconds')} "
                "microclimate forecast")
    if subhourly_hours > 0:
        ds = interp_time(ds, subhourly_times(ds["time"].values, subhourly_hours))
        ds.attrs["time_interpolation"] = (
            f"15-minute steps in the first {subhourly_hours} h are linear in time between "
            "hourly model steps, not model output")
    if progress is not None:
        progress(1.0, "done")
    return ds


def memory_limit_bytes() -> int | None:
    """Half the physical memory, where the platform tells us (None: unknown)."""
    try:
        return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 2)
    except (AttributeError, ValueError, OSError):
        return None


def check_memory(coarse: xr.Dataset, terrain: xr.Dataset, n_fields: int) -> None:
    """Refuse up front a forecast whose output fields cannot fit in memory (the model
    itself runs in tiles, but the result is held whole before it is written)."""
    limit = memory_limit_bytes()
    cells = coarse.sizes["time"] * terrain.sizes["latitude"] * terrain.sizes["longitude"]
    need = cells * 4 * n_fields
    if limit is not None and need > limit:
        raise MicroclimateError(
            f"grid too large: {coarse.sizes['time']} steps x {terrain.sizes['latitude']}x"
            f"{terrain.sizes['longitude']} cells need ~{need / 2**30:.1f} GiB for the output,"
            f" over this machine's limit of {limit / 2**30:.1f} GiB; crop the region, "
            "coarsen the terrain or shorten the forecast")


def write_forecast(ds: xr.Dataset, path: Path) -> Path:
    """Write a forecast as compressed CF NetCDF atomically (temp file + rename)."""
    return write_netcdf(ds, Path(path), what="forecast")

