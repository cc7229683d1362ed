"""Strict tables: a parsed TOML/JSON table checked against a dataclass's fields.

Settings, the QC config, the training config, the watch config and the model card's
entries all read a table into a dataclass the same way: an unknown key, a missing
required key or a value of the wrong type is one error that names the key (with its
path, e.g. ``variables.temperature.spike.treshold``) and says what was expected. Floats
must be finite (TOML writes ``nan`` and ``inf``), whole numbers widen to floats, lists of
numbers become tuples where the field is a tuple. What a value means (ranges, orderings)
stays with each config; only the shape is checked here.
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from collections.abc import Collection
from typing import Any

from desktop_app.errors import ConfigError, MicroclimateError

_NO_VALUE = object()


def check_table(table: object, cls: type, *, prefix: str = "", source: str = "",
                what: str = "key", skip: Collection[str] = (),
                error: type[MicroclimateError] = ConfigError) -> dict[str, Any]:
    """The checked values of ``table`` for the fields of dataclass ``cls`` (those not in
    ``skip``), ready for ``cls(**values)``; missing optional fields are left out.

    ``prefix`` goes before each key in messages (``"train."``), ``source`` (a file) before
    the whole message, and ``what`` names a key (``"setting"``, ``"config key"``)."""
    head = f"{source}: " if source else ""
    if not isinstance(table, dict):
        where = f"{prefix.rstrip('.')}: " if prefix else ""
        raise error(f"{head}{where}expected a table, got {type(table).__name__}")
    hints = typing.get_type_hints(cls)
    known = {f.name: f for f in dataclasses.fields(cls) if f.name not in skip}
    values: dict[str, Any] = {}
    for key, value in table.items():
        if key in skip:
            continue
        if key not in known:
            raise error(f"{head}unknown {what} {prefix + str(key)!r}; known: "
                        f"{', '.join(known)}")
        converted = _convert(hints[key], value)
        if converted is _NO_VALUE:
            raise error(f"{head}{what} {prefix + key!r} must be {_describe(hints[key])}, "
                        f"got {type(value).__name__} {value!r}")
        if not _finite(converted):
            raise error(f"{head}{what} {prefix + key!r} must be a finite number, got {value!r}")
        values[key] = converted
    for name, f in known.items():
        if name not in values and f.default is dataclasses.MISSING and \
                f.default_factory is dataclasses.MISSING:
            raise error(f"{head}{what} {prefix + name!r} is required")
    return values


def _finite(value: Any) -> bool:
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, tuple | list):
        return all(_finite(v) for v in value)
    return True


def _convert(kind: Any, value: Any) -> Any:
    """``value`` as a ``kind``, or ``_NO_VALUE`` where it is not one."""
    origin, args = typing.get_origin(kind), typing.get_args(kind)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        for option in args:
            converted = _convert(option, value)
            if converted is not _NO_VALUE:
                return converted
        return _NO_VALUE
    if kind is bool:
        return value if isinstance(value, bool) else _NO_VALUE
    if isinstance(value, bool):  # a bool is an int to Python, never to a config
        return _NO_VALUE
    if kind is int:
        return value if isinstance(value, int) else _NO_VALUE
    if kind is float:
        return float(value) if isinstance(value, int | float) else _NO_VALUE
    if kind is str:
        return value if isinstance(value, str) else _NO_VALUE
    if origin in (list, tuple) and isinstance(value, list | tuple):
        items = args if origin is tuple and Ellipsis not in args else (args[0],) * len(value)
        if len(items) != len(value):
            return _NO_VALUE
        converted = [_convert(k, v) for k, v in zip(items, value, strict=True)]
        if any(c is _NO_VALUE for c in converted):
            return _NO_VALUE
        return tuple(converted) if origin is tuple else converted
    if origin is dict and isinstance(value, dict):
        return value
    return _NO_VALUE


def _describe(kind: Any) -> str:
    origin, args = typing.get_origin(kind), typing.get_args(kind)
    if origin in (typing.Union, types.UnionType):
        return " or ".join("null" if a is type(None) else _describe(a) for a in args)
    if origin is tuple:
        if Ellipsis in args:
            return f"a list of {_describe(args[0]).removeprefix('a ')}s"
        return f"a list of {len(args)} {_describe(args[0]).removeprefix('a ')}s"
    if origin is list:
        return f"a list of {_describe(args[0]).removeprefix('a ').removeprefix('an ')}s"
    return {bool: "bool (true or false)", int: "an integer", float: "a number",
            str: "a string", dict: "a table"}.get(kind, str(kind))
