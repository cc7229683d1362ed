"""Published ioos_qc test vectors, expected flags as ioos_qc's own tests state them.

Copied from ioos_qc ``tests/test_qartod.py`` (repository ioos/ioos_qc, commit c91d50c,
Apache-2.0): QartodSpikeTest, QartodRateOfChangeTest, QartodFlatLineTest; the gross-range
vector is the example in ``ioos_qc.qartod.gross_range_test``'s docstring. These run
without ioos_qc installed; ``test_ioos_parity.py`` compares against the live library.

Two spike vectors with missing values disagree between that test file and the released
ioos_qc 3.0.0 code: the file expects a value next to a missing one to get the flag of
its (masked) difference or 9, the released ``spike_test`` gives it 2 (not evaluated).
We follow the released library (checked live in ``test_ioos_parity.py``); the file's
expectations are kept below, next to the released ones, so the difference stays visible.
"""

from __future__ import annotations

import numpy as np
import numpy.testing as npt
import pytest

from desktop_app.qc import checks

T15 = np.arange("2015-01-01 00:00:00", "2015-01-01 06:00:00", step=np.timedelta64(15, "m"),
                dtype="datetime64[s]")
FLAT_T = np.arange("2015-01-01 00:00:00", "2015-01-01 03:30:00", step=np.timedelta64(15, "m"),
                   dtype="datetime64[s]")
ROC = 5 / 15 / 60


def test_gross_range_docstring_vector() -> None:
    got = checks.gross_range([1, 2, 3, 4, 8], fail_span=(0, 5), suspect_span=(1, 4))
    npt.assert_array_equal(got, [1, 1, 1, 1, 4])
    assert got.dtype == np.uint8


@pytest.mark.parametrize(
    ("arr", "expected"),
    [
        ([10, 12, 999.99, 13, 15, 40, 9, 9], [2, 4, 4, 4, 1, 3, 1, 2]),
        ([-10, -12, -999.99, -13, -15, -40, -9, -9], [2, 4, 4, 4, 1, 3, 1, 2]),
        ([-100, -99, -99, -98], [2, 1, 1, 2]),
        # file at c91d50c: [2, 4, 4, 4, 1, 3, 1, 1, 9, 9, 4, 4, 4, 9]; released 3.0.0:
        ([10, 12, 999.99, 13, 15, 40, 9, 9, None, 10, 10, 999.99, 10, None],
         [2, 4, 4, 4, 1, 3, 1, 2, 9, 2, 4, 4, 2, 9]),
    ],
)
def test_spike_vectors(arr: list[float | None], expected: list[int]) -> None:
    npt.assert_array_equal(checks.spike(arr, 25, 50), expected)


def test_spike_realdata_vector() -> None:
    arr = [-0.189, -0.0792, -0.0122, 0.0457, 0.0671, 0.0213, -0.0488, -0.1463, -0.2438,
           -0.3261, -0.3871, -0.4054, -0.3932, -0.3383, -0.2804, -0.2347, -0.2134, -0.2347,
           -0.2926, -0.3597, -0.442, -0.509, 0, -0.5944, -0.57, -0.4267, -0.2926, -0.1585,
           -0.0945, -0.0762]
    expected = [2] + [1] * 21 + [3] + [1] * 6 + [2]
    npt.assert_array_equal(checks.spike(arr, 0.5, 1), expected)


def test_spike_methods_vector() -> None:
    inp = [3, 4.99, 5, 6, 8, 6, 6, 6.75, 6, 6, 5.3, 6, 6, 9, 5, None, 4, 4]
    # file at c91d50c ends ... 4, 4, 4, 9, 9, 2] and ... 1, 4, 9, 9, 9, 2]; released 3.0.0:
    average = [2, 3, 1, 1, 4, 3, 1, 3, 1, 1, 3, 1, 4, 4, 2, 9, 2, 2]
    differential = [2, 1, 1, 1, 4, 1, 1, 3, 1, 1, 3, 1, 1, 4, 2, 9, 2, 2]
    npt.assert_array_equal(checks.spike(inp, 0.5, 1, method="average"), average)
    npt.assert_array_equal(checks.spike(inp, 0.5, 1, method="differential"), differential)
    with pytest.raises(ValueError):
        checks.spike(inp, 0.5, 1, method="bad")


def test_rate_of_change_vectors() -> None:
    arr = [2, 10, 2.1, 3, 4, 5, 7, 10, 0, 2, 2.2, 2, 1, 2, 3, 90, 91, 92, 93, 1, 2, 3, 4, 5]
    expected = [1, 3, 3, 1, 1, 1, 1, 1, 3, 1, 1, 1, 1, 1, 1, 3, 1, 1, 1, 3, 1, 1, 1, 1]
    npt.assert_array_equal(checks.rate_of_change(arr, T15, ROC), expected)
    epoch = T15.astype(np.int64)  # seconds since the epoch give the same result
    npt.assert_array_equal(checks.rate_of_change(arr, epoch, ROC), expected)
    npt.assert_array_equal(
        checks.rate_of_change([2, 10, 2, 3, None, None, 7, 10], T15[:8], ROC),
        [1, 3, 3, 1, 9, 9, 1, 1],
    )
    npt.assert_array_equal(checks.rate_of_change([-2, -10, -2, -3], T15[:4], ROC), [1, 3, 3, 1])


def test_flat_line_vectors() -> None:
    arr = [1, 2, 2.0001, 2, 2.0001, 2, 2.0001, 2, 4, 5, 3, 3.0001, 3.0005, 3.00001]
    expected = [1, 1, 1, 1, 3, 3, 4, 4, 1, 1, 1, 1, 1, 3]
    npt.assert_array_equal(checks.flat_line(arr, FLAT_T, 3000, 4800, 0.01), expected)
    npt.assert_array_equal(
        checks.flat_line(arr, FLAT_T.astype(np.int64), 3000, 4800, 0.01), expected
    )
    npt.assert_array_equal(checks.flat_line([-a for a in arr], FLAT_T, 3000, 4800, 0.01), expected)
    assert checks.flat_line(np.array([]), FLAT_T, 3000, 4800, 0.01).size == 0
    rand = np.random.default_rng(0).random(FLAT_T.size)
    npt.assert_array_equal(checks.flat_line(rand, FLAT_T, 3000, 4800, 1e-11), 1)

    start = [2, 2.0001, 2, 2.0001, 2, 2.0001, 2, 4, 5, 3, 3.0001, 3.0005, 3.00001]
    npt.assert_array_equal(
        checks.flat_line(start, FLAT_T[: len(start)], 3000, 4800, 0.01),
        [1, 1, 1, 3, 3, 4, 4, 1, 1, 1, 1, 1, 3],
    )
    missing = [1, None, np.nan, 2, 2.0001, 2, 2.0001, 2, 4, None, 3, None, None, 3.00001]
    npt.assert_array_equal(
        checks.flat_line(missing, FLAT_T, 3000, 4800, 0.01),
        [1, 9, 9, 1, 3, 3, 4, 4, 1, 9, 1, 9, 9, 3],
    )


@pytest.mark.parametrize("n", range(7))
def test_flat_line_short_series_vectors(n: int) -> None:
    expected = [[], [1], [1, 1], [1, 1, 1], [1, 1, 1, 3], [1, 1, 1, 3, 3], [1, 1, 1, 3, 3, 4]]
    npt.assert_array_equal(checks.flat_line([5] * n, list(range(n)), 3, 5, 0.1), expected[n])


def test_flat_line_with_spike_vector() -> None:
    got = checks.flat_line([1, 1, 1, 1, 1, 6, 5, 4, 3, 2], list(range(1, 11)), 3, 6, 4)
    npt.assert_array_equal(got, [1, 1, 1, 3, 3, 1, 1, 1, 3, 3])
