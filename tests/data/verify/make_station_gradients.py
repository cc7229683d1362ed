"""Cut the winter station temperatures for the vertical-gradient check from the fixtures.

Usage (run once; the outputs are committed, the inputs are not)::

    python tests/data/verify/make_station_gradients.py FIXTURES_DIR

- ``imis_ta_2008-12.nc``: the air temperature (``TA``, K in the files, degC here) of the
  seven IMIS stations, hourly 1 Dec 2008 - 31 Jan 2009 (UTC), with each station's
  altitude from its SMET header; only TA is kept.
- ``rofental_ta_2020-12.nc``: Bella Vista (2805 m) and Proviantdepot (2659 m), hourly
  December 2020 - February 2021 (``temp``, K in the files, degC here).
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import station_gradients  # noqa: E402


def main(fixtures: Path) -> None:
    here = Path(__file__).resolve().parent
    enc = {"temperature": {"zlib": True, "complevel": 6}}
    imis = station_gradients.load_imis(fixtures / "stations" / "imis_2008-12")
    imis.to_netcdf(here / "imis_ta_2008-12.nc", encoding=enc)
    rof = station_gradients.load_rofental(fixtures / "stations" / "rofental")
    rof.sel(time=slice("2020-12-01", "2021-02-28T23:00")).to_netcdf(
        here / "rofental_ta_2020-12.nc", encoding=enc)
    print("wrote imis_ta_2008-12.nc and rofental_ta_2020-12.nc")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
