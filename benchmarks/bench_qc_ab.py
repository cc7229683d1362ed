"""The whole QC runner, two versions side by side: this checkout against another one.

    git worktree add /tmp/qc_before <commit>        # or: git archive <commit> | tar -x -C DIR
    python benchmarks/bench_qc_ab.py --before /tmp/qc_before --rounds 6 --runs 5

On a machine shared with other work, wall-clock numbers swing from one minute to the
next; a ratio is only fair when both versions run under the same conditions. So the two
versions alternate, round after round (the order flips each round), each in a fresh
process that imports its own tree (``PYTHONPATH``) and loads its own Numba cache, reads
the same station file and runs :func:`run_qc` ``--runs`` times after a first call. The
medians over all rounds, the values per second, the CPU time of all threads and the
ratios are printed with the load average seen during the run. The flags of both versions
(every ``<var>_qc*`` array and its attributes) must hash the same, or the run fails.

ALL DATA HERE IS GENERATED (:func:`bench_qc.generated_station_dataset`, 1,000 stations x
8,760 h by default, the same file as ``bench_qc.py``'s runner section): speed and
agreement only, never skill.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve()


def child(path: str, runs: int) -> None:
    """In the tree on ``PYTHONPATH``: one warm-up call, ``runs`` timed calls; one JSON line."""
    import numpy as np
    import xarray as xr

    from desktop_app.qc.config import parse_config
    from desktop_app.qc.runner import kernels_ready, run_qc

    kernels_ready()
    with xr.open_dataset(path, engine="netcdf4") as f:
        ds = f.load()
    # the runner section's config of bench_qc.py: every test, made-up climatology bounds
    climatology = {"monthly_min": [-20.0] * 12, "monthly_max": [30.0] * 12}
    config = parse_config({"variables": {"temperature": {"climatology": climatology}}})
    out, report = run_qc(ds, config)
    digest = hashlib.sha256()
    for name in sorted(map(str, out.data_vars)):
        if "_qc" in name:
            digest.update(name.encode())
            digest.update(np.ascontiguousarray(out[name].values).tobytes())
            digest.update(json.dumps(out[name].attrs, sort_keys=True, default=str).encode())
    walls, cpus = [], []
    for _ in range(runs):
        start, cpu = time.perf_counter(), time.process_time()
        run_qc(ds, config)
        walls.append(time.perf_counter() - start)
        cpus.append(time.process_time() - cpu)
    counts = {test: {int(flag): n for flag, n in c.items()}
              for test, c in report.counts["temperature"].items()}
    print(json.dumps({"walls": walls, "cpus": cpus, "digest": digest.hexdigest(),
                      "counts": counts, "values": int(ds["temperature"].size)}))


def _run_child(tree: Path, path: Path, runs: int) -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    done = subprocess.run([sys.executable, str(HERE), "--child", str(path), str(runs)],
                          cwd=tree, env=env, capture_output=True, text=True, check=True)
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--before", type=Path, help="the other checkout (its repository root)")
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--runs", type=int, default=5, help="timed calls per process")
    parser.add_argument("--stations", type=int, default=1000)
    parser.add_argument("--hours", type=int, default=24 * 365)
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], int(args.child[1]))
        return
    if args.before is None:
        parser.error("--before DIR is required")
    sys.path.insert(0, str(HERE.parent))
    from bench_qc import generated_station_dataset

    trees = {"before": args.before.resolve(), "after": HERE.parent.parent}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "generated_stations.nc"
        generated_station_dataset(args.stations, args.hours).to_netcdf(path, engine="netcdf4")
        for tree in trees.values():  # compile or load each tree's kernels before timing
            _run_child(tree, path, 0)
        runs: dict[str, list[dict[str, Any]]] = {name: [] for name in trees}
        loads = []
        for r in range(args.rounds):
            for name in (list(trees) if r % 2 == 0 else list(trees)[::-1]):
                loads.append(os.getloadavg()[0])
                runs[name].append(_run_child(trees[name], path, args.runs))
    _report(runs, loads, args)


def _report(runs: dict[str, list[dict[str, Any]]], loads: list[float],
            args: argparse.Namespace) -> None:
    n = runs["after"][0]["values"]
    print(f"GENERATED data: {args.stations:,} stations x {args.hours:,} h = {n:,} values; "
          f"{args.rounds} rounds x {args.runs} runs per version, alternating")
    print(f"load average (1 min) at each process start: min {min(loads):.2f}, median "
          f"{statistics.median(loads):.2f}, max {max(loads):.2f} on {os.cpu_count()} cores")
    medians = {}
    for name, results in runs.items():
        walls = [w for r in results for w in r["walls"]]
        cpus = [c for r in results for c in r["cpus"]]
        wall, cpu = statistics.median(walls), statistics.median(cpus)
        medians[name] = (wall, min(walls), cpu)
        per_process = ", ".join(f"{statistics.median(r['walls']) * 1e3:.0f}" for r in results)
        print(f"{name:>6}: wall median {wall * 1e3:6.1f} ms = {n / wall / 1e6:5.1f} M values/s;"
              f" best {min(walls) * 1e3:6.1f} ms = {n / min(walls) / 1e6:5.1f} M/s; CPU (all "
              f"threads) median {cpu * 1e3:6.1f} ms = {n / cpu / 1e6:5.1f} M values per "
              f"CPU-second; per-process medians (ms): {per_process}")
    b, a = medians["before"], medians["after"]
    print(f"ratio before/after: wall median {b[0] / a[0]:.2f}x, best {b[1] / a[1]:.2f}x, "
          f"CPU {b[2] / a[2]:.2f}x")
    digests = {name: {r["digest"] for r in results} for name, results in runs.items()}
    same = len(digests["before"] | digests["after"]) == 1
    print(f"flags and their attributes identical before/after: {same}")
    print(f"suspect+fail per test: "
          f"{ {t: c['3'] + c['4'] for t, c in runs['after'][0]['counts'].items()} }")
    if not same:
        raise SystemExit("the two versions' flags differ")


if __name__ == "__main__":
    main()
