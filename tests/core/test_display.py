"""Display units and round ticks: what people read, with data kept in CF units."""

import numpy as np
import pytest

from desktop_app.core.display import (
    DisplayUnits,
    conversion,
    nice_limits,
    nice_step,
    symbol,
    tick_text,
)
from desktop_app.errors import ConfigError
from desktop_app.settings import Settings
from desktop_app.viz.map_model.colour import colour_scale


def test_cf_units_read_as_people_write_them():
    assert symbol("degC") == "°C" and symbol("m s-1") == "m/s" and symbol("hPa") == "hPa"


def test_fahrenheit_converts_values_and_differences_differently():
    f = DisplayUnits(temperature="°F")
    assert float(conversion("degC", f)(100.0)) == pytest.approx(212.0)
    assert float(conversion("degC", f)(-40.0)) == pytest.approx(-40.0)
    # a 1 degC difference is 1.8 degF, not 33.8
    assert float(conversion("degC", f, difference=True)(1.0)) == pytest.approx(1.8)
    assert float(conversion("degC", f).inverse(212.0)) == pytest.approx(100.0)


@pytest.mark.parametrize(("unit", "factor"), [("m/s", 1.0), ("kt", 1.943844), ("km/h", 3.6)])
def test_wind_units(unit, factor):
    conv = conversion("m s-1", DisplayUnits(wind=unit))
    assert float(conv(10.0)) == pytest.approx(10.0 * factor, rel=1e-6)
    assert conv.symbol == unit


def test_unknown_display_unit_is_refused_by_name():
    with pytest.raises(ConfigError, match="temperature"):
        DisplayUnits(temperature="degC")
    with pytest.raises(ConfigError, match="wind_unit"):
        Settings.from_dict({"wind_unit": "mph"})


@pytest.mark.parametrize(("lo", "hi"), [(13.2, 36.9), (-0.31, 0.07), (931.2, 932.4),
                                        (0.0, 100.0), (5.0, 5.0)])
def test_limits_are_whole_1_2_5_steps_around_the_data(lo, hi):
    a, b, step = nice_limits(lo, hi)
    assert a <= lo and b >= hi
    mantissa = step / 10 ** np.floor(np.log10(step))
    assert round(mantissa, 9) in (1.0, 2.0, 5.0)
    assert abs(a / step - round(a / step)) < 1e-9 and abs(b / step - round(b / step)) < 1e-9
    assert 3 <= round((b - a) / step) <= 12


def test_symmetric_limits_and_tick_text():
    a, b, step = nice_limits(-1.3, 3.7, symmetric=True)
    assert a == -b and b >= 3.7
    assert nice_step(10.0) in (1.0, 2.0)
    assert tick_text(-2.0, 1.0) == "−2" and tick_text(0.5, 0.5) == "0.5"
    assert tick_text(-0.0, 1.0) == "0"


def test_difference_scale_is_centred_and_labelled_in_display_units():
    values = np.array([-1.0, 0.2, 4.3])  # degC differences
    scale = colour_scale(values, "temperature", difference=True,
                         units=DisplayUnits(temperature="°F"))
    lo, hi = scale.clim  # stored units (degC)
    assert lo == pytest.approx(-hi) and hi >= 4.3
    assert scale.label.startswith("Difference:") and scale.label.endswith("(°F)")
    assert [v for v, t in scale.ticks if t == "0"] == [pytest.approx(0.0)]
    stepped = colour_scale(values, "temperature", stepped=True)
    assert stepped.steps == len(stepped.ticks) - 1
