"""The colour range of a stack is read in place, block by block, and agrees with a plain
finite min/max on the real ERA5 UK test field, holes and all."""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from desktop_app.viz.map_model import colour
from desktop_app.viz.map_model.colour import colour_scale, prime_ranges, value_range

DATA = Path(__file__).resolve().parents[1] / "data" / "inference"


@pytest.fixture(scope="module")
def t2m() -> np.ndarray:
    with xr.open_dataset(DATA / "era5_uk_fine.nc") as ds:
        return np.asarray(ds["temperature"].values, np.float32)


def _reference(values: np.ndarray) -> tuple[float, float]:
    finite = values[np.isfinite(values)]
    return float(finite.min()), float(finite.max())


def test_range_matches_the_finite_min_max_across_blocks(t2m, monkeypatch):
    monkeypatch.setattr(colour, "RANGE_BLOCK", 1000)  # many blocks, some all NaN below
    holes = t2m.copy()
    holes[:, :10, :] = np.nan  # whole blocks without a value, and partial ones
    holes[7, 20, 30] = np.nan
    assert value_range(t2m) == _reference(t2m)
    assert value_range(holes) == _reference(holes)
    assert value_range(holes) != value_range(t2m)  # the holes took out real extremes


def test_no_values_and_infinities():
    assert value_range(np.full((3, 4, 5), np.nan, np.float32)) is None
    assert value_range(np.zeros((0, 4), np.float32)) is None
    with_inf = np.array([[1.0, np.inf], [np.nan, -2.0]], np.float32)
    assert value_range(with_inf) == (-2.0, 1.0)  # an infinity is not a colour limit
    empty = colour_scale(np.full((2, 2, 2), np.nan, np.float32), "temperature")
    assert empty.empty
    assert not colour_scale(np.ones((2, 2, 2), np.float32), "temperature").empty


def test_the_stack_is_not_copied(t2m):
    """No stack-sized temporary (a float64 copy doubled a week's 672 MB before)."""
    stack = t2m.copy()  # a fresh object: not answered from the cache
    tracemalloc.start()
    try:
        value_range(stack)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < stack.nbytes / 20


def test_primed_range_is_not_scanned_again(t2m, monkeypatch):
    monkeypatch.setattr(colour, "RANGE_BLOCK", 1000)  # the test field counts as big
    stack = t2m[::-1].copy()
    thread = prime_ranges([stack])
    assert thread is not None
    thread.join(timeout=30)

    def scan(_arr):
        raise AssertionError("scanned again")

    monkeypatch.setattr(colour, "_scan_range", scan)
    assert value_range(stack) == _reference(stack)
    with pytest.raises(AssertionError, match="scanned again"):
        value_range(stack.copy())  # another array with the same values is scanned
