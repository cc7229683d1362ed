"""Cut the small real ERA5 test files for the downscaling baselines from the fixtures.

Usage (run once; the outputs are committed, the inputs are not)::

    python tests/data/downscale/make_alpine.py FIXTURES_DIR

Writes, beside this script, the first 10 days of each region at 0.25 deg in the
canonical schema (``temperature`` degC, ``elevation`` m = ERA5 ``z``/g; for Davos also
``temperature_pl`` degC and ``geopotential_height_pl`` m on ``pressure_level`` hPa):

- ``era5_davos_2020-01.nc``: Davos, 1-10 January 2020, 4x4 cells, 6 pressure levels;
- ``era5_finse_2018-12.nc``: Finse, 1-10 December 2018, 6x10 cells.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import skill_regions  # noqa: E402


def main(fixtures: Path) -> None:
    skill_regions.SHARED = fixtures
    here = Path(__file__).resolve().parent
    enc = {"zlib": True, "complevel": 6}
    for name, loader, start, end in (
            ("era5_davos_2020-01.nc", skill_regions.load_davos, "2020-01-01", "2020-01-10"),
            ("era5_finse_2018-12.nc", skill_regions.load_finse, "2018-12-01", "2018-12-10")):
        ds = loader().sel(time=slice(start, f"{end}T23:00"))
        ds.attrs["source"] = ("ERA5 hourly single and pressure levels via TopoPyScale_examples "
                              "(ArcticSnow/TopoPyScale_examples), cut to 10 days")
        ds.to_netcdf(here / name, encoding={str(v): enc for v in ds.data_vars})
        print(f"wrote {name}: {dict(ds.sizes)}")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
