"""Time to write the time loop as an animated GIF (and MP4), against the route a
scientific-Python user would otherwise take.

    python benchmarks/bench_animation.py [--frames 72] [--size 1024]

Same frames in one run: the first ``--frames`` hours of the real ERA5 2 m temperature
test month (UK, 0.25 deg; ``tests/data/inference/era5_uk_fine.nc``), drawn at
``--size`` x ``--size`` pixels with title, valid time, colorbar and attribution:
- ours: ``export-map --out loop.gif`` (Qt map renderer, one shared GIF palette, Pillow);
- ours, frames through imageio's default GIF writer (an adaptive palette per frame);
- matplotlib ``FuncAnimation`` + ``PillowWriter`` (imshow, colorbar, title per frame);
- MP4: ours (imageio-ffmpeg) and matplotlib ``FFMpegWriter`` on the same ffmpeg binary.
Goal (issue 18): 72 frames of 1024x1024 as GIF in under 20 s on the 2-core machine.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import xarray as xr

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data" / "inference" / "era5_uk_fine.nc"
ATTRIBUTION = "ERA5 (Copernicus Climate Change Service)"


def timed(func: Callable[[], Path]) -> tuple[float, int]:
    start = time.perf_counter()
    path = func()
    return time.perf_counter() - start, path.stat().st_size


def ours(ds: xr.Dataset, steps: list[int], size: int, out: Path) -> Path:
    from desktop_app.viz.animation import write_animation

    return write_animation(ds, "temperature", out, steps, 6.0, size, size, 96)


def ours_imageio_default(ds: xr.Dataset, steps: list[int], size: int, out: Path) -> Path:
    import imageio.v3 as iio

    from desktop_app.viz.animation import frame_rgb

    frames = [frame_rgb(ds, "temperature", t, size, size, 96) for t in steps]
    iio.imwrite(out, frames, extension=".gif", duration=round(1000 / 6), loop=0)
    return out


def matplotlib_loop(ds: xr.Dataset, steps: list[int], size: int, out: Path) -> Path:
    import imageio_ffmpeg
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib import animation

    plt.rcParams["animation.ffmpeg_path"] = imageio_ffmpeg.get_ffmpeg_exe()
    da = ds["temperature"]
    lat, lon = ds["latitude"].values, ds["longitude"].values
    lo, hi = float(np.nanmin(da.values)), float(np.nanmax(da.values))
    fig, ax = plt.subplots(figsize=(size / 100, size / 100), dpi=100)
    image = ax.imshow(da.values[steps[0]], origin="lower", cmap="coolwarm", vmin=lo, vmax=hi,
                      extent=(lon[0], lon[-1], lat[0], lat[-1]), interpolation="nearest")
    fig.colorbar(image, ax=ax, label="2 m air temperature (degC)", shrink=0.7)
    title = ax.set_title("")
    fig.text(0.01, 0.01, ATTRIBUTION, fontsize=8)

    def update(k: int) -> list[object]:
        t = steps[k]
        image.set_data(da.values[t])
        title.set_text(f"2 m air temperature — valid "
                       f"{np.datetime_as_string(ds['time'].values[t], unit='m')} UTC")
        return [image, title]

    anim = animation.FuncAnimation(fig, update, frames=len(steps), blit=False)
    writer = (animation.PillowWriter(fps=6) if out.suffix == ".gif"
              else animation.FFMpegWriter(fps=6, codec="libx264"))
    anim.save(out, writer=writer, dpi=100)
    plt.close(fig)
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--frames", type=int, default=72)
    parser.add_argument("--size", type=int, default=1024)
    args = parser.parse_args()
    from desktop_app.fsutil import load_netcdf
    from desktop_app.viz.export import ensure_gui_app

    ensure_gui_app()
    ds = load_netcdf(DATA)
    steps = list(range(min(args.frames, ds.sizes["time"])))
    print(f"{len(steps)} frames of {args.size}x{args.size} px, real ERA5 2 m temperature "
          f"(UK, 0.25 deg, {ds.sizes['latitude']}x{ds.sizes['longitude']} cells)")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        runs: list[tuple[str, Callable[[], Path]]] = [
            ("GIF  ours (export-map --out loop.gif)",
             lambda: ours(ds, steps, args.size, folder / "a.gif")),
            ("GIF  our frames, imageio default writer",
             lambda: ours_imageio_default(ds, steps, args.size, folder / "b.gif")),
            ("GIF  matplotlib FuncAnimation + PillowWriter",
             lambda: matplotlib_loop(ds, steps, args.size, folder / "c.gif")),
            ("MP4  ours (export-map --out loop.mp4)",
             lambda: ours(ds, steps, args.size, folder / "a.mp4")),
            ("MP4  matplotlib FuncAnimation + FFMpegWriter",
             lambda: matplotlib_loop(ds, steps, args.size, folder / "c.mp4")),
        ]
        for name, run in runs:
            seconds, size = timed(run)
            rows.append((name, seconds, size))
    print(f"{'method':48s} {'seconds':>8s} {'MB':>7s} {'vs matplotlib':>14s}")
    reference = {"GIF": rows[2][1], "MP4": rows[4][1]}
    for name, seconds, size in rows:
        ratio = reference[name[:3]] / seconds
        print(f"{name:48s} {seconds:8.1f} {size / 2**20:7.1f} {ratio:13.1f}x")
    goal = rows[0][1]
    print(f"goal: {len(steps)}-frame {args.size}^2 GIF under 20 s: {goal:.1f} s, "
          f"{'met' if goal < 20 else 'NOT met'}")


if __name__ == "__main__":
    main()
