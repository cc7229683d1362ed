"""Cold start: process launch to the sample map on screen (and saved), N runs, plus an
import-time profile of what the process imports before the window code starts.

Run under a display (or let this script start Xvfb):

    python benchmarks/bench_startup.py [--runs 5] [--profile-only] [--compare TREE]

``--compare TREE`` also launches the app from another source tree (an earlier commit,
``git archive REV | tar -x -C TREE``), alternating run by run with this one, so both
see the same machine load, and prints the ratio.

Reports, medians over the runs:
- process launch -> first map frame drawn (the time a user waits for the map; the app
  prints the wall clock of its first frame, this script subtracts its own launch time);
- process launch -> screenshot saved (the window after a 0.3 s settle, panels included);
- the in-process time from ``run_gui`` to the first frame.

The profile runs ``python -X importtime`` on the imports of ``microclimate gui`` up to
the window code and prints the slowest top-level packages (self time summed) and the
slowest of our own modules (cumulative), so a regression shows who brought it in. The
reference a user would compare with is the 2 s a desktop tool should take to show its
window; there is no other tool to run side by side.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GOAL_S = 2.0
# what `microclimate gui` imports before run_gui starts building the window
STARTUP_IMPORTS = ("import desktop_app.cli; from desktop_app.cli import command_module; "
                   "command_module('gui'); from desktop_app.gui.app import run_gui")


def import_profile(top: int = 12, root: Path = ROOT) -> None:
    proc = subprocess.run([sys.executable, "-X", "importtime", "-c", STARTUP_IMPORTS],
                          capture_output=True, text=True, check=True, cwd=root,
                          env={**os.environ, "PYTHONPATH": str(root)})
    rows = []
    for line in proc.stderr.splitlines():
        m = re.match(r"import time:\s+(\d+) \|\s+(\d+) \|(\s*)(\S+)", line)
        if m:
            rows.append((int(m.group(1)), int(m.group(2)), m.group(4)))
    total = sum(r[0] for r in rows) / 1e6
    by_package: Counter[str] = Counter()
    for self_us, _, name in rows:
        by_package[name.split(".")[0]] += self_us
    print(f"\n== import profile of `microclimate gui` up to the window code ({root.name}): "
          f"{total:.2f} s "
          f"in {len(rows)} modules (python -X importtime, one run) ==")
    print("slowest packages (self time of all their modules):")
    for name, us in by_package.most_common(top):
        print(f"  {us / 1e6:7.3f} s  {name}")
    ours = sorted((r for r in rows if r[2].startswith("desktop_app")), key=lambda r: -r[1])
    print("slowest of our modules (cumulative, includes what they import):")
    for _, cum, name in ours[:8]:
        print(f"  {cum / 1e6:7.3f} s  {name}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--profile-only", action="store_true")
    parser.add_argument("--compare", type=Path, metavar="TREE",
                        help="another source tree to launch, alternating with this one")
    args = parser.parse_args()
    if not os.environ.get("DISPLAY") and shutil.which("xvfb-run"):
        os.execvp("xvfb-run", ["xvfb-run", "-a", "-s", "-screen 0 1600x1000x24",
                               sys.executable, *sys.argv])
    print(f"load: {os.getloadavg()[0]:.1f} {os.getloadavg()[1]:.1f} "
          f"{os.getloadavg()[2]:.1f} (1/5/15 min) on {os.cpu_count()} CPUs")
    trees = [ROOT] if args.compare is None else [args.compare.resolve(), ROOT]
    for tree in trees:  # as installed: pip and the bundle ship bytecode; a source tree
        # run with PYTHONDONTWRITEBYTECODE (as here) compiles every module at each launch
        subprocess.run([sys.executable, "-m", "compileall", "-q", str(tree / "desktop_app")],
                       check=True, stdout=subprocess.DEVNULL)
    if not args.profile_only:
        results = measure(args.runs, trees)
        for tree in trees:
            print(f"\n== {tree} ==")
            report(*results[tree])
        if args.compare is not None:
            before, after = (statistics.median(results[t][0]) for t in trees)
            print(f"\nlaunch -> first map frame: {before:.2f} s -> {after:.2f} s "
                  f"({before / after:.2f}x faster; same runs, alternating)")
    import_profile()
    if args.compare is not None:
        import_profile(root=args.compare.resolve())


Launch = tuple[float, float | None, float | None, float | None]


def launch(tree: Path, out: str, env: dict[str, str]) -> Launch:
    """One cold start of ``tree``'s app: (wall s, launch->first frame s, run_gui->frame s,
    the process's CPU s at the first frame where the app reports it)."""
    launched = time.time()
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "desktop_app", "gui", "--screenshot", out],
        capture_output=True, text=True, env={**env, "PYTHONPATH": str(tree)}, check=True,
        cwd=tree,
    )
    wall = time.perf_counter() - start
    drawn = re.search(r"map drawn at ([\d.]+) \(([\d.]+) s after start(?:; ([\d.]+) CPU s)?\)",
                      proc.stdout)
    if not drawn:
        return wall, None, None, None
    cpu = float(drawn.group(3)) if drawn.group(3) else None
    return wall, float(drawn.group(1)) - launched, float(drawn.group(2)), cpu


Series = tuple[list[float], list[float], list[float], list[float]]


def measure(runs: int, trees: list[Path]) -> dict[Path, Series]:
    """(launch->map, run_gui->map, wall, CPU at the map) per tree. One home folder for
    all runs, as a user's: the first run of each tree fills its caches (the glyph
    distance fields), the later ones read them."""
    results: dict[Path, Series] = {t: ([], [], [], []) for t in trees}
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "MICROCLIMATE_HOME": tmp}
        for k in range(runs):
            for tree in trees:  # alternating: both trees see the same load
                wall, to_map, inner, cpu = launch(tree, os.path.join(tmp, f"shot{k}.png"),
                                                  env)
                maps, inners, walls, cpus = results[tree]
                walls.append(wall)
                if to_map is not None and inner is not None:
                    maps.append(to_map)
                    inners.append(inner)
                if cpu is not None:
                    cpus.append(cpu)
    return results


def report(maps: list[float], inner: list[float], walls: list[float],
           cpus: list[float]) -> None:
    runs = len(walls)
    print(f"runs: {runs}")
    if maps:
        print(f"process launch -> first map frame: median {statistics.median(maps):.2f} s "
              f"(min {min(maps):.2f}, max {max(maps):.2f}; goal < {GOAL_S:.0f} s: "
              f"{statistics.median(maps) / GOAL_S:.2f}x the goal)")
        print(f"window code (run_gui) -> first map frame: median "
              f"{statistics.median(inner):.2f} s")
        print(f"the first run (empty caches: glyph fields, decoded basemap): launch -> map "
              f"{maps[0]:.2f} s")
    if cpus:
        print(f"process CPU time at the first map frame (all threads, imports included; "
              f"less load-dependent than the wall clock): median {statistics.median(cpus):.2f} s "
              f"(min {min(cpus):.2f}, max {max(cpus):.2f})")
    print(f"process launch -> screenshot saved: median {statistics.median(walls):.2f} s "
          f"(min {min(walls):.2f}, max {max(walls):.2f}; includes the 0.3 s settle, the "
          "panels built after the first frame and Python's exit)")


if __name__ == "__main__":
    main()
