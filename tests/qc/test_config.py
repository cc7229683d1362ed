from __future__ import annotations

import json
from pathlib import Path

import pytest

from desktop_app.errors import ConfigError
from desktop_app.qc.config import (
    FlatLine,
    GrossRange,
    RateOfChange,
    default_config,
    load_config,
    parse_config,
)


def test_variable_aware_defaults() -> None:
    cfg = default_config().variables
    t = cfg["temperature"].tests
    assert t["gross_range"].fail_span == (-80.0, 60.0)
    assert t["rate_of_change"] == RateOfChange(10.0 / 3600.0)  # |dT| < 10 degC/h
    assert t["flat_line"].suspect_threshold == 6 * 3600  # persistence > 6 h is suspect
    assert "buddy_check" in t
    assert cfg["mean_sea_level_pressure"].tests["gross_range"].suspect_span == (800.0, 1050.0)
    # high stations read ~700 hPa: station pressure keeps the registry's wide range
    assert cfg["surface_pressure"].tests["gross_range"].fail_span == (300.0, 1100.0)
    assert cfg["elevation"].tests == {"gross_range": GrossRange((-500.0, 9000.0))}


def test_toml_overrides_and_switches_off(tmp_path: Path) -> None:
    path = tmp_path / "qc.toml"
    path.write_text(
        "[variables.temperature]\n"
        "flat_line = { suspect_threshold = 3600, fail_threshold = 7200, tolerance = 0.1 }\n"
        "buddy_check = false\n"
        "climatology = { monthly_min = [-30, -30, -20, -10, -5, 0, 5, 5, 0, -5, -15, -25],"
        " monthly_max = [15, 15, 20, 25, 30, 35, 38, 38, 33, 28, 20, 15] }\n"
    )
    tests = load_config(path).variables["temperature"].tests
    assert tests["flat_line"] == FlatLine(3600.0, 7200.0, 0.1)
    assert "buddy_check" not in tests
    assert len(tests["climatology"].monthly_min) == 12
    assert "spike" in tests  # untouched defaults stay


def test_json_without_defaults(tmp_path: Path) -> None:
    path = tmp_path / "qc.json"
    path.write_text(json.dumps({
        "use_defaults": False,
        "variables": {"wind_speed": {"gross_range": {"fail_span": [0, 60]}}},
    }))
    cfg = load_config(path)
    assert list(cfg.variables) == ["wind_speed"]
    assert cfg.variables["wind_speed"].tests["gross_range"] == GrossRange((0.0, 60.0))


@pytest.mark.parametrize(
    ("data", "named"),
    [
        ({"varables": {}}, "varables"),
        ({"variables": {"temprature": {}}}, "variables.temprature"),
        ({"variables": {"temperature": {"spikes": {}}}}, "variables.temperature.spikes"),
        ({"variables": {"temperature": {"spike": {"treshold": 1}}}},
         "variables.temperature.spike.treshold"),
        ({"variables": {"temperature": {"spike": {"suspect_threshold": "3"}}}},
         "variables.temperature.spike.suspect_threshold"),
        ({"variables": {"temperature": {"buddy_check": {"num_min": 2.5}}}},
         "variables.temperature.buddy_check.num_min"),
        ({"variables": {"temperature": {"gross_range": {"fail_span": [1, 2, 3]}}}},
         "variables.temperature.gross_range.fail_span"),
        ({"variables": {"temperature": {"rate_of_change": {}}}},
         "variables.temperature.rate_of_change.threshold"),
        ({"variables": {"temperature": {"flat_line": True}}}, "variables.temperature.flat_line"),
        ({"use_defaults": "yes"}, "use_defaults"),
        ({"variables": {"temperature": {"robust_outlier": {"min_count": True}}}},
         "variables.temperature.robust_outlier.min_count"),
    ],
)
def test_strict_errors_name_the_key(data: dict[str, object], named: str) -> None:
    with pytest.raises(ConfigError, match=named.replace(".", r"\.")):
        parse_config(data)


def test_unreadable_and_malformed_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path / "missing.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[variables\n")
    with pytest.raises(ConfigError, match="not valid toml"):
        load_config(bad)
