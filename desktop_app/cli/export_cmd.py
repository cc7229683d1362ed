"""``microclimate export-map``: a forecast field to a PNG map, headless (no display)."""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from desktop_app.errors import DataFileError


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "export-map", help="render a field of a forecast NetCDF to a PNG map, no display needed"
    )
    parser.add_argument("forecast", type=Path, help="grid NetCDF (time, latitude, longitude)")
    parser.add_argument("--variable", required=True, help="variable to draw, e.g. temperature")
    parser.add_argument("--time", default=None,
                        help="valid time (ISO, UTC, e.g. 2024-07-15T12:00) or step index; "
                             "default: the first step")
    parser.add_argument("--out", type=Path, required=True, help="PNG file to write")
    parser.add_argument("--width", type=int, default=1600)
    parser.add_argument("--height", type=int, default=1000)
    parser.add_argument("--dpi", type=int, default=150)
    parser.add_argument("--cmap", default=None, help="colormap (default: per variable)")
    parser.add_argument("--no-shading", action="store_true", help="exact colours, no hillshade")
    parser.set_defaults(func=run)


def select_time(times: np.ndarray, text: str | None) -> int:
    if text is None:
        return 0
    if text.lstrip("-").isdigit():
        k = int(text)
        if not -times.size <= k < times.size:
            raise DataFileError(f"--time index {k} out of range 0..{times.size - 1}")
        return k % times.size
    try:
        wanted = np.datetime64(text.rstrip("Z"), "ns")
    except ValueError:
        raise DataFileError(f"--time {text!r} is neither an index nor an ISO time") from None
    hits = np.flatnonzero(times == wanted)
    if not hits.size:
        first = np.datetime_as_string(times[0], unit="m")
        last = np.datetime_as_string(times[-1], unit="m")
        raise DataFileError(f"--time {text} is not a step of the file ({first} .. {last} UTC)")
    return int(hits[0])


def run(args: argparse.Namespace) -> int:
    from desktop_app.sources.region import open_grid_file
    from desktop_app.viz import export

    ds = open_grid_file(args.forecast)
    spec = export.spec_from_dataset(ds, args.variable, select_time(ds["time"].values, args.time),
                                    cmap=args.cmap, shading=not args.no_shading)
    export.ensure_gui_app()
    image = export.render_map(spec, args.width, args.height, args.dpi)
    export.save_png(image, args.out)
    print(f"wrote {args.out} ({args.width}x{args.height} px, {args.dpi} dpi): "
          f"{args.variable} at {spec.meta.valid_time}")
    return 0
