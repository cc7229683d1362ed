"""The QC test registry: a new test is one registration, and then the config reader, the
runner, the live watch and the batch split all use it (on the real TMY3 stations)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pytest
from numpy.typing import NDArray

from desktop_app.batch.qc_run import split_config
from desktop_app.core.flags import QCFlag, worst
from desktop_app.errors import ConfigError
from desktop_app.qc import registry
from desktop_app.qc.config import parse_config
from desktop_app.qc.registry import QC_TESTS, Network, QCTest, register
from desktop_app.qc.runner import run_qc
from desktop_app.watch.features import qc_window
from tests.qc.qc_data import tmy3_station_dataset


@dataclass(frozen=True)
class AboveLimit:
    limit: float


@dataclass(frozen=True)
class NetworkWarmest:
    margin: float = 0.0


def _above(p: AboveLimit, axis: registry.TimeAxis) -> registry.SeriesCheck:
    def check(x: NDArray[np.float64]) -> NDArray[np.uint8]:
        flags = np.where(x > p.limit, QCFlag.SUSPECT, QCFlag.PASS).astype(np.uint8)
        flags[~np.isfinite(x)] = QCFlag.MISSING
        return flags
    return check


def _warmest(p: NetworkWarmest, net: Network, out: NDArray[np.uint8]) -> None:
    # the station warmest by more than ``margin`` over every other at a time step
    v = net.values
    top = np.sort(v, axis=0)
    out[:] = np.where(v > top[-2] + p.margin, QCFlag.SUSPECT, QCFlag.PASS)


@pytest.fixture
def toy_tests() -> Iterator[None]:
    saved = dict(QC_TESTS)
    register(QCTest("above_limit", AboveLimit, "series", online=True, series=_above))
    register(QCTest("network_warmest", NetworkWarmest, "network", network=_warmest))
    yield
    QC_TESTS.clear()
    QC_TESTS.update(saved)


def test_one_registration_and_the_runner_runs_it(toy_tests: None) -> None:
    ds = tmy3_station_dataset()
    config = parse_config({"use_defaults": False, "variables": {"temperature": {
        "gross_range": {"fail_span": [-80.0, 60.0]},
        "above_limit": {"limit": 30.0},
        "network_warmest": {"margin": 5.0}}}})
    assert config.variables["temperature"].tests["above_limit"] == AboveLimit(30.0)
    out, report = run_qc(ds, config)
    t = ds["temperature"].values
    above = out["temperature_qc_above_limit"].values
    np.testing.assert_array_equal(above == QCFlag.SUSPECT, t > 30.0)
    assert 0 < (above == QCFlag.SUSPECT).sum() < t.size  # real summer afternoons
    warm = out["temperature_qc_network_warmest"].values
    other = t[::-1]  # two stations: the other one's value
    np.testing.assert_array_equal(warm == QCFlag.SUSPECT, t > other + 5.0)
    # registration order is run order; the aggregate takes the new tests in
    assert out["temperature_qc"].attrs["qc_tests"].split() == [
        "temperature_qc_gross_range", "temperature_qc_above_limit",
        "temperature_qc_network_warmest"]
    np.testing.assert_array_equal(out["temperature_qc"].values, worst(
        out["temperature_qc_gross_range"].values, above, warm))
    assert report.counts["temperature"]["above_limit"][QCFlag.SUSPECT] == int(
        (t > 30.0).sum())
    assert out["temperature_qc_above_limit"].attrs["standard_name"] == "quality_flag"


def test_config_reads_a_registered_test_strictly(toy_tests: None) -> None:
    with pytest.raises(ConfigError, match=r"unknown key 'variables\.temperature\.above_limit"
                                          r"\.limt'"):
        parse_config({"variables": {"temperature": {"above_limit": {"limt": 1.0}}}})
    with pytest.raises(ConfigError, match=r"above_limit\.limit' is required"):
        parse_config({"variables": {"temperature": {"above_limit": {}}}})


def test_an_unknown_test_name_is_one_error_naming_the_known_ones() -> None:
    with pytest.raises(ConfigError, match=r"unknown QC test 'spiek'; known: gross_range, "
                                          r"rate_of_change, spike"):
        registry.qc_test("spiek")


def test_the_watch_and_the_batch_split_follow_the_registry(toy_tests: None) -> None:
    times = np.arange(0, 6 * 60, 60, dtype=np.int64)
    values = np.array([20.0, 31.0, 29.0, np.nan, 35.0, 10.0])
    tests = registry.online_tests({"above_limit": AboveLimit(30.0),
                                   "network_warmest": NetworkWarmest()})
    assert list(tests) == ["above_limit"]  # a network test never runs on one station
    agg, per = qc_window(times, values, tests)
    assert per["above_limit"].tolist() == [1, 3, 1, 9, 3, 1]
    assert agg.tolist() == [1, 3, 1, 9, 3, 1]
    config = parse_config({"use_defaults": False, "variables": {"temperature": {
        "above_limit": {"limit": 30.0}, "network_warmest": {},
        "buddy_check": {}}}})
    assert set(split_config(config, True).variables["temperature"].tests) == {
        "network_warmest", "buddy_check"}
    assert set(split_config(config, False).variables["temperature"].tests) == {
        "above_limit"}


def test_bad_registrations_are_refused() -> None:
    with pytest.raises(ConfigError, match="already registered"):
        register(QCTest("spike", AboveLimit, "series", series=_above))
    with pytest.raises(ConfigError, match="needs a network check"):
        QCTest("x", AboveLimit, "network")
    with pytest.raises(ConfigError, match="only per-series tests run online"):
        QCTest("x", NetworkWarmest, "network", online=True, network=_warmest)
    assert "spike" in QC_TESTS and QC_TESTS["spike"].params is not AboveLimit
