"""An interpreter without GRIB support, as the desktop installer is without its GRIB
add-on (or a Python environment without cfgrib and ecCodes): the packages cannot be
imported, whichever test imported them before."""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import sys
from collections.abc import Sequence
from types import ModuleType

import pytest

GRIB_PACKAGES = ("cfgrib", "eccodes", "gribapi", "eccodeslib", "eckitlib")


class _Absent(importlib.abc.MetaPathFinder):
    """First on ``sys.meta_path``: the GRIB packages are not found, so importing one
    raises the ModuleNotFoundError (with its ``name``) that a missing package raises."""

    def find_spec(self, fullname: str, path: Sequence[str] | None = None,
                  target: ModuleType | None = None) -> importlib.machinery.ModuleSpec | None:
        if fullname.split(".")[0] in GRIB_PACKAGES:
            raise ModuleNotFoundError(f"No module named {fullname!r}", name=fullname)
        return None


def without_grib(monkeypatch: pytest.MonkeyPatch) -> None:
    """Hide the GRIB packages until the test ends (monkeypatch restores both the loaded
    modules and the import path)."""
    for name in list(sys.modules):
        if name.split(".")[0] in GRIB_PACKAGES:
            monkeypatch.delitem(sys.modules, name)
    monkeypatch.setattr(sys, "meta_path", [_Absent(), *sys.meta_path])
