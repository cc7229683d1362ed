import numpy as np
import pytest
import xarray as xr

from desktop_app.core.grid import BBox, GridSpec
from desktop_app.core.schema import validate_grid_dataset, validate_station_dataset
from desktop_app.core.variables import get_variable
from desktop_app.errors import ConfigError, SchemaError


def test_bbox_parse_and_errors():
    box = BBox.parse("34.2,-118.4,34.4,-117.9")
    assert box.contains(34.3, -118.0)
    assert not box.contains(35.0, -118.0)
    with pytest.raises(ConfigError, match="south,west,north,east"):
        BBox.parse("1,2,3")
    with pytest.raises(ConfigError, match="latitudes"):
        BBox(10, 0, 5, 1)
    with pytest.raises(ConfigError, match="four numbers"):
        BBox.parse("a,b,c,d")


def test_gridspec_from_bbox_and_cell_lookup():
    grid = GridSpec.from_bbox(BBox(50.0, -10.0, 58.0, 2.0), 0.25)
    assert grid.shape == (33, 49)  # the ERA5 UK fixture's grid
    assert grid.cell_index(50.1, -9.9) == (0, 0)
    assert grid.cell_index(57.99, 1.9) == (32, 48)
    assert grid.cell_index(49.0, 0.0) is None


def _grid(lat=(1.0, 2.0, 3.0), units="degC"):
    time = np.array(["2024-01-01T00", "2024-01-01T01"], dtype="datetime64[ns]")
    attrs = {**get_variable("temperature").cf_attrs(), "units": units}
    data = np.zeros((2, len(lat), 2), np.float32)
    return xr.Dataset({"temperature": (("time", "latitude", "longitude"), data, attrs)},
                      coords={"time": time, "latitude": list(lat), "longitude": [0.0, 1.0]})


def test_grid_validator_accepts_canonical_and_names_each_problem():
    validate_grid_dataset(_grid())
    with pytest.raises(SchemaError, match="latitude must be ascending"):
        validate_grid_dataset(_grid(lat=(3.0, 2.0, 1.0)))
    with pytest.raises(SchemaError, match="'temperature' must be in 'degC'"):
        validate_grid_dataset(_grid(units="K"))
    with pytest.raises(SchemaError, match="'time'"):
        validate_grid_dataset(_grid().isel(time=0, drop=True))


def test_station_validator_names_missing_coordinate():
    time = np.array(["2024-01-01T00", "2024-01-01T01"], dtype="datetime64[ns]")
    ds = xr.Dataset(
        {"temperature": (("station", "time"), np.zeros((1, 2)),
                         get_variable("temperature").cf_attrs())},
        coords={"time": time, "station_id": ("station", ["A"]),
                "latitude": ("station", [10.0]), "longitude": ("station", [20.0])},
    )
    with pytest.raises(SchemaError, match="'elevation'"):
        validate_station_dataset(ds)
    validate_station_dataset(ds.assign_coords(elevation=("station", [5.0])))
