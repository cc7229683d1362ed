import numpy as np
import pytest

from desktop_app.core.flags import FLAG_MEANINGS, FLAG_VALUES, QCFlag, flag_attrs, worst
from desktop_app.core.variables import VARIABLES, by_standard_name, get_variable
from desktop_app.errors import UnknownVariableError


def test_registry_has_the_required_variables_with_cf_names_and_ranges():
    for name in ("temperature", "relative_humidity", "surface_pressure", "wind_speed",
                 "wind_direction", "precipitation"):
        var = get_variable(name)
        assert var.standard_name and var.units
        assert var.valid_min < var.valid_max
    assert get_variable("temperature").units == "degC"
    assert get_variable("surface_pressure").units == "hPa"
    assert get_variable("precipitation").kind == "accumulation"


def test_standard_names_are_unique_and_reversible():
    names = [v.standard_name for v in VARIABLES.values()]
    assert len(names) == len(set(names))
    for var in VARIABLES.values():
        assert by_standard_name(var.standard_name) is var


def test_unknown_variable_names_the_variable_and_lists_known_ones():
    with pytest.raises(UnknownVariableError) as err:
        get_variable("temprature")
    assert "'temprature'" in str(err.value)
    assert "temperature" in str(err.value)


def test_cf_attrs_carry_units_and_range():
    attrs = get_variable("relative_humidity").cf_attrs()
    assert attrs["standard_name"] == "relative_humidity"
    assert attrs["units"] == "%"
    assert (attrs["valid_min"], attrs["valid_max"]) == (0.0, 100.0)


def test_flag_encoding_matches_qartod():
    assert list(FLAG_VALUES) == [1, 2, 3, 4, 9]
    assert FLAG_MEANINGS.split() == ["pass", "not_evaluated", "suspect", "fail", "missing"]
    attrs = flag_attrs("temperature")
    assert attrs["flag_values"].dtype == np.uint8
    assert len(attrs["flag_values"]) == len(str(attrs["flag_meanings"]).split())


def test_worst_flag_aggregation():
    p, n, s, f, m = (QCFlag.PASS, QCFlag.NOT_EVALUATED, QCFlag.SUSPECT, QCFlag.FAIL,
                     QCFlag.MISSING)
    a = np.array([p, p, n, s, m, n], np.uint8)
    b = np.array([p, s, p, f, p, n], np.uint8)
    assert list(worst(a, b)) == [p, s, p, f, m, n]
    with pytest.raises(ValueError):
        worst()
