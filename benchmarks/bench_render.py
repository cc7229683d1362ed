"""Time-slider frame rate and memory of the map, against the tools a user would use.

    python benchmarks/bench_render.py [--size 1024] [--frames 168] [--seconds 4]

Side by side in one run, on the same frames (GENERATED smooth fields, labelled so):
- ours: every step resident in one 3-D texture, a frame switch is a uniform change;
- ours with the geographic context on (Natural Earth 1:10m lines of a coastal box,
  graticule with labels, place names, scale bar), the time stepped through the map model;
  and the same with the overlay cache off (every layer redrawn at every step);
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


CPU_MS: dict[str, float] = {}  # the last fps() run's CPU time per frame


def fps(step, seconds: float, n_frames: int) -> float:
    """Frames per second of wall time; also records the process's CPU time per frame
    (every thread, llvmpipe's rasterisers too) in CPU_MS: on a machine shared with
    other jobs the wall time swings with their load, the CPU time much less."""
    count, start, cpu = 0, time.perf_counter(), time.process_time()
    while time.perf_counter() - start < seconds:
        step(count % n_frames)
        count += 1
    CPU_MS["last"] = 1000 * (time.process_time() - cpu) / max(count, 1)
    return count / (time.perf_counter() - start)


def draw_now(canvas: object) -> None:
    """Draw one frame synchronously into the widget's framebuffer (Qt would coalesce
    repaint requests, so counting those would overstate the frame rate)."""
    canvas.native.makeCurrent()  # type: ignore[attr-defined]
    canvas.events.draw(region=None)  # type: ignore[attr-defined]


CONTEXT_LAYERS = ("basemap", "graticule", "places", "scalebar")


def run_ours(frames: np.ndarray, seconds: float, basemap: bool = False,
             overlay_cache: bool = True) -> dict[str, float]:
    from PySide6 import QtWidgets
    from vispy.gloo import gl

    from desktop_app.viz import use_qt_backend
    from desktop_app.viz.map_canvas import MapCanvas
    from desktop_app.viz.map_model import MapModel

    use_qt_backend()
    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication([])
    n, size = frames.shape[0], frames.shape[1]
    before = rss_mb()
    model = MapModel()
    for name in CONTEXT_LAYERS:  # the field alone, or with the whole geographic context
        model.layers[name].set_visible(basemap)
    canvas = MapCanvas(model)
    canvas.canvas.cache_enabled = overlay_cache  # (off: every layer drawn every frame)
    canvas.canvas.size = (size, size)
    # a coastal box (Britain and Ireland) so the basemap has coastlines, borders, lakes,
    # rivers and places to draw at the 1:10m scale
    lat, lon = np.linspace(50.0, 58.0, size), np.linspace(-10.0, 2.0, size)
    t0 = time.perf_counter()
    model.field.set_data(frames, lat, lon, "temperature", cmap="viridis")
    canvas.canvas.show()
    app.processEvents()
    canvas.widget.repaint()
    gl.glFinish()
    upload = time.perf_counter() - t0

    drawn = {"n": 0}
    canvas.canvas.events.draw.connect(lambda _e: drawn.__setitem__("n", drawn["n"] + 1))

    def step(t: int) -> None:
        model.field.set_time(t)  # through the model, as the window's time slider does
        draw_now(canvas.canvas)
        gl.glFinish()

    drawn["n"] = 0
    rate = fps(step, seconds, n)
    vertices = sum(len(p) for name in ("basemap",)
                   for prim in canvas._prims.get(name, []) for p in getattr(prim, "parts", []))
    return {"fps": rate, "cpu_ms": CPU_MS["last"], "upload_s": upload,
            "stack_mb": rss_mb() - before, "draws": drawn["n"], "basemap_vertices": vertices}


def run_ours_basemap(frames: np.ndarray, seconds: float) -> dict[str, float]:
    return run_ours(frames, seconds, basemap=True)


def run_ours_basemap_uncached(frames: np.ndarray, seconds: float) -> dict[str, float]:
    return run_ours(frames, seconds, basemap=True, overlay_cache=False)


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

    rate = fps(step, seconds, frames.shape[0])
    return {"fps": rate, "cpu_ms": CPU_MS["last"], "draws": drawn["n"]}


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

    rate = fps(step, seconds, frames.shape[0])
    return {"fps": rate, "cpu_ms": CPU_MS["last"]}


METHODS = {
    "ours": ("ours: 3-D texture, uniform switch", run_ours),
    "basemap": ("ours + basemap, graticule, places, scale", run_ours_basemap),
    "uncached": ("  the same, every layer redrawn each frame", run_ours_basemap_uncached),
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
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(f"{'method':46s} {'fps':>7s} {'vs matplotlib':>14s} {'CPU ms/frame':>13s}")
    for key, (name, _) in METHODS.items():
        value = results[key]["fps"]
        print(f"{name:46s} {value:7.1f} {value / mpl:13.1f}x {results[key]['cpu_ms']:13.1f}")
    ours = results["ours"]
    print(f"ours vs per-frame re-upload: {ours['fps'] / results['plain']['fps']:.1f}x")
    base = results["basemap"]
    print(f"with the Natural Earth basemap ({base['basemap_vertices']} line vertices), "
          f"graticule, place names and scale bar: {base['fps']:.1f} fps "
          f"({base['fps'] / ours['fps']:.2f}x the bare field; goal >= 55 fps); CPU per frame "
          f"{base['cpu_ms']:.1f} ms vs {ours['cpu_ms']:.1f} ms bare "
          f"(bare / basemap = {ours['cpu_ms'] / base['cpu_ms']:.2f}x)")
    plain = results["uncached"]
    print(f"the layers above the field cached while only the time step changes: "
          f"{base['fps']:.1f} fps vs {plain['fps']:.1f} fps redrawing them "
          f"({base['fps'] / plain['fps']:.2f}x)")
    print(f"one-time upload of all frames to the GPU: {ours['upload_s']:.2f} s")
    print(f"memory: frames in RAM {ours['frames_mb']:.0f} MB; our whole process grew by "
          f"{ours['rss_mb']:.0f} MB, of which the 16-bit GPU stack and window "
          f"{ours['stack_mb']:.0f} MB (llvmpipe keeps GPU memory in RAM)")


if __name__ == "__main__":
    main()
