"""Cut the ERA5 test files in davos/ and finse/ from the published fixtures (origins in
tests/data/sources/MANIFEST.md; real values, time range and variables cut only; packing,
layout and attributes kept as delivered). The tests read only the cuts committed here;
this script is for rebuilding them, given the fixtures' ERA5 folder.

    python tests/data/sources/era5/crop_fixtures.py ERA5_FIXTURES_FOLDER
"""

from __future__ import annotations

import sys
from pathlib import Path

import xarray as xr

HERE = Path(__file__).resolve().parent
SURFACE = ["z", "t2m", "d2m", "sp", "tp"]


def crop(src: Path, dst: Path, steps: slice, keep: list[str] | None) -> None:
    with xr.open_dataset(src, engine="netcdf4", mask_and_scale=False,
                         decode_times=False) as ds:
        out = ds.isel(time=steps)
        if keep is not None:
            out = out[keep]
        out.load().to_netcdf(dst, format=ds.encoding.get("format", "NETCDF3_64BIT"),
                             engine="netcdf4")


def main(fixtures: Path) -> None:
    davos, finse = fixtures / "davos_2020-01", fixtures / "finse_2018"
    crop(davos / "SURF_202001.nc", HERE / "davos" / "SURF_202001_2d.nc", slice(0, 48), SURFACE)
    crop(davos / "PLEV_202001.nc", HERE / "davos" / "PLEV_202001_2d.nc", slice(0, 48), None)
    crop(finse / "SURF_201810.nc", HERE / "finse" / "SURF_201810_1d.nc", slice(-24, None),
         SURFACE)
    crop(finse / "SURF_201811.nc", HERE / "finse" / "SURF_201811_1d.nc", slice(0, 24), SURFACE)
    crop(finse / "SURF_201812.nc", HERE / "finse" / "SURF_201812_1d.nc", slice(0, 24), SURFACE)


if __name__ == "__main__":
    if len(sys.argv) != 2 or not Path(sys.argv[1]).is_dir():
        sys.exit("usage: crop_fixtures.py ERA5_FIXTURES_FOLDER (with davos_2020-01/ and "
                 "finse_2018/)")
    main(Path(sys.argv[1]))
