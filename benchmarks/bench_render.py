"""Time-slider frame rate and memory of the map, against the tools a user would use.

    python benchmarks/bench_render.py [--size 1024] [--frames 168] [--seconds 4]

Side by side in one run, on the same frames (GENERATED smooth fields, labelled so):
- ours: every step resident in one 3-D texture, a frame switch is a uniform change;
- vispy Image.set_data per frame (what a plain vispy map does: re-upload each step);
- matplotlib imshow set_data + canvas draw (Agg), the usual scientific-Python route.
Frame rate counts finished frames (paint + glFinish) under whatever display is set;
without one it re-runs itself under Xvfb (software GL, Mesa llvmpipe).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time

import numpy as np
import psutil


def generated_frames(n: int, size: int) -> np.ndarray:
    """GENERATED test fields: moving smooth waves (not weather data)."""
    y, x = np.mgrid[0:size, 0:size].astype(np.float32) / size
    t = np.arange(n, dtype=np.float32)[:, None, None] / 24.0
    return (10 + 8 * np.sin(2 * np.pi * (x + 0.3 * t)) * np.cos(2 * np.pi * (y - 0.2 * t))
            ).astype(np.float32)


def rss_mb() -> float:
    return psutil.Process().memory_info().rss / 2**20


def fps(step, seconds: float, n_frames: int) -> float:
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        step(count % n_frames)
        count += 1
    return count / (time.perf_counter() - start)


def draw_now(canvas: object) -> None:
    """Draw one frame synchronously into the widget's framebuffer (Qt would coalesce
    repaint requests, so counting those would overstate the frame rate)."""
    canvas.native.makeCurrent()  # type: ignore[attr-defined]
    canvas.events.draw(region=None)  # type: ignore[attr-defined]


def run_ours(frames: np.ndarray, seconds: float) -> dict[str, float]:
    return _run_ours(frames, seconds, sliced=True)


def run_whole(frames: np.ndarray, seconds: float) -> dict[str, float]:
    """Our map as it was before sliced uploads: the whole stack in one call."""
    return _run_ours(frames, seconds, sliced=False)


def _run_ours(frames: np.ndarray, seconds: float, sliced: bool) -> dict[str, float]:
    from PySide6 import QtWidgets
    from vispy.gloo import gl

    from desktop_app.viz import use_qt_backend
    from desktop_app.viz.map_canvas import MapCanvas

    use_qt_backend()
    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication([])
    n, size = frames.shape[0], frames.shape[1]
    before = rss_mb()
    canvas = MapCanvas()
    canvas.canvas.size = (size, size)
    canvas.set_grid(np.linspace(34.0, 35.0, size), np.linspace(-119.0, -118.0, size))
    clim = (float(frames.min()), float(frames.max()))
    canvas.canvas.show()
    app.processEvents()

    def show(stack: np.ndarray) -> tuple[float, float, float]:
        """(first step drawn, all resident, longest event-loop turn) in seconds: the
        longest turn is the longest the window could not answer."""
        t0 = time.perf_counter()
        if sliced:
            canvas.set_frames(stack, clim, "viridis", "gen")
        else:
            canvas.image.set_frames(stack, clim)
            canvas.set_time(0)
        canvas.widget.repaint()
        gl.glFinish()
        first = time.perf_counter() - t0
        longest, last = first, time.perf_counter()
        while canvas.uploading:
            app.processEvents()
            now = time.perf_counter()
            longest, last = max(longest, now - last), now
        gl.glFinish()
        return first, time.perf_counter() - t0, longest

    # the first variable of a region (the texture is allocated), then a switch to
    # another variable on the same grid: the stack is the same shape, new values
    opened = show(frames)
    frames += 1.0  # in place: "another variable" without a second copy in memory
    first, upload, longest = show(frames)

    drawn = {"n": 0}
    canvas.canvas.events.draw.connect(lambda _e: drawn.__setitem__("n", drawn["n"] + 1))

    def step(t: int) -> None:
        canvas.set_time(t)
        draw_now(canvas.canvas)
        gl.glFinish()

    drawn["n"] = 0
    rate = fps(step, seconds, n)
    return {"fps": rate, "upload_s": upload, "first_s": first, "blocked_s": longest,
            "open_first_s": opened[0], "open_blocked_s": opened[2],
            "stack_mb": rss_mb() - before, "draws": drawn["n"]}


def run_plain(frames: np.ndarray, seconds: float) -> dict[str, float]:
    from PySide6 import QtWidgets
    from vispy import scene
    from vispy.gloo import gl

    from desktop_app.viz import use_qt_backend

    use_qt_backend()
    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication([])
    size = frames.shape[1]
    canvas = scene.SceneCanvas(size=(size, size), show=True)
    view = canvas.central_widget.add_view()
    view.camera = scene.PanZoomCamera(aspect=1)
    image = scene.visuals.Image(frames[0], cmap="viridis",
                                clim=(float(frames.min()), float(frames.max())),
                                parent=view.scene)
    view.camera.set_range()
    app.processEvents()

    drawn = {"n": 0}
    canvas.events.draw.connect(lambda _e: drawn.__setitem__("n", drawn["n"] + 1))

    def step(t: int) -> None:
        image.set_data(frames[t])
        draw_now(canvas)
        gl.glFinish()

    return {"fps": fps(step, seconds, frames.shape[0]), "draws": drawn["n"]}


def run_mpl(frames: np.ndarray, seconds: float) -> dict[str, float]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    size = frames.shape[1]
    fig = plt.figure(figsize=(size / 100, size / 100), dpi=100)
    ax = fig.add_axes((0, 0, 1, 1))
    im = ax.imshow(frames[0], cmap="viridis", vmin=float(frames.min()),
                   vmax=float(frames.max()), origin="lower")
    fig.canvas.draw()

    def step(t: int) -> None:
        im.set_data(frames[t])
        fig.canvas.draw()

    return {"fps": fps(step, seconds, frames.shape[0])}


METHODS = {
    "ours": ("ours: 3-D texture, uniform switch", run_ours),
    "whole": ("ours before: same, stack uploaded in one piece", run_whole),
    "plain": ("vispy Image.set_data per frame (re-upload)", run_plain),
    "mpl": ("matplotlib imshow set_data + draw (Agg)", run_mpl),
}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size", type=int, default=1024)
    parser.add_argument("--frames", type=int, default=168, help="168 = 7 days hourly")
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--method", choices=sorted(METHODS), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if not os.environ.get("DISPLAY") and shutil.which("xvfb-run"):
        os.execvp("xvfb-run", ["xvfb-run", "-a", "-s", "-screen 0 1600x1200x24",
                               sys.executable, *sys.argv])
    if args.method:  # one method per process: GL contexts and memory stay separate
        base = rss_mb()
        frames = generated_frames(args.frames, args.size)
        result = METHODS[args.method][1](frames, args.seconds)
        result["frames_mb"] = frames.nbytes / 2**20
        result["rss_mb"] = rss_mb() - base
        print(json.dumps(result), flush=True)
        os._exit(0)  # skip GL/Qt teardown, which can abort in some driver stacks
    results = {}
    for key in METHODS:
        proc = subprocess.run([sys.executable, __file__, "--method", key, "--size",
                               str(args.size), "--frames", str(args.frames), "--seconds",
                               str(args.seconds)], capture_output=True, text=True, check=True)
        results[key] = json.loads(proc.stdout.strip().splitlines()[-1])
    mpl = results["mpl"]["fps"]
    print(f"{args.frames} frames of {args.size}x{args.size} float32 (generated fields), "
          f"display {os.environ.get('DISPLAY')}")
    print(f"{'method':46s} {'fps':>7s} {'vs matplotlib':>14s}")
    for key, (name, _) in METHODS.items():
        value = results[key]["fps"]
        print(f"{name:46s} {value:7.1f} {value / mpl:13.1f}x")
    ours = results["ours"]
    print(f"ours vs per-frame re-upload: {ours['fps'] / results['plain']['fps']:.1f}x")
    whole = results["whole"]
    print("variable switch (another stack of the same shape to the GPU), sliced (now) vs in "
          "one piece (before):")
    for label, r in (("sliced", ours), ("one piece", whole)):
        print(f"  {label:<10} first step drawn after {r['first_s']:.2f} s, all steps resident "
              f"after {r['upload_s']:.2f} s, GUI thread blocked at most "
              f"{1000 * r['blocked_s']:.0f} ms (goal <= 100 ms); process grew by "
              f"{r['rss_mb']:.0f} MB for {r['frames_mb']:.0f} MB of frames")
        print(f"  {'':<10} (the region's first stack, texture allocated: first step after "
              f"{r['open_first_s']:.2f} s, blocked at most {1000 * r['open_blocked_s']:.0f} ms)")
    print(f"  longest block: one piece / sliced = {whole['blocked_s'] / ours['blocked_s']:.0f}x")
    print(f"memory: of our growth, the 16-bit GPU stack and window {ours['stack_mb']:.0f} MB "
          "(llvmpipe keeps GPU memory in RAM)")


if __name__ == "__main__":
    main()
