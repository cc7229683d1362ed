"""``microclimate forecast``: run the local downscaling model and write a CF NetCDF."""

from __future__ import annotations

import argparse
from pathlib import Path

from desktop_app.cli._common import (
    add_output_options,
    check_new_output,
    open_netcdf,
    percent_progress,
    print_result,
)
from desktop_app.downscale.baseline import METHODS
from desktop_app.errors import ConfigError
from desktop_app.inference.predictor import run_forecast, write_forecast
from desktop_app.inference.runtime import PROVIDERS
from desktop_app.paths import regions_dir
from desktop_app.settings import load_settings
from desktop_app.validation import arg_int


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("forecast", help="run the local downscaling model on a region")
    src = parser.add_mutually_exclusive_group()
    src.add_argument("--region", default=None, metavar="sample|FOLDER|NAME",
                     help="region folder to downscale, or the name of one made by 'region "
                          "create' (default: the bundled sample)")
    src.add_argument("--input", type=Path, metavar="COARSE.nc",
                     help="coarse background (time, latitude, longitude) with 'elevation'")
    parser.add_argument("--dem", type=Path, metavar="DEM.nc",
                        help="terrain NetCDF with 'elevation' (with --input)")
    parser.add_argument("--model", default=None, metavar="NAME[@VERSION]",
                        help="model to use (default: the active one)")
    parser.add_argument("--provider", choices=PROVIDERS, default=None,
                        help="where the model runs (default: the provider setting, auto)")
    parser.add_argument("--threads", type=arg_int(1, 4096), default=None, metavar="N",
                        help="CPU threads for the model (default: all cores)")
    parser.add_argument("--subhourly", type=arg_int(0, 24 * 366), default=0, metavar="HOURS",
                        help="15-minute steps (linear in time) for the first HOURS")
    parser.add_argument("--force-model", action="store_true",
                        help="use the model on every step, even where the guard finds its "
                             "inputs outside its training domain")
    parser.add_argument("--baseline", choices=tuple(METHODS), default=None,
                        help="temperature baseline to use (default: the one a "
                             "leave-one-cell-out check on the coarse input favours)")
    parser.add_argument("--out", type=Path, required=True, help="output NetCDF path")
    parser.add_argument("--quiet", action="store_true", help="no progress on stderr")
    add_output_options(parser)
    parser.set_defaults(func=run)


def region_folder(text: str | None) -> Path | None:
    """``sample`` (or nothing) is the bundled sample; a folder path; or the name of a
    region made by ``region create`` in the user's regions folder."""
    if text in (None, "sample"):
        return None
    path = Path(str(text))
    named = regions_dir() / str(text)
    return named if not path.exists() and path.name == str(text) and named.is_dir() else path


def run(args: argparse.Namespace) -> int:
    from desktop_app.sources.region import accept_terrain, load_region

    check_new_output(args.out, args.force)
    if args.input is not None:
        if args.dem is None:
            raise ConfigError("--input needs --dem (the fine terrain)")
        inputs = (open_netcdf(args.input, "coarse input"),
                  accept_terrain(open_netcdf(args.dem, "DEM"), f"DEM {args.dem}"))
    else:
        if args.dem is not None:
            raise ConfigError("--dem goes with --input, not with --region")
        region = load_region(region_folder(args.region))
        if region.coarse is None:
            raise ConfigError(f"region {region.name!r} has no coarse background: make it "
                              "with 'region create ... --era5 FILE...' or '--openmeteo'")
        inputs = (region.coarse, region.terrain)
    provider = args.provider or load_settings().provider
    progress = percent_progress(args.quiet)

    if args.threads is not None and args.threads < 1:
        raise ConfigError("--threads must be at least 1")
    ds = run_forecast(inputs, args.model, provider, progress=progress,
                      subhourly_hours=args.subhourly, threads=args.threads,
                      force_model=args.force_model,
                      baseline_method=args.baseline)
    write_forecast(ds, args.out)
    trained = ds.attrs["model_trained"] != "no"
    sizes = {str(k): int(v) for k, v in ds.sizes.items()}
    text = "\n".join([
        f"runtime: {ds.attrs['provider_status']}",
        f"baseline: {ds.attrs['baseline_method']} ({ds.attrs['baseline_description']}); "
        f"chosen: {ds.attrs['baseline_selection']}",
        str(ds.attrs["guard"]),
        f"wrote {args.out}: {sizes['time']} steps, {sizes['latitude']}x"
        f"{sizes['longitude']} cells, model {ds.attrs['model_name']}@"
        f"{ds.attrs['model_version']}" + ("" if trained else
                                          " (NOT trained: baseline as a graph)")])
    print_result(args, text, {
        "out": str(args.out), "sizes": sizes,
        "model": f"{ds.attrs['model_name']}@{ds.attrs['model_version']}",
        "model_trained": trained, "runtime": ds.attrs["provider_status"],
        "baseline_method": ds.attrs["baseline_method"],
        "baseline_selection": ds.attrs["baseline_selection"], "guard": ds.attrs["guard"],
        "variables": sorted(str(v) for v in ds.data_vars)})
    return 0
