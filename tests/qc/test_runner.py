"""The runner on the two real TMY3 stations (one with a stuck pressure sensor)."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from desktop_app.core.flags import QCFlag
from desktop_app.errors import CancelledError, SchemaError
from desktop_app.qc import checks
from desktop_app.qc.config import default_config, parse_config
from desktop_app.qc.runner import run_qc
from tests.qc.qc_data import tmy3_station_dataset


@pytest.fixture(scope="module")
def flagged() -> tuple[xr.Dataset, xr.Dataset, object]:
    ds = tmy3_station_dataset()
    before = ds.copy(deep=True)
    out, report = run_qc(ds, default_config())
    return before, out, report


def test_observed_values_never_modified(flagged: tuple[xr.Dataset, xr.Dataset, object]) -> None:
    before, out, _ = flagged
    ds = tmy3_station_dataset()
    for name in before.data_vars:
        np.testing.assert_array_equal(out[name].values, before[name].values)
        np.testing.assert_array_equal(ds[name].values, before[name].values)
        assert "ancillary_variables" not in ds[name].attrs  # input attrs untouched
    assert not any(str(v).endswith("_qc") for v in ds.data_vars)


def test_flag_variables_and_cf_attributes(flagged: tuple[xr.Dataset, xr.Dataset, object]) -> None:
    _, out, _ = flagged
    qc = out["temperature_qc"]
    assert qc.dtype == np.uint8 and qc.dims == ("station", "time")
    assert list(qc.attrs["flag_values"]) == [1, 2, 3, 4, 9]
    assert qc.attrs["flag_meanings"] == "pass not_evaluated suspect fail missing"
    anc = out["temperature"].attrs["ancillary_variables"].split()
    assert anc[0] == "temperature_qc"
    for name in anc:
        assert out[name].dtype == np.uint8
        assert "flag_values" in out[name].attrs
    assert "temperature_qc_buddy_check" in anc


def test_per_test_flags_equal_the_public_checks(
    flagged: tuple[xr.Dataset, xr.Dataset, object],
) -> None:
    _, out, _ = flagged
    p = out["surface_pressure"].values[1]
    t = out["time"].values
    np.testing.assert_array_equal(
        out["surface_pressure_qc_flat_line"].values[1],
        checks.flat_line(p, t, 12 * 3600, 24 * 3600, 0.01),
    )
    # Sand Point's pressure is stuck at 1012 hPa all year: the aggregate says fail
    assert (out["surface_pressure_qc"].values[1, 24:] == QCFlag.FAIL).all()
    # two stations 4,000 km apart have no buddies: not evaluated, never a false alarm
    assert (out["temperature_qc_buddy_check"].values == QCFlag.NOT_EVALUATED).all()


def test_report_counts_and_compile_time(flagged: tuple[xr.Dataset, xr.Dataset, object]) -> None:
    _, out, report = flagged
    counts = report.counts["surface_pressure"]["flat_line"]  # type: ignore[attr-defined]
    assert sum(counts.values()) == out["surface_pressure"].size
    assert counts[QCFlag.FAIL] == int((out["surface_pressure_qc_flat_line"] == 4).sum())
    assert report.compile_seconds >= 0.0  # type: ignore[attr-defined]


def test_missing_values_flagged_missing() -> None:
    ds = tmy3_station_dataset().isel(time=slice(0, 200)).copy(deep=True)
    ds["temperature"][0, 50:60] = np.nan
    out, _ = run_qc(ds, parse_config({"use_defaults": False, "variables": {
        "temperature": {"gross_range": {"fail_span": [-80, 60]}, "robust_outlier": {}}}}))
    assert (out["temperature_qc"].values[0, 50:60] == QCFlag.MISSING).all()
    assert list(out["temperature"].attrs["ancillary_variables"].split()) == [
        "temperature_qc", "temperature_qc_gross_range", "temperature_qc_robust_outlier"]


def test_bad_dataset_and_cancel() -> None:
    with pytest.raises(SchemaError):
        run_qc(xr.Dataset({"x": ("y", [1.0])}), default_config())
    with pytest.raises(CancelledError):
        run_qc(tmy3_station_dataset(), default_config(), cancelled=lambda: True)


def test_time_only_variable_is_left_alone() -> None:
    ds = tmy3_station_dataset().isel(time=slice(0, 48)).copy()
    ds["precipitation"] = ("time", np.zeros(48),
                           {"standard_name": "lwe_thickness_of_precipitation_amount",
                            "units": "mm"})
    out, report = run_qc(ds, default_config())
    assert "precipitation_qc" not in out and "precipitation" not in report.counts
    assert "temperature_qc" in out
