"""``microclimate qc INPUT.nc [--config FILE] --out OUTPUT.nc``: QARTOD-flag a station file.

Reads a station NetCDF in the canonical schema, runs the configured checks, writes a
copy with ``<var>_qc`` flag variables (atomically: a failure leaves no output file) and
prints a table of flag counts per variable and test.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TextIO

import xarray as xr

from desktop_app.cli._common import add_output_options, check_new_output, print_result
from desktop_app.core.flags import QCFlag
from desktop_app.fsutil import load_netcdf
from desktop_app.qc.config import load_config
from desktop_app.qc.runner import QCReport, run_qc
from desktop_app.sources.output import write_netcdf


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "qc", help="quality-control station observations (QARTOD flags)",
        description="Add QARTOD quality flags (<var>_qc) to a station NetCDF file.",
    )
    parser.add_argument("input", type=Path, metavar="INPUT.nc", help="station NetCDF file")
    parser.add_argument("--config", type=Path, default=None, metavar="FILE",
                        help="QC config (.toml or .json); default: built-in defaults")
    parser.add_argument("--out", type=Path, required=True, metavar="OUTPUT.nc",
                        help="where to write the flagged copy")
    add_output_options(parser)
    parser.set_defaults(func=run)


def _open(path: Path) -> xr.Dataset:
    return load_netcdf(path, "station input", engine="netcdf4")


def format_report(report: QCReport) -> str:
    flags = list(QCFlag)
    header = ["variable", "test", *(f.name.lower() for f in flags)]
    rows = [header]
    for var, tests in report.counts.items():
        for test, counts in tests.items():
            rows.append([var, test, *(str(counts[f]) for f in flags)])
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    lines = []
    for n, row in enumerate(rows):
        cells = [c.ljust(w) if i < 2 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths,
                                                                                  strict=True))]
        lines.append("  ".join(cells))
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def run(args: argparse.Namespace, stream: TextIO | None = None) -> int:
    out_stream = stream or sys.stdout
    config = load_config(args.config)  # config errors before any reading or writing
    check_new_output(args.out, getattr(args, "force", False))
    ds = _open(args.input)
    flagged, report = run_qc(ds, config)
    write_netcdf(flagged, args.out, what="QC output")
    table = (format_report(report) if report.counts
             else "no configured variable found in the input; flags written: none")
    kernels = report.kernels
    ready = ("kernel compile (or load from Numba's disk cache)" if kernels == "jit"
             else f"kernels compiled ahead of time ({kernels}), load")
    text = (f"{table}\n{ready}: "
            f"{report.compile_seconds:.2f} s; checks: {report.run_seconds:.2f} s; "
            f"wrote {args.out}")
    counts = {var: {test: {f.name.lower(): int(c[f]) for f in QCFlag}
                    for test, c in tests.items()} for var, tests in report.counts.items()}
    print_result(args, text, {"out": str(args.out), "counts": counts,
                              "kernels": kernels, "compile_seconds": report.compile_seconds,
                              "run_seconds": report.run_seconds}, stream=out_stream)
    return 0
