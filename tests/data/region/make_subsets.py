"""Cut the small real subsets in this folder from the published fixtures (origins in
MANIFEST.md). The tests read only the cuts committed here; this script is for
rebuilding them, given the fixtures folder. Values are copied, never changed: DEMs are
windows of the originals (same CRS, transform, dtype and nodata). The Davos ERA5 cuts
the region tests use are in tests/data/sources/era5/davos.

    python tests/data/region/make_subsets.py FIXTURES_FOLDER
"""

from __future__ import annotations

import sys
from pathlib import Path

import rasterio
import rasterio.windows

HERE = Path(__file__).resolve().parent

# (source, output, window: col_off, row_off, width, height)
DEMS = (
    ("era5/davos_2020-01/dem_SRTM1_proj.tif", "davos_srtm30m_utm32n.tif", (0, 100, 420, 500)),
    ("dem/srtm_bigtujunga30m_utm11.tif", "bigtujunga_srtm30m_utm11.tif", (500, 200, 200, 200)),
    ("era5/finse_2018/ASTER_Finse.tif", "finse_aster100m_utm32n.tif", (60, 50, 80, 80)),
    ("stations/imis_2008-12/Switzerland_1000m.asc", "switzerland_1000m_davos.asc",
     (273, 85, 60, 60)),
)


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



def main(fixtures: Path) -> None:
    for source, name, window in DEMS:
        cut_dem(fixtures / source, HERE / name, window)


if __name__ == "__main__":
    if len(sys.argv) != 2 or not Path(sys.argv[1]).is_dir():
        sys.exit("usage: make_subsets.py FIXTURES_FOLDER (the folder of the published "
                 "fixtures, with era5/, dem/ and stations/)")
    main(Path(sys.argv[1]))
