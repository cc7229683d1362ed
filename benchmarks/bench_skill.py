"""Downscaling skill per region and season: the guarded forecast, each baseline, bilinear.

    python benchmarks/bench_skill.py [--factor 2] [--out benchmarks/results/bench_skill_cpu.txt]

Needs the shared fixtures (``../shared/fixtures`` or ``MICROCLIMATE_FIXTURES``).

1. PERFECT-MODEL skill (coarsened reanalysis: the input is the block mean of the very
   field it is scored against, so it has no forecast error and carries the target's mean;
   flattering): REAL ERA5 0.25 deg 2 m temperature in three regions and seasons (UK March
   2019, Finse October-December 2018 per month, Davos January 2020 with pressure
   levels), block-averaged by ``--factor`` to make the input. Scored: the app's forecast
   with the bundled model behind its guard (what a user gets by default), each baseline
   (TopoSCALE-style where pressure levels exist, estimated lapse rate, fixed -6.5 K/km)
   and plain bilinear interpolation (the tool a user would otherwise use); RMSE, MAE,
   bias in K, and each one's RMSE relative to bilinear. The UK is also scored at 4x4
   (1 deg -> 0.25 deg), the bundled model's own training setting: there its held-out
   days (22-31 March) are the only ones it did not train on, and the table says so.
2. Winter station gradients: the vertical temperature gradients the IMIS (Dec 2008 -
   Jan 2009) and Rofental (Dec - Feb, 2019-2024) stations see, against the fixed
   -6.5 K/km and the lapse rates the estimated baseline finds in the ERA5 winter months
   (not the same dates: there is no ERA5 for the station periods in the fixtures).
3. Cost per 512x512 step of each baseline, best of several repeats (the machine may be
   shared), against plain bilinear; and of choosing the baseline (the coarse-scale
   leave-one-cell-out check, run on a 64x64 coarse grid).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
from pathlib import Path

# one BLAS thread: the matrix products here are tiny, and on a shared machine a second
# BLAS thread waiting for a busy core makes them 100x slower at random
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import xarray as xr

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import skill_regions  # noqa: E402
import station_gradients  # noqa: E402
from bench_timing import best_time  # noqa: E402

from desktop_app.downscale.baseline import (  # noqa: E402
    available_methods,
    downscale_temperature,
)
from desktop_app.downscale.lapse import estimate_lapse_rate  # noqa: E402
from desktop_app.downscale.select import select_baseline  # noqa: E402
from desktop_app.inference.predictor import Predictor, run_forecast  # noqa: E402
from desktop_app.inference.registry import ModelRegistry  # noqa: E402
from desktop_app.verify.gradients import summary, vertical_gradients  # noqa: E402
from desktop_app.verify.metrics import scores  # noqa: E402

CANDIDATES = {"final (guarded model)": "temperature", "toposcale": "temperature_toposcale",
              "lapse_estimated": "temperature_lapse_estimated",
              "lapse_fixed": "temperature_lapse_fixed", "bilinear": "temperature_bilinear"}


def score_rows(ds: xr.Dataset, truth: np.ndarray) -> list[tuple[str, float, float, float]]:
    rows = []
    for label, name in CANDIDATES.items():
        if name in ds:
            s = scores(ds[name].values, truth)
            rows.append((label, s.rmse, s.mae, s.bias))
    return rows


def skill(lines: list[str], predictor: Predictor, factor: int) -> dict[str, dict[str, float]]:
    lines.append(f"1. PERFECT-MODEL skill: ERA5 0.25 deg 2 m temperature, input = {factor}x"
                 f"{factor} block mean of the truth (K)")
    finals: dict[str, dict[str, float]] = {}
    setups = [(c, c.region, c.season, None) for c in skill_regions.cases(factor)]
    uk4 = skill_regions.cases(4, ("uk",))[0]
    setups.append((uk4, "uk (4x4, model's setting)", "22-31 March 2019 (held-out days)",
                   slice("2019-03-22", "2019-03-31T23:00")))
    for case, region, season, days in setups:
        fine, coarse = case.fine, case.coarse
        if days is not None:
            fine, coarse = fine.sel(time=days), coarse.sel(time=days)
        ds = run_forecast((coarse, fine[["elevation"]]), predictor=predictor)
        parts = [(season, np.ones(fine.sizes["time"], bool))]
        if region == "finse":  # autumn into winter: one row block per month
            months = fine["time"].dt.month.values
            parts += [(f"  month {m}", months == m) for m in (10, 11, 12)]
        lines.append(f"\n{region}, {season}: coarse {coarse.sizes['latitude']}x"
                     f"{coarse.sizes['longitude']} -> fine {fine.sizes['latitude']}x"
                     f"{fine.sizes['longitude']}; baseline {ds.attrs['baseline_method']}; "
                     f"{ds.attrs['guard']}\n  baseline chosen from the coarse input alone: "
                     f"{ds.attrs['baseline_selection']}")
        for label, sel in parts:
            truth = fine["temperature"].values[sel]
            rows = score_rows(ds.isel(time=np.flatnonzero(sel)), truth)
            bil = dict((r[0], r[1]) for r in rows)["bilinear"]
            best_ref = min(r[1] for r in rows if r[0] != "final (guarded model)")
            if label == season:
                finals[region] = {"final": rows[0][1], "best_reference": best_ref,
                                  "bilinear": bil}
            lines.append(f"  {label}")
            for name, rmse, mae, bias in rows:
                lines.append(f"    {name:22s} RMSE {rmse:6.3f}  MAE {mae:6.3f}  bias "
                             f"{bias:+6.3f}  RMSE/bilinear {rmse / bil:5.2f}")
    lines.append("\nsummary (whole periods):")
    ok_all = True
    for region, f in finals.items():
        ok = f["final"] <= f["best_reference"] + 1e-4
        ok_all &= ok
        lines.append(f"  {region:28s} final {f['final']:.3f}  best reference "
                     f"{f['best_reference']:.3f}  bilinear {f['bilinear']:.3f}  "
                     f"final <= best reference: {'yes' if ok else 'NO'}")
    gain = np.mean([1 - f["final"] / f["bilinear"] for f in finals.values()])
    lines.append(f"  mean RMSE reduction against bilinear: {gain:.1%}; final <= best "
                 f"reference everywhere: {'yes' if ok_all else 'NO'}")
    return finals


def windows(lines: list[str], factor: int) -> None:
    """A user's forecast is days, not a season: the choice made afresh on each window of
    1, 3 and 7 days, pooled RMSE against each baseline used throughout."""
    lines.append("\n1b. The choice per forecast window (made on each window's coarse input "
                 "alone), PERFECT-MODEL as above; pooled RMSE over the whole windows (K)")
    for case in skill_regions.cases(factor):
        methods = available_methods(case.coarse)
        fields = {m: downscale_temperature(case.coarse, case.fine, m) for m in methods}
        truth = case.fine["temperature"].values
        lines.append(f"  {case.region}, {case.season}")
        for days in (1, 3, 7):
            n = 24 * days
            chosen: list[float] = []
            picks: dict[str, int] = {}
            for t0 in range(0, truth.shape[0] - n + 1, n):
                part = slice(t0, t0 + n)
                pick = select_baseline(case.coarse.isel(time=part)).method
                picks[pick] = picks.get(pick, 0) + 1
                chosen.append(float(np.mean((fields[pick][part] - truth[part]) ** 2)))
            end = len(chosen) * n
            always = {m: float(np.sqrt(np.mean((fields[m][:end] - truth[:end]) ** 2)))
                      for m in methods}
            best = min(always.values())
            rmse = float(np.sqrt(np.mean(chosen)))
            lines.append(f"    {days} d x {len(chosen):3d}: chosen {rmse:.3f} ("
                         + ", ".join(f"{m} {k}x" for m, k in picks.items()) + "); always: "
                         + ", ".join(f"{m} {v:.3f}" for m, v in always.items())
                         + f"; chosen <= best always: {'yes' if rmse <= best + 1e-4 else 'NO'}")


def gradients(lines: list[str]) -> None:
    lines.append("\n2. Vertical temperature gradients (K/km; > 0 = inversion), winter")
    shared = skill_regions.SHARED / "stations"
    imis = station_gradients.load_imis(shared / "imis_2008-12")
    rof = station_gradients.load_rofental(shared / "rofental")
    winter = rof["time"].dt.month.isin([12, 1, 2]).values
    rows = [("IMIS 7 stations 1630-2390 m, Dec 2008-Jan 2009",
             vertical_gradients(imis["temperature"].values, imis["elevation"].values)),
            ("Rofental 2 stations 2659/2805 m, DJF 2019-2024",
             vertical_gradients(rof["temperature"].values[:, winter],
                                rof["elevation"].values, min_stations=2))]
    for region, loader, month in (("davos", skill_regions.load_davos, 1),
                                  ("finse", skill_regions.load_finse, 12)):
        fine = loader()
        fine = fine.sel(time=fine["time"].dt.month == month)
        g = estimate_lapse_rate(fine["temperature"].values, fine["elevation"].values)
        rows.append((f"estimated baseline on ERA5 {region} 0.25 deg, month {month}",
                     g.ravel()))
    for label, g in rows:
        s = summary(g)
        lines.append(f"  {label}\n    n {s['n']}  median {s['median']:+.2f}  IQR "
                     f"[{s['p25']:+.2f}, {s['p75']:+.2f}]  5-95% [{s['p05']:+.2f}, "
                     f"{s['p95']:+.2f}]  inversions {s['share_inversion']:.1%}  "
                     f"steeper than -9.8: {s['share_superadiabatic']:.1%}")
    lines.append("  fixed baseline: -6.50 everywhere, never an inversion")


def cost(lines: list[str]) -> None:
    """512x512 fine grid over the Davos box, its real ERA5 profiles; the fine elevations
    are the Davos orography stretched to the grid plus real-looking relief (timing only:
    the numbers of this section are not skill)."""
    davos = skill_regions.load_davos().isel(time=slice(0, 8))
    lat = np.linspace(float(davos.latitude[0]), float(davos.latitude[-1]), 512)
    lon = np.linspace(float(davos.longitude[0]), float(davos.longitude[-1]), 512)
    from desktop_app.downscale.baseline import interp_matrix

    wy, wx = interp_matrix(davos.latitude.values, lat), interp_matrix(davos.longitude.values,
                                                                      lon)
    base = wy @ davos["elevation"].values @ wx.T
    ripple = 400 * np.sin(np.arange(512) / 9)[:, None] * np.cos(np.arange(512) / 13)[None]
    terrain = xr.Dataset({"elevation": (("latitude", "longitude"),
                                        (base + ripple).astype(np.float32))},
                         coords={"latitude": lat, "longitude": lon})
    nt = davos.sizes["time"]
    lines.append(f"\n3. Cost per 512x512 step (best of 7, {nt} steps per call, one BLAS "
                 "thread)")
    took = {m: best_time(lambda m=m: downscale_temperature(davos, terrain, m), 7) / nt
            for m in ("bilinear", "lapse_fixed", "lapse_estimated", "toposcale")}
    # the choice of baseline runs on the coarse grid; a 64x64 one (the Davos profiles
    # interpolated to it) is more than a 512x512 fine grid ever has under it
    lat64 = np.linspace(float(davos.latitude[0]), float(davos.latitude[-1]), 64)
    lon64 = np.linspace(float(davos.longitude[0]), float(davos.longitude[-1]), 64)
    coarse64 = davos.interp(latitude=lat64, longitude=lon64)
    took["selection (64x64 coarse)"] = best_time(lambda: select_baseline(coarse64)) / nt
    for method, t in took.items():
        budget = ("" if method in ("bilinear", "lapse_fixed") else
                  f"  (budget 30 ms: {'ok' if t < 0.03 else 'OVER'})")
        lines.append(f"  {method:24s} {t * 1000:6.1f} ms/step  x{t / took['bilinear']:4.1f} "
                     f"bilinear{budget}")
    total = took["selection (64x64 coarse)"] + took["toposcale"]
    lines.append(f"  worst default (selection + toposcale): {total * 1000:.1f} ms/step "
                 f"(budget 30 ms: {'ok' if total < 0.03 else 'OVER'})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--factor", type=int, default=2)
    parser.add_argument("--out", type=Path,
                        default=ROOT / "benchmarks" / "results" / "bench_skill_cpu.txt")
    args = parser.parse_args()
    predictor = Predictor(ModelRegistry().resolve(None), "cpu")
    stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [f"# {stamp}, command: python benchmarks/bench_skill.py --factor {args.factor}; "
             f"model {predictor.card.spec} behind its guard; load average "
             f"{' '.join(f'{x:.2f}' for x in os.getloadavg())} at the start (shared machine)"]
    skill(lines, predictor, args.factor)
    windows(lines, args.factor)
    gradients(lines)
    cost(lines)
    text = "\n".join(lines) + "\n"
    print(text)
    args.out.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
