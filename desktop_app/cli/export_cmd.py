"""``microclimate export-map``: a field of a grid NetCDF to a PNG map, a GeoTIFF, or the
time loop as a GIF/MP4 animation, headless (no display). The format follows ``--out``'s
extension; any other extension is an error, never a silently different format."""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import xarray as xr

from desktop_app.cli._common import add_output_options, check_new_output, print_result
from desktop_app.core.variables import VARIABLES
from desktop_app.errors import ConfigError, DataFileError
from desktop_app.validation import arg_int

FORMATS = {".png": "png", ".tif": "geotiff", ".tiff": "geotiff", ".gif": "animation",
           ".mp4": "animation"}


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "export-map", help="a field of a grid NetCDF to PNG, GeoTIFF, GIF or MP4; no display "
                           "needed")
    parser.add_argument("forecast", type=Path, help="grid NetCDF (time, latitude, longitude)")
    parser.add_argument("--variable", required=True,
                        help="gridded variable, e.g. temperature or temperature_baseline")
    parser.add_argument("--time", default=None,
                        help="valid time (ISO, UTC, e.g. 2024-07-15T12:00) or step index of a "
                             "PNG or single-band GeoTIFF; default: the first step")
    parser.add_argument("--out", type=Path, required=True,
                        help="file to write: .png, .tif/.tiff (GeoTIFF), .gif or .mp4 (loop)")
    parser.add_argument("--from", dest="start", default=None,
                        help="first step of a loop or multi-band GeoTIFF (time or index); "
                             "default: the first")
    parser.add_argument("--to", dest="stop", default=None,
                        help="last step, included (time or index); default: the last")
    parser.add_argument("--all-steps", action="store_true",
                        help="GeoTIFF: every step as a band (as --from/--to do for a range)")
    parser.add_argument("--fps", type=float, default=4.0,
                        help="loop speed, frames per second")
    parser.add_argument("--width", type=arg_int(16, 20000), default=None,
                        help="pixels (default 1600 for PNG, 1280 for a loop)")
    parser.add_argument("--height", type=arg_int(16, 20000), default=None,
                        help="pixels (default 1000 for PNG, 720 for a loop)")
    parser.add_argument("--dpi", type=arg_int(10, 1200), default=None,
                        help="text scale (default 150 for PNG, 96 for a loop)")
    parser.add_argument("--cmap", default=None, help="colormap (default: per variable)")
    parser.add_argument("--no-shading", action="store_true", help="exact colours, no hillshade")
    add_output_options(parser)
    parser.set_defaults(func=run)


def select_time(times: np.ndarray, text: str | None, option: str = "--time") -> int:
    if text is None:
        return 0
    if text.lstrip("-").isdigit():
        k = int(text)
        if not -times.size <= k < times.size:
            raise DataFileError(f"{option} index {k} out of range 0..{times.size - 1}")
        return k % times.size
    try:
        wanted = np.datetime64(text.rstrip("Z"), "ns")
    except ValueError:
        raise DataFileError(f"{option} {text!r} is neither an index nor an ISO time") from None
    hits = np.flatnonzero(times == wanted)
    if not hits.size:
        first = np.datetime_as_string(times[0], unit="m")
        last = np.datetime_as_string(times[-1], unit="m")
        raise DataFileError(f"{option} {text} is not a step of the file ({first} .. {last} "
                            "UTC)")
    return int(hits[0])


def step_range(times: np.ndarray, start: str | None, stop: str | None) -> list[int]:
    first = select_time(times, start, "--from")
    last = select_time(times, stop, "--to") if stop is not None else times.size - 1
    if last < first:
        raise DataFileError(f"--to ({stop}) is before --from ({start})")
    return list(range(first, last + 1))


def map_view(ds: xr.Dataset, variable: str) -> tuple[xr.Dataset, str]:
    """The dataset and name the map renderer draws for ``variable``: a field a forecast
    holds for comparison (``temperature_baseline``, ``temperature_bilinear``, each
    baseline method) is drawn in its variable's style, labelled with what it is."""
    if variable in VARIABLES or variable not in ds:
        return ds, variable
    base = next((v for v in sorted(VARIABLES, key=len, reverse=True)
                 if variable.startswith(f"{v}_")), None)
    if base is None:
        return ds, variable
    # the guard's per-step record is about the model's field, not this one
    view = ds.drop_vars([base, "model_used", "guard_outside_share"],
                        errors="ignore").rename({variable: base})
    model = " ".join(str(ds.attrs.get(k, "")) for k in ("model_name", "model_version"))
    # the title names what is drawn (its long_name, "temperature: <what>"), not the
    # model whose file it came from
    label = str(ds[variable].attrs.get("long_name", variable))
    view.attrs["title"] = label.split(": ", 1)[-1]
    view.attrs.pop("region", None)
    view.attrs["model_name"] = f"for comparison with {model.strip()}" if model.strip() \
        else "not a model output"
    view.attrs.pop("model_version", None)
    return view, base


def run(args: argparse.Namespace) -> int:
    from desktop_app.sources.region import open_grid_file

    kind = FORMATS.get(args.out.suffix.lower())
    if kind is None:
        raise DataFileError(f"--out {args.out}: unknown extension {args.out.suffix!r}; use "
                            ".png, .tif/.tiff (GeoTIFF), .gif or .mp4")
    check_new_output(args.out, args.force)
    ds = open_grid_file(args.forecast)
    times = ds["time"].values
    if kind == "geotiff":
        return _geotiff(ds, args, times)
    from desktop_app.viz import export

    if args.cmap is not None:
        from desktop_app.viz.styles import known_colormaps

        known = known_colormaps()
        if args.cmap not in known:
            raise ConfigError(f"--cmap {args.cmap!r} is not a colormap; known: "
                              f"{', '.join(known)}")
    view, name = map_view(ds, args.variable)
    if kind == "animation":
        return _animation(view, name, args, times)
    spec = export.spec_from_dataset(view, name, select_time(times, args.time), cmap=args.cmap,
                                    shading=not args.no_shading)
    width, height, dpi = args.width or 1600, args.height or 1000, args.dpi or 150
    export.ensure_gui_app()
    image = export.render_map(spec, width, height, dpi)
    export.save_png(image, args.out)
    print_result(args, f"wrote {args.out} ({width}x{height} px, {dpi} dpi): "
                       f"{args.variable} at {spec.meta.valid_time}",
                 _result(args, "png", times, [select_time(times, args.time)],
                         width=width, height=height, dpi=dpi))
    return 0


def _geotiff(ds: xr.Dataset, args: argparse.Namespace, times: np.ndarray) -> int:
    from desktop_app.sources.geotiff import write_geotiff

    if args.all_steps or args.start is not None or args.stop is not None:
        steps = step_range(times, args.start, args.stop)
    else:
        steps = [select_time(times, args.time)]
    write_geotiff(ds, args.variable, args.out, steps)
    print_result(args, f"wrote {args.out} (GeoTIFF, WGS 84, {len(steps)} band(s)): "
                       f"{args.variable} {np.datetime_as_string(times[steps[0]], unit='m')}Z"
                       + (f" .. {np.datetime_as_string(times[steps[-1]], unit='m')}Z"
                          if len(steps) > 1 else ""),
                 _result(args, "geotiff", times, steps))
    return 0


def _animation(ds: xr.Dataset, name: str, args: argparse.Namespace, times: np.ndarray) -> int:
    from desktop_app.viz.animation import write_animation

    steps = step_range(times, args.start, args.stop)
    width, height, dpi = args.width or 1280, args.height or 720, args.dpi or 96
    write_animation(ds, name, args.out, steps, args.fps, width, height, dpi, cmap=args.cmap,
                    shading=not args.no_shading)
    print_result(args, f"wrote {args.out} ({len(steps)} frames, {args.fps:g} fps, "
                       f"{width}x{height} px): {args.variable} "
                       f"{np.datetime_as_string(times[steps[0]], unit='m')}Z .. "
                       f"{np.datetime_as_string(times[steps[-1]], unit='m')}Z",
                 _result(args, "animation", times, steps, width=width, height=height,
                         dpi=dpi, fps=args.fps))
    return 0


def _result(args: argparse.Namespace, kind: str, times: np.ndarray, steps: list[int],
            **extra: float) -> dict[str, object]:
    """What --json prints: the file, its format and the valid times it holds (UTC)."""
    return {"out": str(args.out), "format": kind, "variable": args.variable,
            "times": [f"{np.datetime_as_string(times[k], unit='m')}Z" for k in steps],
            **extra}
