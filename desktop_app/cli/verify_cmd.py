"""``microclimate verify``: score a forecast against station observations."""

from __future__ import annotations

import argparse
from pathlib import Path

from desktop_app.cli._common import (
    add_output_options,
    check_new_output,
    open_netcdf,
    print_result,
)
from desktop_app.fsutil import check_writable
from desktop_app.verify.stations import verify_at_stations


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("verify", help="verify a forecast against station observations")
    parser.add_argument("forecast", type=Path, help="forecast NetCDF from 'forecast'")
    parser.add_argument("--obs", type=Path, required=True, help="station observations NetCDF")
    parser.add_argument("--variable", default="temperature")
    parser.add_argument("--report", type=Path, default=None, metavar="STEM",
                        help="write STEM.csv and STEM.json (default: beside the forecast)")
    add_output_options(parser, "report")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    stem = args.report or args.forecast.with_name(args.forecast.stem + ".verify")
    for suffix in (".csv", ".json"):
        check_new_output(stem.with_name(stem.name + suffix), args.force)
        check_writable(stem.with_name(stem.name + suffix))
    forecast = open_netcdf(args.forecast, "forecast")
    obs = open_netcdf(args.obs, "observations")
    report = verify_at_stations(forecast, obs, args.variable,
                                forecast_name=f"forecast {args.forecast}",
                                obs_name=f"observations {args.obs}")
    csv_path, json_path = report.write(stem)
    print_result(args, f"{report.table()}\nwrote {csv_path} and {json_path}",
                 {**report.as_dict(), "files": [str(csv_path), str(json_path)]})
    return 0
