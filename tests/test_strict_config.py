"""The one strict table -> dataclass check behind settings, QC, training and watch configs."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from desktop_app.errors import ConfigError, ModelError
from desktop_app.strict_config import check_table


@dataclass
class Toy:
    span: tuple[float, float]
    count: int = 1
    scale: float = 1.0
    label: str = ""
    enabled: bool = True
    cut: float | None = None
    names: list[str] = field(default_factory=list)


def test_values_are_converted_and_missing_optionals_left_out() -> None:
    values = check_table({"span": [1, 2.5], "scale": 3, "cut": None, "names": ["a"]}, Toy)
    assert values == {"span": (1.0, 2.5), "scale": 3.0, "cut": None, "names": ["a"]}
    assert isinstance(values["scale"], float)
    assert Toy(**values).count == 1


@pytest.mark.parametrize(("table", "message"), [
    ({"span": [1, 2], "cuont": 2}, "unknown key 'sec.cuont'; known: span, count"),
    ({"span": [1, 2], "count": True}, "key 'sec.count' must be an integer, got bool True"),
    ({"span": [1, 2], "count": 2.0}, "key 'sec.count' must be an integer"),
    ({"span": [1, 2, 3]}, "key 'sec.span' must be a list of 2 numbers"),
    ({"span": [1, "2"]}, "key 'sec.span' must be a list of 2 numbers"),
    ({"span": [1, float("nan")]}, "key 'sec.span' must be a finite number"),
    ({"span": [1, 2], "scale": float("inf")}, "key 'sec.scale' must be a finite number"),
    ({"span": [1, 2], "enabled": 1}, "key 'sec.enabled' must be bool"),
    ({"span": [1, 2], "cut": "x"}, "key 'sec.cut' must be a number or null"),
    ({"span": [1, 2], "names": ["a", 2]}, "key 'sec.names' must be a list of strings"),
    ({"count": 2}, "key 'sec.span' is required"),
    ([1, 2], "sec: expected a table, got list"),
])
def test_errors_name_the_key_and_what_was_expected(table: object, message: str) -> None:
    with pytest.raises(ConfigError) as err:
        check_table(table, Toy, prefix="sec.")
    assert message in str(err.value)


def test_source_noun_skip_and_error_class() -> None:
    with pytest.raises(ModelError, match="^card.json: unknown field 'colour'"):
        check_table({"span": [0, 1], "colour": "red"}, Toy, source="card.json",
                    what="field", error=ModelError)
    assert check_table({"span": [0, 1], "extra": 1}, Toy, skip=("extra",)) == {
        "span": (0.0, 1.0)}
