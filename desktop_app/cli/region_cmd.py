"""``microclimate region create``: a region folder from a box, a DEM and a background."""

from __future__ import annotations

import argparse
from pathlib import Path

from desktop_app.cli._common import arg_date, interruptible, percent_progress
from desktop_app.errors import ConfigError
from desktop_app.settings import load_settings
from desktop_app.sources.context import FetchContext
from desktop_app.sources.region_build import (
    BACKGROUND_VARIABLES,
    RegionRequest,
    build_region,
    parse_region_box,
    parse_resolution,
    target_folder,
)
from desktop_app.sources.station_formats import formats_without_mapping


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("region", help="make a region folder from a box and a DEM")
    actions = parser.add_subparsers(dest="region_command", metavar="ACTION", required=True)
    create = actions.add_parser(
        "create", help="terrain from DEM files (any CRS) or the elevation service, plus an "
                       "optional ERA5/Open-Meteo background and stations")
    create.add_argument("name", help="region name (also the folder name by default)")
    create.add_argument("--bbox", required=True, metavar="S,W,N,E",
                        help="the box in degrees: south,west,north,east")
    create.add_argument("--resolution", required=True, metavar="100m|250m|1km",
                        help="grid cell size (square in metres; any 30m..5km)")
    dem = create.add_mutually_exclusive_group(required=True)
    dem.add_argument("--dem", type=Path, nargs="+", metavar="FILE",
                     help="DEM file(s): GeoTIFF, ESRI ASCII grid, NetCDF; tiles are mosaicked")
    dem.add_argument("--dem-source", choices=("openmeteo",),
                     help="terrain from the Open-Meteo elevation service instead of files")
    create.add_argument("--dem-crs", metavar="EPSG:n",
                        help="CRS of DEM files that carry none (e.g. an .asc without .prj)")
    bg = create.add_mutually_exclusive_group()
    bg.add_argument("--era5", type=Path, nargs="+", metavar="FILE",
                    help="ERA5 NetCDF/GRIB file(s) as the coarse background (with orography z)")
    bg.add_argument("--openmeteo", action="store_true",
                    help="fetch the coarse background from Open-Meteo (--start/--end)")
    create.add_argument("--variables", default=",".join(BACKGROUND_VARIABLES),
                        help="variables of the --openmeteo background (default: %(default)s)")
    create.add_argument("--start", type=arg_date, help="first day of the background (YYYY-MM-DD)")
    create.add_argument("--end", type=arg_date, help="last day of the background (YYYY-MM-DD)")
    create.add_argument("--stations", type=Path, metavar="FILE",
                        help="station file; stations inside the box are kept")
    create.add_argument("--station-format", metavar="FORMAT",
                        help="format of --stations: " + ", ".join(
                            f.name for f in formats_without_mapping()))
    create.add_argument("--description", default="", help="free text shown in the window")
    create.add_argument("--base-url", help="Open-Meteo base URL (self-hosted or test server)")
    create.add_argument("--offline", action="store_true",
                        help="Open-Meteo answers from the cache only")
    create.add_argument("--out", type=Path, metavar="DIR",
                        help="the region folder to create (default: NAME in the user's "
                             "regions folder)")
    create.add_argument("--quiet", action="store_true", help="no progress on stderr")
    create.set_defaults(func=run_create)


def run_create(args: argparse.Namespace) -> int:
    if args.openmeteo and args.start is None:
        raise ConfigError("--openmeteo needs --start (and --end) for the background")
    settings = load_settings()
    if args.offline:
        settings.offline = True
    if args.base_url:
        settings.openmeteo_base_url = settings.openmeteo_archive_url = args.base_url
    request = RegionRequest(
        name=args.name, bbox=parse_region_box(args.bbox),
        resolution_m=parse_resolution(args.resolution),
        dem_paths=tuple(args.dem or ()), dem_crs=args.dem_crs,
        elevation_service=args.dem_source == "openmeteo",
        era5_paths=tuple(args.era5 or ()), openmeteo_background=args.openmeteo,
        background_variables=tuple(v.strip() for v in args.variables.split(",") if v.strip()),
        start=args.start, end=args.end, station_path=args.stations,
        station_format=args.station_format, description=args.description,
        context=FetchContext(settings=settings))
    folder = target_folder(args.name, args.out)
    progress = percent_progress(args.quiet)

    with interruptible("stopping: nothing will be written") as stop:
        build_region(request, folder, progress=progress, cancel=stop.event)
    print(f"wrote region {args.name!r} to {folder}")
    return 0
