"""Build the held-out ERA5 UK downscaling check files from the real fixtures.

Usage (run once; the outputs are committed, the inputs are not)::

    python tests/data/inference/make_era5_uk.py ERA5_GRIB ALTITUDE_H5

Reads the ERA5 2 m temperature GRIB (March 2019, 50-58N 10W-2E, 0.25 deg, hourly) and
the pvlib global altitude grid, and writes two small NetCDF files beside this script:

- ``era5_uk_fine.nc``: the REAL 0.25 deg temperature (degC) for the held-out days
  22-31 March 2019 (240 h) on 32x48 cells, plus 0.25 deg terrain elevation.
- ``era5_uk_coarse.nc``: the same hours block-averaged 4x4 to 1 deg (8x12 cells), with
  the block-averaged elevation as the coarse model orography.

The downscaling task is coarse -> fine; the fine field is the truth. Nothing in the
project is fitted to these days. Needs cfgrib/eccodes and h5py (dev tools only).
"""

from __future__ import annotations

import sys
from pathlib import Path

import h5py
import numpy as np
import xarray as xr

HERE = Path(__file__).resolve().parent
FIRST_DAY, LAST_DAY = "2019-03-22", "2019-03-31T23:00"
BLOCK = 4
LICENCE = "Generated using Copernicus Climate Change Service information (ERA5, 2019)"


def altitude_at(lat: np.ndarray, lon: np.ndarray, h5_path: Path, half: float) -> np.ndarray:
    """Mean of the 5 arc-minute altitude pixels whose centres fall in each cell."""
    with h5py.File(h5_path, "r") as f:
        raw = f["Altitude"][...]
    metres = np.where(raw == 255, np.nan, raw.astype(float) * 28.0 - 450.0)
    pix_lat = 90.0 - (np.arange(raw.shape[0]) + 0.5) / 12.0
    pix_lon = -180.0 + (np.arange(raw.shape[1]) + 0.5) / 12.0
    out = np.empty((lat.size, lon.size))
    for i, la in enumerate(lat):
        rows = np.abs(pix_lat - la) <= half
        for j, lo in enumerate(lon):
            cols = np.abs(pix_lon - lo) <= half
            cell = metres[np.ix_(rows, cols)]
            # 255 marks no data, which in this grid is the sea: sea level there.
            out[i, j] = float(np.nanmean(cell)) if np.isfinite(cell).any() else 0.0
    return np.where(np.isnan(out), 0.0, out)


def block_mean(values: np.ndarray) -> np.ndarray:
    *lead, ny, nx = values.shape
    v = values.reshape(*lead, ny // BLOCK, BLOCK, nx // BLOCK, BLOCK)
    return np.asarray(v.mean(axis=(-3, -1)))


def main(grib: Path, altitude: Path) -> None:
    ds = xr.open_dataset(grib, engine="cfgrib", backend_kwargs={"indexpath": ""})
    t2m = ds["t2m"].sel(time=slice(FIRST_DAY, LAST_DAY)).sortby("latitude")
    t2m = t2m.isel(latitude=slice(0, 32), longitude=slice(0, 48))  # 4x4 blocks fit
    lat = t2m["latitude"].values.astype(float)
    lon = t2m["longitude"].values.astype(float)
    temp_c = (t2m.values.astype(np.float64) - 273.15).astype(np.float32)
    elev = altitude_at(lat, lon, altitude, half=0.125).astype(np.float32)
    time = t2m["time"].values.astype("datetime64[ns]")
    temp_attrs = {"standard_name": "air_temperature", "units": "degC",
                  "long_name": "2 m air temperature"}
    elev_attrs = {"standard_name": "surface_altitude", "units": "m",
                  "long_name": "surface elevation"}
    common = {"generated_values": "no", "licence": LICENCE,
              "source": "ERA5 hourly single levels, 2m_temperature, via the xarray "
                        "tutorial data (pydata/xarray-data era5-2mt-2019-03-uk.grib)"}
    enc = {"zlib": True, "complevel": 6}
    fine = xr.Dataset(
        {"temperature": (("time", "latitude", "longitude"), temp_c, temp_attrs),
         "elevation": (("latitude", "longitude"), elev, elev_attrs)},
        coords={"time": time, "latitude": lat, "longitude": lon},
        attrs={"title": "ERA5 2 m temperature, UK, 22-31 March 2019, 0.25 deg (truth)",
               "elevation_source": "pvlib Altitude.h5 (5 arc-min) averaged per cell; "
                                   "no-data (sea) pixels taken as 0 m",
               **common},
    )
    coarse = xr.Dataset(
        {"temperature": (("time", "latitude", "longitude"),
                         block_mean(temp_c).astype(np.float32), temp_attrs),
         "elevation": (("latitude", "longitude"),
                       block_mean(elev).astype(np.float32), elev_attrs)},
        coords={"time": time, "latitude": lat.reshape(-1, BLOCK).mean(1),
                "longitude": lon.reshape(-1, BLOCK).mean(1)},
        attrs={"title": "ERA5 2 m temperature, UK, 22-31 March 2019, block mean to 1 deg",
               "processing": "4x4 block mean of the 0.25 deg field and elevation",
               **common},
    )
    fine.to_netcdf(HERE / "era5_uk_fine.nc",
                   encoding={"temperature": enc, "elevation": enc})
    coarse.to_netcdf(HERE / "era5_uk_coarse.nc",
                     encoding={"temperature": enc, "elevation": enc})


if __name__ == "__main__":
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    main(Path(sys.argv[1]), Path(sys.argv[2]))
