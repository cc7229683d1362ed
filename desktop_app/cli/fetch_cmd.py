"""``microclimate fetch``: Open-Meteo, ERA5 (CDS or files) or station files to CF NetCDF.

Progress goes to stderr; the output file is written atomically, so a failed or
interrupted fetch leaves nothing at ``--out``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

from desktop_app.cli._common import (
    add_output_options,
    arg_date,
    check_new_output,
    print_result,
)
from desktop_app.core.grid import BBox
from desktop_app.errors import ConfigError
from desktop_app.settings import load_settings
from desktop_app.sources.cds import Era5CdsFetch, Era5Request
from desktop_app.sources.context import FetchContext
from desktop_app.sources.era5_files import Era5FileFetch
from desktop_app.sources.openmeteo import OpenMeteoFetch
from desktop_app.sources.output import write_netcdf
from desktop_app.sources.providers import PROVIDERS, fetch_notes, run_fetch
from desktop_app.sources.station_formats import STATION_FORMATS, StationFileFetch
from desktop_app.sources.stations import CsvMapping
from desktop_app.validation import arg_float, finite_number, latitude, longitude


def _floats(text: str, what: str) -> tuple[float, ...]:
    try:
        values = tuple(float(x) for x in text.split(",") if x.strip())
    except ValueError:
        raise ConfigError(f"{what} must be comma-separated numbers, got {text!r}") from None
    if not values:
        raise ConfigError(f"{what} is empty")
    check = latitude if what == "--lat" else longitude if what == "--lon" else finite_number
    for value in values:
        check(value, what)
    return values


def _names(text: str) -> tuple[str, ...]:
    names = tuple(x.strip() for x in text.split(",") if x.strip())
    if not names:
        raise ConfigError("--variables is empty")
    return names


def _progress(fraction: float, message: str) -> None:
    print(f"[{fraction:4.0%}] {message}", file=sys.stderr, flush=True)


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("fetch", help="fetch Open-Meteo, ERA5 or station data into CF NetCDF")
    kinds = parser.add_subparsers(dest="source", metavar="SOURCE", required=True)

    om = kinds.add_parser("openmeteo", help=PROVIDERS[OpenMeteoFetch].title)
    om.add_argument("--lat", help="latitude(s), comma-separated")
    om.add_argument("--lon", help="longitude(s), comma-separated")
    om.add_argument("--bbox", help="south,west,north,east: sample a grid instead of points")
    om.add_argument("--resolution", type=arg_float(1e-4, 10.0), default=0.1,
                    help="grid spacing in degrees for --bbox (default 0.1)")
    om.add_argument("--start", type=arg_date, help="first day (YYYY-MM-DD)")
    om.add_argument("--end", type=arg_date, help="last day (YYYY-MM-DD)")
    om.add_argument("--variables", required=True, help="e.g. temperature,relative_humidity")
    om.add_argument("--archive", action="store_true", help="historical archive (ERA5-based)")
    om.add_argument("--minutely-15", action="store_true", help="15-minute data (forecast only)")
    om.add_argument("--model", help="Open-Meteo model name (default: best match)")
    om.add_argument("--base-url", help="Open-Meteo base URL (self-hosted or test server)")
    om.add_argument("--offline", action="store_true",
                    help="serve from the cache only (expired answers too, marked stale)")
    om.add_argument("--refresh", action="store_true",
                    help="ask the server again even if the cache holds a fresh answer")
    om.add_argument("--out", type=Path, required=True, help="output NetCDF file")
    add_output_options(om)
    om.set_defaults(func=run)

    era5 = kinds.add_parser("era5", help="ERA5 from the CDS API or from local files")
    how = era5.add_mutually_exclusive_group(required=True)
    how.add_argument("--cds", action="store_true", help=PROVIDERS[Era5CdsFetch].title)
    how.add_argument("--from-file", type=Path, nargs="+", action="extend", metavar="PATH",
                     help=PROVIDERS[Era5FileFetch].title + ": variables, months, surface "
                          "and pressure levels merge into one background")
    era5.add_argument("--invariant", type=Path, nargs="+", action="extend", default=[],
                      metavar="PATH", help="ERA5 invariant file(s) with the surface "
                      "geopotential z (the orography), when the data files lack it")
    era5.add_argument("--variables", help="variables to keep/request (default: all in file)")
    era5.add_argument("--bbox", help="south,west,north,east (with --cds)")
    era5.add_argument("--start", type=arg_date, help="first day (with --cds)")
    era5.add_argument("--end", type=arg_date, help="last day (with --cds)")
    era5.add_argument("--hours", default="", help="hours 0-23, comma-separated (default all)")
    era5.add_argument("--offline", action="store_true", help="--cds: serve from the cache only")
    era5.add_argument("--refresh", action="store_true", help="--cds: download again")
    era5.add_argument("--out", type=Path, required=True, help="output NetCDF file")
    add_output_options(era5)
    era5.set_defaults(func=run)

    formats = ", ".join(f"{f.name} ({f.description})" for f in STATION_FORMATS.values())
    st = kinds.add_parser("stations", help=PROVIDERS[StationFileFetch].title + " to NetCDF")
    st.add_argument("path", type=Path, nargs="+",
                    help="station file(s) of one format, one station each for SMET")
    st.add_argument("--format", required=True, choices=tuple(STATION_FORMATS),
                    help=formats)
    st.add_argument("--columns", help="CSV: time=COL,temperature=COL,...")
    st.add_argument("--units", default="", help="CSV: variable=unit,... when not ours")
    st.add_argument("--station-id", default="station", help="CSV: station id")
    st.add_argument("--lat", type=arg_float(-90, 90), help="CSV: station latitude")
    st.add_argument("--lon", type=arg_float(-180, 360), help="CSV: station longitude")
    st.add_argument("--elevation", type=arg_float(-500, 9000), default=None,
                    help="CSV, USCRN: station elevation (m); USCRN files carry none")
    st.add_argument("--utc-offset", type=arg_float(-24, 24), default=0.0,
                    help="CSV: hours to subtract from local times to get UTC")
    st.add_argument("--out", type=Path, required=True, help="output NetCDF file")
    add_output_options(st)
    st.set_defaults(func=run)


def _openmeteo(args: argparse.Namespace) -> OpenMeteoFetch:
    bbox = BBox.parse(args.bbox) if args.bbox else None
    if bbox is None and (args.lat is None or args.lon is None):
        raise ConfigError("give --lat and --lon, or --bbox")
    if args.archive and not (args.start and args.end):
        raise ConfigError("--archive needs --start and --end")
    return OpenMeteoFetch(
        variables=_names(args.variables),
        latitudes=_floats(args.lat, "--lat") if bbox is None else (),
        longitudes=_floats(args.lon, "--lon") if bbox is None else (),
        bbox=bbox, grid_resolution=args.resolution, start=args.start, end=args.end,
        archive=args.archive, resolution="minutely_15" if args.minutely_15 else "hourly",
        model=args.model, base_url=args.base_url,
    )


def _era5(args: argparse.Namespace) -> Era5FileFetch | Era5CdsFetch:
    variables = _names(args.variables) if args.variables else None
    if args.from_file:
        return Era5FileFetch(tuple(args.from_file), variables, tuple(args.invariant))
    if not (args.bbox and args.start and args.end and variables):
        raise ConfigError("--cds needs --bbox, --start, --end and --variables")
    hours = tuple(int(h) for h in _floats(args.hours, "--hours")) if args.hours else tuple(
        range(24))
    return Era5CdsFetch(Era5Request(variables, BBox.parse(args.bbox), args.start, args.end,
                                    hours))


def _stations(args: argparse.Namespace) -> StationFileFetch:
    mapping = None
    if STATION_FORMATS[args.format].needs_mapping:
        # the readers' words are neutral ("needs a column mapping"): name our flags here
        if not args.columns:
            raise ConfigError(f"--format {args.format} needs --columns "
                              "time=COL,<variable>=COL,...")
        if args.lat is None or args.lon is None:
            raise ConfigError(f"--format {args.format} needs --lat and --lon")
        units = dict(p.split("=", 1) for p in args.units.split(",") if "=" in p)
        mapping = CsvMapping.parse(
            args.columns, station_id=args.station_id, latitude=args.lat,
            longitude=args.lon,
            elevation=float("nan") if args.elevation is None else args.elevation,
            utc_offset_hours=args.utc_offset, units=units,
        )
    # a format whose files carry no elevation (USCRN) takes --elevation; a CSV has it in
    # its mapping
    return StationFileFetch(args.path[0], args.format, mapping, more=tuple(args.path[1:]),
                            elevation=None if mapping else args.elevation)


# subcommand -> the fetch request its flags describe (each a type in sources.PROVIDERS)
BUILDERS: dict[str, Callable[[argparse.Namespace], object]] = {
    "openmeteo": _openmeteo, "era5": _era5, "stations": _stations,
}


def build_request(args: argparse.Namespace) -> object:
    return BUILDERS[args.source](args)


def run(args: argparse.Namespace) -> int:
    request = build_request(args)
    settings = load_settings()
    if getattr(args, "offline", False):
        settings.offline = True
    check_new_output(args.out, args.force)
    context = FetchContext(settings=settings, refresh=getattr(args, "refresh", False))
    ds = run_fetch(request, context=context, progress=_progress)
    out = write_netcdf(ds, args.out)
    for line in fetch_notes(ds):
        print(line, file=sys.stderr)
    sizes = {str(k): int(v) for k, v in ds.sizes.items()}
    names = sorted(str(v) for v in ds.data_vars)
    print_result(args, f"wrote {out}", {"out": str(out), "sizes": sizes, "variables": names,
                                        "notes": list(fetch_notes(ds))})
    return 0
