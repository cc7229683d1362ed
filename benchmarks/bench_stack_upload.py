"""A week of hourly 1024x1024 frames onto the map: how long the window cannot answer.

    python benchmarks/bench_stack_upload.py [--size 1024] [--frames 168]

Side by side in one run, each way in its own process (GL context and memory apart), on
the same GENERATED smooth fields (labelled so; not weather data):
- before: the colour range from a float64 copy of the stack, then the whole stack
  encoded and uploaded in one call (what the map did before this change);
- sliced: the colour range read in place, the shown step uploaded at once and the rest
  in slices between event-loop turns (``MapCanvas``, as the window does now).
Each opens a region's first stack (the texture is allocated), then switches to another
variable of the same shape; the sliced way once more with that variable's colour range
worked out beforehand on a background thread, as the window does for the variables
not shown. Reported: when the shown step is drawn, when every step is
on the GPU, the longest event-loop turn in between (the longest the GUI thread was
blocked: goal <= 100 ms), and the process's memory growth and peak against the frames'
own bytes. Without a display it re-runs itself under Xvfb (Mesa llvmpipe keeps
"GPU" textures in RAM, so they count in the process's memory).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import time

import numpy as np
import psutil


def generated_frames(n: int, size: int) -> np.ndarray:
    """GENERATED test fields: moving smooth waves (not weather data), made step by step
    so that building them needs no stack-sized temporaries."""
    y, x = np.mgrid[0:size, 0:size].astype(np.float32) / size
    out = np.empty((n, size, size), np.float32)
    for k in range(n):
        t = k / 24.0
        out[k] = 10 + 8 * np.sin(2 * np.pi * (x + 0.3 * t)) * np.cos(2 * np.pi * (y - 0.2 * t))
    return out


def rss_mb() -> float:
    return psutil.Process().memory_info().rss / 2**20


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux


def old_value_range(values: np.ndarray) -> tuple[float, float] | None:
    """The colour range as it was computed before: a float64 copy, then its finite part."""
    finite = np.asarray(values, float)
    finite = finite[np.isfinite(finite)]
    return (float(finite.min()), float(finite.max())) if finite.size else None


def stats(key: str, r: tuple[float, ...]) -> dict[str, float]:
    names = ("first_s", "all_s", "block_s", "call_s", "draw_s", "slice_s", "call_cpu_s",
             "slice_cpu_s")
    return {f"{key}_{name}": value for name, value in zip(names, r, strict=True)}


def run(way: str, n: int, size: int) -> dict[str, float]:
    from PySide6 import QtWidgets
    from vispy.gloo import gl

    from desktop_app.viz import map_canvas, use_qt_backend
    from desktop_app.viz.map_model import MapModel, colour

    use_qt_backend()
    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication([])
    if way == "before":
        map_canvas.SLICED_UPLOAD_BYTES = 2**62  # never sliced: one piece, as before
        colour.value_range = old_value_range  # type: ignore[assignment]
    model = MapModel()
    canvas = map_canvas.MapCanvas(model)
    canvas.canvas.size = (size, size)
    canvas.canvas.show()
    app.processEvents()
    lat, lon = np.linspace(50.0, 58.0, size), np.linspace(-10.0, 2.0, size)
    frames = generated_frames(n, size)
    base_rss, base_peak = rss_mb(), peak_mb()

    def show(stack: np.ndarray, t: int) -> tuple[float, ...]:
        """Seconds: (shown step drawn, all steps on the GPU, longest GUI-thread turn,
        the set_data call alone, one redraw of the map, longest turn after the first)."""
        t0, c0 = time.perf_counter(), time.thread_time()
        model.field.set_data(stack, lat, lon, "temperature", t=t)
        call, call_cpu = time.perf_counter() - t0, time.thread_time() - c0
        canvas.widget.repaint()
        gl.glFinish()
        first = time.perf_counter() - t0
        later, later_cpu = 0.0, 0.0
        last, last_cpu = time.perf_counter(), time.thread_time()
        while canvas.uploading:
            app.processEvents()
            now, now_cpu = time.perf_counter(), time.thread_time()
            later, last = max(later, now - last), now
            later_cpu, last_cpu = max(later_cpu, now_cpu - last_cpu), now_cpu
        canvas.canvas.set_current()
        gl.glFinish()
        return (first, time.perf_counter() - t0, max(first, later), call, first - call,
                later, call_cpu, later_cpu)

    opened = show(frames, 0)
    # another variable on the same grid: a new array object of the same shape (a view
    # of the same values: the work to show it is the same as for new values)
    switched = show(frames[:], 12)
    out = {**stats("open", opened), **stats("switch", switched)}
    if way == "sliced":
        # as the window does: the other variables' colour ranges worked out on a
        # background thread while the user looks at the first one
        other = frames[:]
        thread = colour.prime_ranges([other])
        if thread is not None:
            thread.join()
        primed = show(other, 24)
        out.update(stats("primed", primed))
    return {**out, "frames_mb": frames.nbytes / 2**20, "grew_mb": rss_mb() - base_rss,
            "peak_mb": peak_mb() - base_peak}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size", type=int, default=1024)
    parser.add_argument("--frames", type=int, default=168, help="168 = 7 days hourly")
    parser.add_argument("--way", choices=("before", "sliced"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if not os.environ.get("DISPLAY") and shutil.which("xvfb-run"):
        os.execvp("xvfb-run", ["xvfb-run", "-a", "-s", "-screen 0 1600x1200x24",
                               sys.executable, *sys.argv])
    if args.way:
        print(json.dumps(run(args.way, args.frames, args.size)), flush=True)
        os._exit(0)  # skip GL/Qt teardown, which can abort in some driver stacks
    results = {}
    for way in ("before", "sliced"):
        proc = subprocess.run([sys.executable, __file__, "--way", way, "--size",
                               str(args.size), "--frames", str(args.frames)],
                              capture_output=True, text=True, check=True)
        results[way] = json.loads(proc.stdout.strip().splitlines()[-1])
    print(f"{args.frames} frames of {args.size}x{args.size} float32 (generated fields, "
          f"{results['sliced']['frames_mb']:.0f} MB), display {os.environ.get('DISPLAY')}, "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(f"{'':8s} {'':22s} {'shown step':>10s} {'all steps':>10s} {'longest block':>14s}"
          f" {'= set_data':>11s} {'+ a redraw':>11s} {'longest slice':>14s}"
          f" {'GUI-thread CPU: set_data, slice':>32s}")
    for way, r in results.items():
        for key, what in (("open", "region's first stack"), ("switch", "variable switch"),
                          ("primed", "switch, range primed")):
            if key + "_first_s" not in r:
                continue
            print(f"{way:8s} {what:22s} {r[key + '_first_s']:9.2f}s {r[key + '_all_s']:9.2f}s "
                  f"{1000 * r[key + '_block_s']:11.0f} ms {1000 * r[key + '_call_s']:8.0f} ms "
                  f"{1000 * r[key + '_draw_s']:8.0f} ms {1000 * r[key + '_slice_s']:11.0f} ms "
                  f"{1000 * r[key + '_call_cpu_s']:21.0f} ms "
                  f"{1000 * r[key + '_slice_cpu_s']:5.0f} ms")
    for way, r in results.items():
        print(f"{way:8s} memory: grew {r['grew_mb']:.0f} MB, peak +{r['peak_mb']:.0f} MB "
              f"for {r['frames_mb']:.0f} MB of frames ({r['grew_mb'] / r['frames_mb']:.2f}x, "
              f"peak {r['peak_mb'] / r['frames_mb']:.2f}x)")
    b, s = results["before"], results["sliced"]
    print("(longest block: the longer of [set_data + the redraw that shows the step] and the "
          "longest event-loop turn after it; a redraw costs what any frame costs. GUI-thread "
          "CPU: the thread's own CPU time in set_data and in the longest slice turn, which "
          "the load of other jobs does not inflate)")
    print(f"longest block, variable switch: before / sliced = "
          f"{b['switch_block_s'] / s['switch_block_s']:.1f}x, before / sliced with the range "
          f"primed = {b['switch_block_s'] / s['primed_block_s']:.1f}x (goal: <= 100 ms)")


if __name__ == "__main__":
    main()
