"""The installer bundle against the venv it was built from: size and start-up time.

Build the bundle first (``python packaging/build.py``), then, under a display (or let
this script start Xvfb):

    python benchmarks/bench_bundle.py [--dist dist] [--runs 5]

Sizes: the bundle folder, the ``.tar.gz`` and ``.deb`` next to it, and what the venv
holds for comparison; then the bundle per component (``--sizes-only`` stops there):
each top-level package folder of ``_internal`` and the shared libraries beside them,
grouped by the package they come from (``libQt6*`` with PySide6, ``libonnxruntime*``
with onnxruntime, ...), largest first. Times (median of N runs, first run shown apart:
it pays the cold file cache): ``microclimate --version`` and ``microclimate gui
--screenshot`` (launch to the sample map saved), for the bundle and for the venv's
``microclimate`` command.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def size_mib(path: Path) -> float:
    if path.is_file():
        return path.stat().st_size / 2**20
    return sum(p.stat().st_size for p in path.rglob("*")
               if p.is_file() and not p.is_symlink()) / 2**20


def component(rel: Path) -> str:
    """The component a bundle file belongs to: its top folder under ``_internal``, or for
    a loose library the package its name points at."""
    parts = rel.parts
    if parts[0] != "_internal" or len(parts) == 1:
        return parts[0]
    if len(parts) > 2:
        top = parts[1]
        return top.split(".libs")[0].split("-")[0].lower()
    name = parts[1].lower()
    for prefix, owner in (("libqt6", "pyside6"), ("libpyside6", "pyside6"),
                          ("libshiboken6", "pyside6"), ("libonnxruntime", "onnxruntime"),
                          ("libpython", "python"), ("libllvm", "llvmlite"),
                          ("libicu", "pyside6 (icu)"), ("libnetcdf", "netcdf4"),
                          ("libhdf5", "h5py/netcdf4 (hdf5)"), ("libeccodes", "eccodes")):
        if name.startswith(prefix):
            return owner
    return "(other loose libraries)"


def component_sizes(folder: Path, top: int = 18, what: str = "bundle") -> None:
    totals: dict[str, int] = {}
    for path in folder.rglob("*"):
        if path.is_file() and not path.is_symlink():
            key = component(path.relative_to(folder))
            totals[key] = totals.get(key, 0) + path.stat().st_size
    ranked = sorted(totals.items(), key=lambda kv: -kv[1])
    print(f"\n{what} per component ({len(ranked)} components, largest {top}):")
    for name, size in ranked[:top]:
        print(f"  {name:<42} {size / 2**20:6.1f} MiB")
    rest = sum(size for _, size in ranked[top:])
    print(f"  {'(the other ' + str(max(len(ranked) - top, 0)) + ')':<42} {rest / 2**20:6.1f} MiB")


def timed(cmd: list[str], env: dict[str, str], runs: int) -> tuple[float, float]:
    """(first run, median of the others) wall seconds; any failure stops the benchmark."""
    walls = []
    for _ in range(runs):
        start = time.perf_counter()
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
        if proc.returncode != 0:
            sys.exit(f"{' '.join(cmd)} failed ({proc.returncode}): {proc.stderr[-2000:]}")
        walls.append(time.perf_counter() - start)
    return walls[0], statistics.median(walls[1:] or walls)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--dist", type=Path, default=ROOT / "dist")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--sizes-only", action="store_true")
    args = parser.parse_args()
    if not args.sizes_only and not os.environ.get("DISPLAY") and shutil.which("xvfb-run"):
        os.execvp("xvfb-run", ["xvfb-run", "-a", "-s", "-screen 0 1600x1000x24",
                               sys.executable, *sys.argv])
    bundle = args.dist.resolve() / "microclimate" / "microclimate"
    if not bundle.is_file():
        sys.exit(f"no bundle at {bundle}: run python packaging/build.py first")
    venv_cmd = Path(sys.executable).with_name("microclimate")
    site = Path(next(p for p in sys.path if p.endswith("site-packages")))

    print("size")
    print(f"  {'bundle folder':<42} {size_mib(bundle.parent):6.0f} MiB")
    for pattern in ("microclimate-*.tar.gz", "microclimate-*.zip", "microclimate-desk_*.deb"):
        for path in sorted(args.dist.glob(pattern)):
            print(f"  {path.name:<42} {size_mib(path):6.0f} MiB")
    print(f"  {'venv site-packages':<42} {size_mib(site):6.0f} MiB (with the dev and train "
          "extras: for scale only)")
    addon = args.dist.resolve() / "grib-addon" / "microclimate"  # build.py's GRIB add-on
    if addon.is_dir():
        print(f"  {'GRIB add-on folder (grib-addon/microclimate)':<42} "
              f"{size_mib(addon):6.0f} MiB")
    component_sizes(bundle.parent)
    if addon.is_dir():
        component_sizes(addon, top=8, what="GRIB add-on")
    if args.sizes_only:
        return

    with tempfile.TemporaryDirectory() as tmp:
        # the bundle as a user runs it: clean PATH, no Python variables
        bundle_env = {"PATH": "/usr/bin:/bin", "HOME": tmp, "DISPLAY": os.environ["DISPLAY"],
                      "MICROCLIMATE_HOME": os.path.join(tmp, "b")}
        if os.environ.get("XAUTHORITY"):  # xvfb-run's display needs its cookie
            bundle_env["XAUTHORITY"] = os.environ["XAUTHORITY"]
        venv_env = {**os.environ, "PYTHONPATH": str(ROOT),
                    "MICROCLIMATE_HOME": os.path.join(tmp, "v")}
        rows = []
        for label, argv in (("--version", ["--version"]),
                            ("gui --screenshot", ["gui", "--screenshot",
                                                  os.path.join(tmp, "shot.png")])):
            b_first, b_med = timed([str(bundle), *argv], bundle_env, args.runs)
            v_first, v_med = timed([str(venv_cmd), *argv], venv_env, args.runs)
            rows.append((label, b_first, b_med, v_first, v_med))
    print(f"\ntimes (s), {args.runs} runs each: first run, then median of the rest")
    print(f"  {'command':<18} {'bundle':>16} {'venv':>16} {'bundle/venv':>12}")
    for label, b_first, b_med, v_first, v_med in rows:
        print(f"  {label:<18} {b_first:7.2f} {b_med:8.2f} {v_first:7.2f} {v_med:8.2f} "
              f"{b_med / v_med:11.2f}x")


if __name__ == "__main__":
    main()
