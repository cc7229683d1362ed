import json
import shutil

import numpy as np
import pytest

from desktop_app.errors import DataFileError, SchemaError
from desktop_app.paths import sample_region_path
from desktop_app.sources.region import load_region


@pytest.fixture
def region_copy(tmp_path):
    dst = tmp_path / "region"
    shutil.copytree(sample_region_path().parent, dst, ignore=shutil.ignore_patterns("source"))
    return dst


def test_sample_region_loads_real_terrain_and_labels_generated_data():
    region = load_region()
    z = region.terrain["elevation"].values
    assert z.shape == (111, 257)
    # SRTM over the Big Tujunga catchment: ~340 m to ~2,200 m
    assert 300 < np.nanmin(z) < 400 and 2100 < np.nanmax(z) < 2300
    assert region.coarse.sizes["time"] >= 48
    assert set(region.generated) == {"coarse", "stations"}
    assert region.coarse.attrs["generated_values"] == "yes"
    assert region.stations is not None
    assert region.stations.attrs["generated_values"] == "yes"
    assert region.terrain.attrs["generated_values"] == "no"


def test_missing_folder_names_the_path(tmp_path):
    with pytest.raises(DataFileError, match="no region.json"):
        load_region(tmp_path)


def test_unknown_key_and_missing_file(region_copy):
    meta = json.loads((region_copy / "region.json").read_text())
    (region_copy / "region.json").write_text(json.dumps({**meta, "colour": 1}))
    with pytest.raises(DataFileError, match="unknown key 'colour'"):
        load_region(region_copy)
    (region_copy / "region.json").write_text(json.dumps(meta))
    (region_copy / "coarse.nc").unlink()
    with pytest.raises(DataFileError, match="coarse.nc"):
        load_region(region_copy)


def test_truncated_netcdf_is_a_clear_error(region_copy):
    path = region_copy / "terrain.nc"
    path.write_bytes(path.read_bytes()[:4000])
    with pytest.raises(DataFileError, match="terrain.nc"):
        load_region(region_copy)


def test_wrong_units_are_rejected(region_copy):
    import xarray as xr

    path = region_copy / "coarse.nc"
    with xr.open_dataset(path) as ds:
        bad = ds.load()
    bad["temperature"].attrs["units"] = "K"
    bad.to_netcdf(path)
    with pytest.raises(SchemaError, match="'temperature' must be in 'degC'"):
        load_region(region_copy)
