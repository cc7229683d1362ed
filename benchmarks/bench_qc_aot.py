"""The QC kernels as the installer runs them (compiled ahead of time) against Numba's JIT,
side by side in one run.

    python packaging/build_qc_aot.py                 # writes build/qc-aot (or reuses it)
    python benchmarks/bench_qc_aot.py [--before DIR] [--rounds 3] [--runs 3]

Variants, each in a fresh process per round (the order rotates every round):

- ``jit``: this tree with Numba (``MICROCLIMATE_QC_JIT=1``; its disk cache warmed first);
- ``aot_v3`` / ``aot_baseline``: this tree with only that compiled module on
  ``desktop_app.qc``'s path (x86-64-v3, generic x86-64), as the bundle picks one;
- ``before`` (with ``--before DIR``): another checkout's JIT, e.g. ``git archive main``
  (there the neighbour scan and the one-step buddy check still use Numba's prange).

Per process: ``ready`` (import of the runner and :func:`kernels_ready`: the JIT loads its
cache, a compiled module only imports), then ``--runs`` timed calls of the whole runner
(every test, 1,000 stations x 8,760 h), of the one-step buddy check on 50,000 stations
with its neighbour index, and of each public per-series check on one 2,000,000-value
series (where the CPU level shows most). Medians over all rounds, ratios against
``jit``, the load average. The flags of every variant must hash the same, or the run
fails. Last, ``--kernels-only`` (also alone): the compiled entry points called directly
against the JIT's in one process, interleaved, one thread (kernel time only).

ALL DATA HERE IS GENERATED (``bench_qc.generated_station_dataset`` and
``generated_network``): speed and agreement only, never skill.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve()
ROOT = HERE.parents[1]
AOT_OUT = ROOT / "build" / "qc-aot"


def child(path: str, runs: int, aot_dir: str) -> None:
    """One JSON line: ready seconds, runner and buddy walls, digests of their flags."""
    start = time.perf_counter()
    if aot_dir:
        import desktop_app.qc

        desktop_app.qc.__path__.insert(0, aot_dir)
    from desktop_app.qc.runner import kernels_ready, run_qc

    kernels_ready()
    ready = time.perf_counter() - start
    import numpy as np
    import xarray as xr

    from desktop_app.qc import checks
    from desktop_app.qc.config import parse_config

    sys.path.insert(0, str(HERE.parent))
    from bench_qc import generated_network, generated_series

    with xr.open_dataset(path, engine="netcdf4") as f:
        ds = f.load()
    climatology = {"monthly_min": [-20.0] * 12, "monthly_max": [30.0] * 12}
    config = parse_config({"variables": {"temperature": {"climatology": climatology}}})
    out, report = run_qc(ds, config)
    runner = hashlib.sha256()
    for name in sorted(str(n) for n in out.data_vars if "_qc" in str(n)):
        runner.update(name.encode() + np.ascontiguousarray(out[name].values).tobytes())
    net = generated_network(50_000, seed=50_000)
    params = (30000.0, 3, 2.0, 200.0, -0.0065, 1.0, 2)
    buddy = hashlib.sha256(checks.buddy_check(*net, *params).tobytes())
    t, x = generated_series(2_000_000)
    series = {  # the per-series checks alone, one 2,000,000-value series each
        "gross_range": lambda: checks.gross_range(x, (-40, 50), (-20, 35)),
        "rate_of_change": lambda: checks.rate_of_change(x, t, 5 / 3600, 10 / 3600),
        "spike": lambda: checks.spike(x, 3.0, 8.0),
        "flat_line": lambda: checks.flat_line(x, t, 3600, 7200, 0.05),
        "robust_outlier": lambda: checks.robust_outlier(x),
    }
    kernels = hashlib.sha256()
    for fn in series.values():
        kernels.update(fn().tobytes())
    walls: dict[str, list[float]] = {"runner": [], "buddy": [], **{k: [] for k in series}}
    for _ in range(runs):
        for key, fn in series.items():
            t0 = time.perf_counter()
            fn()
            walls[key].append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        run_qc(ds, config)
        walls["runner"].append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        checks.buddy_check(*net, *params)
        walls["buddy"].append(time.perf_counter() - t0)
    print(json.dumps({"ready": ready, **walls, "kernels": getattr(report, "kernels", "jit"),
                      "digest": runner.hexdigest() + buddy.hexdigest() + kernels.hexdigest(),
                      "series": list(series),
                      "values": int(ds["temperature"].size)}))


def in_process(rounds: int) -> None:
    """The compiled entry points called directly, against the JIT's, in this one process,
    interleaved, one thread, best of ``rounds``: the fused per-series pass by test (400
    stations x 8,760 h), the neighbour count scan and one buddy iteration (50,000
    stations). Kernel time only: no dispatch, no threads, no I/O."""
    os.environ["MICROCLIMATE_QC_JIT"] = "1"
    sys.path.insert(0, str(ROOT))
    sys.path.insert(0, str(HERE.parent))
    import importlib.util

    import numpy as np
    from bench_qc import generated_network, generated_station_dataset

    from desktop_app.qc import _buddy, _stations
    from desktop_app.qc import _kernels as k
    from desktop_app.qc import neighbours as nbm
    from desktop_app.qc._cutoffs import rate_cutoff

    mods: dict[str, Any] = {"jit": None}
    for f in sorted(AOT_OUT.glob("_aot_*")):
        spec = importlib.util.spec_from_file_location(f.name.split(".")[0], f)
        assert spec is not None and spec.loader is not None
        mods[spec.name] = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mods[spec.name])
    ds = generated_station_dataset(400, 8760)
    v = np.ascontiguousarray(ds["temperature"].values, dtype=np.float64)
    ns, nt = v.shape
    steps = k.step_seconds(ds["time"].values.astype("datetime64[ns]").view(np.int64))
    # the registry's rows for the default temperature tests and a climatology (rate of
    # change on the regular hourly axis: its threshold as a cutoff of |dv|, no fail one)
    roc_cut = rate_cutoff(10 / 3600, 3600.0)
    rows = np.array([[-80, 60, -60, 50, 1], [10 / 3600, 0, 0, roc_cut, np.inf], [4, 8, 1, 1, 0],
                     [6, 12, 0.05, 1, 0], [4, 6, 24, 0, 0], [0, 0, 0, 0, 0]], np.float64)
    lo, hi = np.full(nt, -20.0), np.full(nt, 30.0)
    block, agg = np.empty((6, ns, nt), np.uint8), np.empty((ns, nt), np.uint8)
    tests = {"all": np.arange(6, dtype=np.int64)}
    tests.update({name: np.array([c], np.int64) for c, name in enumerate(
        ("gross", "roc", "spike", "flat", "robust", "clim"))})
    lats, lons, elevs, values = generated_network(50_000, seed=50_000)
    idx = nbm.StationIndex(lats, lons)
    n = idx.size
    radii = np.full(n, 30000.0)
    ijk, keys = nbm._cell_keys(idx.xyz, 30000.0)
    order = np.argsort(keys, kind="stable")
    xyz = [np.ascontiguousarray(idx.xyz[order, a]) for a in range(3)]
    ijk, keys = np.ascontiguousarray(ijk[order]), np.ascontiguousarray(keys[order])
    nb = idx.neighbours(radii)
    vals, el = np.ascontiguousarray(values[nb.order]), np.ascontiguousarray(elevs[nb.order])

    def fn(m: Any, module: str, name: str) -> Any:
        return getattr({"kernels": k, "stations": _stations, "buddy": _buddy,
                        "neighbours": nbm}[module], name) if m is None else \
            getattr(m, f"{module}__{name}")

    def series(m: Any, codes: np.ndarray) -> Any:
        counts = np.zeros((ns, 7, 10), np.int64)
        fn(m, "stations", "per_series")(v, codes, codes, rows[codes], steps, lo, hi, block,
                                         agg, counts, 0, ns)
        return counts.sum(axis=0)

    def scan(m: Any) -> Any:
        indptr = np.zeros(n + 1, np.int64)
        fn(m, "neighbours", "_scan_rows")(*xyz, radii, ijk, keys, indptr,
                                          np.zeros(0, np.int32), False, 0, n)
        return indptr

    def step(m: Any) -> Any:
        flags = [np.zeros(n, np.bool_) for _ in range(3)]
        fn(m, "buddy", "_step_rows")(vals, el, nb.indptr, nb.indices, np.full(n, 3, np.int64),
                                     np.ones(n, np.bool_), 2.0, 200.0, -0.0065, 1.0, *flags,
                                     0, n)
        return np.concatenate(flags)

    cases = {**{f"series:{t}": (lambda m, c=c: series(m, c)) for t, c in tests.items()},
             "scan": scan, "buddy step": step}
    want = {name: case(None) for name, case in cases.items()}
    best: dict[str, dict[str, float]] = {m: {} for m in mods}
    for _ in range(rounds):
        for mname, m in mods.items():
            for name, case in cases.items():
                t0 = time.perf_counter()
                got = case(m)
                dt = time.perf_counter() - t0
                assert np.array_equal(got, want[name]), (mname, name)
                best[mname][name] = min(best[mname].get(name, np.inf), dt)
    print(f"\nkernel time, one thread, in one process, best of {rounds} (ms; jit/variant):")
    print(f"{'':>14}" + "".join(f"{c:>16}" for c in cases))
    for mname, r in best.items():
        print(f"{mname:>14}" + "".join(f"{r[c] * 1e3:8.1f} {best['jit'][c] / r[c]:5.2f}x "
                                       for c in cases))
    print("results identical in every variant: True")


def _run(tree: Path, path: Path, runs: int, aot_dir: Path | None) -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    env.pop("MICROCLIMATE_QC_JIT", None)
    if aot_dir is None:
        env["MICROCLIMATE_QC_JIT"] = "1"
    done = subprocess.run([sys.executable, str(HERE), "--child", str(path), str(runs),
                           str(aot_dir or "")], cwd=tree, env=env, capture_output=True,
                          text=True)
    if done.returncode:
        raise SystemExit(f"{tree} ({aot_dir or 'jit'}): {done.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--before", type=Path, help="another checkout, run with its JIT")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--runs", type=int, default=3, help="timed calls per process")
    parser.add_argument("--stations", type=int, default=1000)
    parser.add_argument("--hours", type=int, default=24 * 365)
    parser.add_argument("--kernels-only", action="store_true",
                        help="only the in-process kernel comparison")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], int(args.child[1]), args.child[2])
        return
    if args.kernels_only:
        in_process(4)
        return
    sys.path.insert(0, str(HERE.parent))
    from bench_qc import generated_station_dataset

    with tempfile.TemporaryDirectory() as tmp:
        variants: dict[str, tuple[Path, Path | None]] = {"jit": (ROOT, None)}
        for build in ("v3", "baseline"):
            alone = Path(tmp) / build
            alone.mkdir()
            found = sorted(AOT_OUT.glob(f"_aot_{build}.*"))
            if not found:
                raise SystemExit(f"no _aot_{build} in {AOT_OUT}: run packaging/build_qc_aot.py")
            shutil.copy2(found[0], alone)
            variants[f"aot_{build}"] = (ROOT, alone)
        if args.before:
            variants["before"] = (args.before.resolve(), None)
        path = Path(tmp) / "generated_stations.nc"
        generated_station_dataset(args.stations, args.hours).to_netcdf(path, engine="netcdf4")
        for tree, aot in variants.values():  # compile or load each JIT's cache first
            _run(tree, path, 0, aot)
        names = list(variants)
        results: dict[str, list[dict[str, Any]]] = {name: [] for name in names}
        loads = []
        for r in range(args.rounds):
            for name in names[r % len(names):] + names[:r % len(names)]:
                loads.append(os.getloadavg()[0])
                tree, aot = variants[name]
                results[name].append(_run(tree, path, args.runs, aot))
    _report(results, loads, args)
    # last, in a fresh process: this one imported the kernels without forcing the JIT
    subprocess.run([sys.executable, str(HERE), "--kernels-only"], check=True)


def _report(results: dict[str, list[dict[str, Any]]], loads: list[float],
            args: argparse.Namespace) -> None:
    n = results["jit"][0]["values"]
    print(f"GENERATED data: runner on {args.stations:,} stations x {args.hours:,} h = {n:,} "
          f"values (every test); buddy check, one step, 50,000 stations with its index; "
          f"{args.rounds} rounds x {args.runs} runs per variant, order rotating")
    print(f"load average (1 min) at each process start: min {min(loads):.2f}, median "
          f"{statistics.median(loads):.2f}, max {max(loads):.2f} on {os.cpu_count()} cores")
    med = {name: {key: statistics.median([w for r in rs for w in
                                          (r[key] if key != "ready" else [r[key]])])
                  for key in ("ready", "runner", "buddy")} for name, rs in results.items()}
    print(f"{'variant':>13} {'kernels':>13} {'ready s':>8} {'runner ms':>10} {'M val/s':>8}"
          f" {'buddy ms':>9} | jit/variant: {'ready':>6} {'runner':>7} {'buddy':>6}")
    j = med["jit"]
    for name, m in med.items():
        print(f"{name:>13} {results[name][0]['kernels']:>13} {m['ready']:8.2f} "
              f"{m['runner'] * 1e3:10.1f} {n / m['runner'] / 1e6:8.1f} {m['buddy'] * 1e3:9.1f}"
              f" | {'':12} {j['ready'] / m['ready']:5.2f}x {j['runner'] / m['runner']:6.2f}x "
              f"{j['buddy'] / m['buddy']:5.2f}x")
    keys = results["jit"][0]["series"]
    print(f"per-series checks, 2,000,000 generated values, median ms: {'':>2}"
          + "".join(f"{k:>15}" for k in keys))
    for name, rs in results.items():
        ms = [statistics.median([w for r in rs for w in r[k]]) * 1e3 for k in keys]
        ratio = [statistics.median([w for r in results["jit"] for w in r[k]]) * 1e3 / m
                 for k, m in zip(keys, ms, strict=True)]
        print(f"{name:>13}" + " " * 45 + "".join(f"{m:8.2f} {q:5.2f}x" for m, q in
                                                 zip(ms, ratio, strict=True)))
    digests = {r["digest"] for rs in results.values() for r in rs}
    print(f"flags identical in every variant (runner and buddy check): {len(digests) == 1}")
    if len(digests) != 1:
        raise SystemExit("the variants' flags differ")


if __name__ == "__main__":
    main()
