"""Keep xarray from importing Dask until something uses Dask.

xarray asks of every array it wraps whether it is a Dask array, and answers by importing
``dask`` and ``dask.array`` (with SciPy's FFT) the first time: about a second of the
window's start-up where the optional ``cluster`` extra is installed, for a question whose
answer is "no" until Dask itself has been imported (no object can be a Dask collection
before its class exists). :func:`defer_dask` makes xarray answer that without the import,
and hands over to the real checks as soon as Dask is imported (``microclimate batch``,
"Run on cluster"). It touches two xarray internals; where they have moved it does
nothing, and xarray is only slower to start.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any


class _DaskArrayTypeWhenLoaded:
    """Stands in for xarray's cached ``DuckArrayModule("dask")`` until Dask is loaded."""

    def __init__(self, cache: dict[str, Any], real: Callable[[str], Any]) -> None:
        self._cache, self._real = cache, real

    def __getattr__(self, name: str) -> Any:
        if name == "type" and "dask.array" not in sys.modules:
            return ()  # no Dask array can exist yet
        module = self._real("dask")  # what xarray would have built: from now on, its own
        self._cache["dask"] = module
        return getattr(module, name)


def defer_dask() -> bool:
    """Install the deferral (once); False where xarray's internals are not as expected."""
    if "dask" in sys.modules:
        return False  # already paid for
    try:
        from xarray.namedarray import pycompat, utils

        # Any: these are xarray's private names, typed for its own use
        cache: Any = pycompat._cached_duck_array_modules
        real_module: Any = pycompat.DuckArrayModule
        real_is_collection: Any = utils.is_dask_collection
    except (ImportError, AttributeError):
        return False
    if getattr(real_is_collection, "deferred", False):
        return True

    def is_dask_collection(x: object) -> bool:
        return "dask" in sys.modules and bool(real_is_collection(x))

    is_dask_collection.deferred = True  # type: ignore[attr-defined]
    cache.setdefault("dask", _DaskArrayTypeWhenLoaded(cache, real_module))
    utils.is_dask_collection = is_dask_collection  # type: ignore[assignment]
    return True
