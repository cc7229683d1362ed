"""Cut the small real subsets in this folder from the shared fixtures (run once, from the
repository root, with the fixtures at ../shared/fixtures). Values are copied, never
changed: DEMs are windows of the originals (same CRS, transform, dtype and nodata), the
ERA5 files are the originals' first days (same variables, packing and attributes).

    python tests/data/region/make_subsets.py
"""

from __future__ import annotations

from pathlib import Path

import rasterio
import rasterio.windows
import xarray as xr

HERE = Path(__file__).resolve().parent
SHARED = HERE.parents[2].parent / "shared" / "fixtures"
if not SHARED.is_dir():
    SHARED = Path("/work/shared/fixtures")

# (source, output, window: col_off, row_off, width, height, extra creation options)
DEMS = (
    ("era5/davos_2020-01/dem_SRTM1_proj.tif", "davos_srtm30m_utm32n.tif", (0, 100, 420, 500)),
    ("dem/srtm_bigtujunga30m_utm11.tif", "bigtujunga_srtm30m_utm11.tif", (500, 200, 200, 200)),
    ("era5/finse_2018/ASTER_Finse.tif", "finse_aster100m_utm32n.tif", (60, 50, 80, 80)),
    ("stations/imis_2008-12/Switzerland_1000m.asc", "switzerland_1000m_davos.asc",
     (273, 85, 60, 60)),
)
ERA5 = (("era5/davos_2020-01/SURF_202001.nc", "era5_davos_surf_20200110-12.nc"),
        ("era5/davos_2020-01/PLEV_202001.nc", "era5_davos_plev_20200110-12.nc"))


def cut_dem(source: Path, out: Path, window: tuple[int, int, int, int]) -> None:
    with rasterio.open(source) as src:
        win = rasterio.windows.Window(*window)
        data = src.read(1, window=win)
        profile = src.profile.copy()
        profile.update(width=win.width, height=win.height,
                       transform=src.window_transform(win))
        if profile["driver"] == "GTiff":
            profile.update(compress="deflate", predictor=2 if data.dtype.kind == "i" else 3,
                           tiled=False)
        with rasterio.open(out, "w", **profile) as dst:
            dst.write(data, 1)


def cut_era5(source: Path, out: Path) -> None:
    with xr.open_dataset(source) as ds:
        part = ds.sel(time=slice("2020-01-10", "2020-01-12")).load()
        for name in part.data_vars:
            part[name].encoding.update(zlib=True, complevel=4)
        part.attrs["history"] = (f"{part.attrs.get('history', '')}\nfirst 10-12 Jan 2020 cut "
                                 "from the shared fixture by tests/data/region/make_subsets.py")
        part.to_netcdf(out)


def main() -> None:
    for source, name, window in DEMS:
        cut_dem(SHARED / source, HERE / name, window)
    for source, name in ERA5:
        cut_era5(SHARED / source, HERE / name)


if __name__ == "__main__":
    main()
