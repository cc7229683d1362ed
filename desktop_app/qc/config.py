"""QC configuration: variable-aware defaults, overridable by a strict TOML or JSON file.

File layout (TOML shown; JSON is the same tree)::

    use_defaults = true            # start from the defaults below (default: true)

    [variables.temperature]
    gross_range = { fail_span = [-80.0, 60.0], suspect_span = [-40.0, 50.0] }
    rate_of_change = { threshold = 0.002778 }         # units per second, as ioos_qc
    spike = { suspect_threshold = 4.0, fail_threshold = 8.0 }
    flat_line = { suspect_threshold = 21600, fail_threshold = 43200, tolerance = 0.05 }
    buddy_check = { radius = 50000.0, num_min = 5, threshold = 3.0 }
    robust_outlier = false                            # false switches a test off
    climatology = { monthly_min = [...12...], monthly_max = [...12...] }

Test parameters have the names and units of ``ioos_qc.qartod`` (gross range, rate of
change, spike, flat line) and ``titanlib.buddy_check``, so configs move over. A test given
in the file replaces the default for that test as a whole (unset fields take the
parameter defaults of the check). Unknown keys and wrong types raise
:class:`ConfigError` naming the key, e.g. ``variables.temperature.spike.treshold``.
"""

from __future__ import annotations

import dataclasses
import json
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from desktop_app.core.variables import VARIABLES
from desktop_app.errors import ConfigError
from desktop_app.qc.params import (
    BuddyCheck,
    Climatology,
    FlatLine,
    GrossRange,
    RateOfChange,
    RobustOutlier,
    Spike,
)
from desktop_app.qc.registry import QC_TESTS, known_tests
from desktop_app.strict_config import check_table

__all__ = ["BuddyCheck", "Climatology", "FlatLine", "GrossRange", "QCConfig", "RateOfChange",
           "RobustOutlier", "Spike", "VariableQC", "default_config", "default_tests",
           "load_config", "parse_config"]


@dataclass(frozen=True)
class VariableQC:
    tests: dict[str, Any] = field(default_factory=dict)  # test name -> parameters


@dataclass(frozen=True)
class QCConfig:
    variables: dict[str, VariableQC]


_PER_HOUR = 1.0 / 3600.0
_HOURS = 3600

# Defaults per variable, in the registry's internal units (degC, %, hPa, m s-1, mm).
DEFAULTS: dict[str, dict[str, Any]] = {
    "temperature": {
        "gross_range": GrossRange((-80.0, 60.0), (-60.0, 50.0)),
        "rate_of_change": RateOfChange(10.0 * _PER_HOUR),
        "spike": Spike(4.0, 8.0),
        "flat_line": FlatLine(6 * _HOURS, 12 * _HOURS, 0.05),
        "robust_outlier": RobustOutlier(),
        "buddy_check": BuddyCheck(),
    },
    "dewpoint_temperature": {
        "gross_range": GrossRange((-80.0, 40.0)),
        "rate_of_change": RateOfChange(10.0 * _PER_HOUR),
        "spike": Spike(4.0, 8.0),
        "flat_line": FlatLine(6 * _HOURS, 12 * _HOURS, 0.05),
        "robust_outlier": RobustOutlier(),
    },
    "relative_humidity": {
        "gross_range": GrossRange((0.0, 100.0)),
        "rate_of_change": RateOfChange(40.0 * _PER_HOUR),
        # saturated fog can hold 100 % for a day: only long plateaus are suspicious
        "flat_line": FlatLine(24 * _HOURS, 48 * _HOURS, 0.05),
    },
    "surface_pressure": {
        # high stations read ~700 hPa, so the span is the registry's wide valid range
        "gross_range": GrossRange((300.0, 1100.0)),
        "rate_of_change": RateOfChange(6.0 * _PER_HOUR),
        "spike": Spike(2.0, 5.0),
        "flat_line": FlatLine(12 * _HOURS, 24 * _HOURS, 0.01),
    },
    "mean_sea_level_pressure": {
        "gross_range": GrossRange((800.0, 1100.0), (800.0, 1050.0)),
        "rate_of_change": RateOfChange(6.0 * _PER_HOUR),
        "spike": Spike(2.0, 5.0),
        "flat_line": FlatLine(12 * _HOURS, 24 * _HOURS, 0.01),
        "buddy_check": BuddyCheck(radius=150000.0, max_elev_diff=0.0, min_std=1.0),
    },
    "wind_speed": {
        "gross_range": GrossRange((0.0, 75.0), (0.0, 50.0)),
        "flat_line": FlatLine(12 * _HOURS, 24 * _HOURS, 0.05),
    },
    "wind_direction": {"gross_range": GrossRange((0.0, 360.0))},
    "precipitation": {"gross_range": GrossRange((0.0, 500.0), (0.0, 150.0))},
}


def default_tests(variable: str) -> dict[str, Any]:
    """Defaults for ``variable``; a registry variable without a table gets its valid range."""
    if variable in DEFAULTS:
        return dict(DEFAULTS[variable])
    var = VARIABLES[variable]
    return {"gross_range": GrossRange((var.valid_min, var.valid_max))}


def default_config() -> QCConfig:
    return QCConfig({name: VariableQC(default_tests(name)) for name in VARIABLES})


def _parse_test(key: str, cls: type, table: object) -> Any:
    if not isinstance(table, dict):
        raise ConfigError(f"{key}: expected a table of parameters or false, got {table!r}")
    test = cls(**check_table(table, cls, prefix=f"{key}."))
    _check_bounds(key, test)
    return test


# Parameters that must be > 0, >= 1, and pairs (low, high) that must be ordered. A NaN or
# a reversed span would make a test pass everything without a word.
_POSITIVE = {"threshold", "fail_threshold", "suspect_threshold", "radius", "min_std",
             "suspect_z", "fail_z"}
_AT_LEAST_ONE = {"num_min", "num_iterations", "min_count"}
_ORDERED = (("suspect_threshold", "fail_threshold"), ("suspect_z", "fail_z"))
SPIKE_METHODS = ("average", "differential")


def _check_bounds(key: str, test: Any) -> None:
    values = dataclasses.asdict(test)
    for name, value in values.items():  # finite: check_table saw to that
        if name in _POSITIVE and value is not None and not value > 0:
            raise ConfigError(f"{key}.{name}: must be > 0, got {value!r}")
        if name in _AT_LEAST_ONE and value < 1:
            raise ConfigError(f"{key}.{name}: must be at least 1, got {value!r}")
        if name in ("fail_span", "suspect_span") and value is not None and \
                not value[0] < value[1]:
            raise ConfigError(f"{key}.{name}: must be [low, high] with low < high, "
                              f"got {list(value)}")
    for low, high in _ORDERED:
        if values.get(low) is not None and values.get(high) is not None and \
                values[low] > values[high]:
            raise ConfigError(f"{key}: {low} ({values[low]}) must not exceed {high} "
                              f"({values[high]})")
    if "tolerance" in values and values["tolerance"] < 0:
        raise ConfigError(f"{key}.tolerance: must be >= 0, got {values['tolerance']!r}")
    if "method" in values and values["method"] not in SPIKE_METHODS:
        raise ConfigError(f"{key}.method: unknown spike method {values['method']!r} "
                          f"(known: {', '.join(SPIKE_METHODS)})")
    for name in ("monthly_min", "monthly_max"):
        if name in values and len(values[name]) != 12:
            raise ConfigError(f"{key}.{name}: expected a list of 12 numbers (one a month), "
                              f"got {len(values[name])}")
    if "monthly_min" in values and any(
            lo > hi for lo, hi in zip(values["monthly_min"], values["monthly_max"],
                                      strict=True)):
        raise ConfigError(f"{key}: monthly_min must not exceed monthly_max in any month")


def parse_config(data: object) -> QCConfig:
    """Build a :class:`QCConfig` from a parsed TOML/JSON tree (strictly)."""
    if not isinstance(data, dict):
        raise ConfigError("QC config must be a table at the top level")
    for key in data:
        if key not in ("use_defaults", "variables"):
            raise ConfigError(f"unknown key {key} (known: use_defaults, variables)")
    use_defaults = data.get("use_defaults", True)
    if not isinstance(use_defaults, bool):
        raise ConfigError(f"use_defaults: expected true or false, got {use_defaults!r}")
    variables = data.get("variables", {})
    if not isinstance(variables, dict):
        raise ConfigError("variables: expected a table")
    base = default_config().variables if use_defaults else {}
    out = {name: VariableQC(dict(v.tests)) for name, v in base.items()}
    for name, tests in variables.items():
        key = f"variables.{name}"
        if name not in VARIABLES:
            raise ConfigError(f"unknown variable {key} (known: {', '.join(sorted(VARIABLES))})")
        if not isinstance(tests, dict):
            raise ConfigError(f"{key}: expected a table of tests")
        current = out.setdefault(name, VariableQC()).tests
        for test, table in tests.items():
            if test not in QC_TESTS:
                raise ConfigError(f"unknown test {key}.{test} (known: "
                                  f"{', '.join(known_tests())})")
            if table is False:
                current.pop(test, None)
            else:
                current[test] = _parse_test(f"{key}.{test}", QC_TESTS[test].params, table)
    return QCConfig(out)


def load_config(path: Path | None) -> QCConfig:
    """Read a ``.toml`` or ``.json`` QC config; ``None`` gives the defaults."""
    if path is None:
        return default_config()
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read QC config {path}: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(f"QC config {path} is not UTF-8 text (byte {exc.start})") from exc
    try:
        data = json.loads(text) if path.suffix.lower() == ".json" else tomllib.loads(text)
    except (json.JSONDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"QC config {path} is not valid {path.suffix[1:]}: {exc}") from exc
    return parse_config(data)
