"""Cold start: process launch to the sample map on screen (and saved), N runs.

Run under a display (or let this script start Xvfb):

    python benchmarks/bench_startup.py [--runs 5]

Reports the wall time of the whole process (`microclimate gui --screenshot`) and the
in-process time from `run_gui` to the first drawn frame, as printed by the app.
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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    if not os.environ.get("DISPLAY") and shutil.which("xvfb-run"):
        os.execvp("xvfb-run", ["xvfb-run", "-a", "-s", "-screen 0 1600x1000x24",
                               sys.executable, *sys.argv])
    walls, inner = [], []
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "MICROCLIMATE_HOME": tmp}
        for k in range(args.runs):
            out = os.path.join(tmp, f"shot{k}.png")
            start = time.perf_counter()
            proc = subprocess.run(
                [sys.executable, "-m", "desktop_app", "gui", "--screenshot", out],
                capture_output=True, text=True, env=env, check=True,
            )
            walls.append(time.perf_counter() - start)
            match = re.search(r"\(([\d.]+) s after start\)", proc.stdout)
            if match:
                inner.append(float(match.group(1)))
    print(f"runs: {args.runs}")
    print(f"process launch -> map saved: median {statistics.median(walls):.2f} s "
          f"(min {min(walls):.2f}, max {max(walls):.2f})")
    if inner:
        print(f"window code -> map drawn + settle: median {statistics.median(inner):.2f} s "
              "(includes the 0.3 s settle before the screenshot)")


if __name__ == "__main__":
    main()
