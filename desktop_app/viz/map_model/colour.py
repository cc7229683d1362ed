"""The one colour policy: limits, colormap, ticks and label for a field, used by the
screen and the PNG alike. Differences get a symmetric range about zero (the diverging
colormap's middle means "no difference") and say that they are a difference."""

from __future__ import annotations

import threading
import weakref

import numpy as np

from desktop_app.core.display import DisplayUnits, conversion, nice_limits, tick_text
from desktop_app.core.variables import VARIABLES
from desktop_app.viz.map_model.primitives import ColourScale

DIVERGING = "coolwarm"
DEFAULT_COLORMAPS = {
    "temperature": "coolwarm",
    "dewpoint_temperature": "coolwarm",
    "relative_humidity": "GrBu",
    "surface_pressure": "viridis",
    "mean_sea_level_pressure": "viridis",
    "wind_speed": "viridis",
    "precipitation": "GrBu",
}


def default_cmap(variable: str, difference: bool = False) -> str:
    return DIVERGING if difference else DEFAULT_COLORMAPS.get(variable, "viridis")


RANGE_BLOCK = 2**20  # values per block (4 MB of float32: stays in cache)


# array id -> (weak reference to it, its range): a variable shown again, or one whose
# range prime_ranges worked out in the background, costs no pass over its frames. Keyed
# by the array object: the stacks the window shows are never changed in place.
_RANGES: dict[int, tuple[weakref.ref[np.ndarray], tuple[float, float] | None]] = {}
_RANGES_LOCK = threading.Lock()


def value_range(values: np.ndarray) -> tuple[float, float] | None:
    """Smallest and largest finite value, None when there is none. Reads the array in
    place: a week of hourly 1024x1024 frames is 672 MB of float32, and a float64 copy
    (or a copy of its finite values) doubled the memory and froze the window."""
    if isinstance(values, np.ndarray):
        with _RANGES_LOCK:
            known = _RANGES.get(id(values))
        if known is not None and known[0]() is values:
            return known[1]
    found = _scan_range(np.asarray(values))
    if isinstance(values, np.ndarray) and values.size >= RANGE_BLOCK:
        with _RANGES_LOCK:  # only big stacks: small ones are quick to scan again
            for key in [k for k, (ref, _) in _RANGES.items() if ref() is None]:
                del _RANGES[key]
            _RANGES[id(values)] = (weakref.ref(values), found)
    return found


def prime_ranges(stacks: list[np.ndarray]) -> threading.Thread | None:
    """Work out the ranges of ``stacks`` on a background thread (numpy lets go of the
    interpreter lock while it reduces), so switching to one of them later does not
    block the caller's thread for a pass over the frames."""
    todo = [s for s in stacks if isinstance(s, np.ndarray) and s.size >= RANGE_BLOCK]
    if not todo:
        return None
    thread = threading.Thread(target=lambda: [value_range(s) for s in todo],
                              name="colour-ranges", daemon=True)
    thread.start()
    return thread


def _scan_range(arr: np.ndarray) -> tuple[float, float] | None:
    if arr.size == 0:
        return None
    flat = arr.reshape(-1)  # (a view for the C-ordered stacks xarray hands over)
    lo, hi = np.inf, -np.inf
    # block by block, so the maximum reads from cache what the minimum just read from
    # memory; fmin/fmax skip NaN (an all-NaN block gives NaN, skipped in turn) and,
    # unlike nanmin, warn about nothing (warning filters are not thread-safe)
    for start in range(0, flat.size, RANGE_BLOCK):
        block = flat[start:start + RANGE_BLOCK]
        lo = np.fmin(lo, np.fmin.reduce(block))
        hi = np.fmax(hi, np.fmax.reduce(block))
    lo, hi = float(lo), float(hi)
    if not (np.isfinite(lo) and np.isfinite(hi)):  # all NaN, or an infinity present
        finite = arr[np.isfinite(arr)]
        if not finite.size:
            return None
        lo, hi = float(finite.min()), float(finite.max())
    return lo, hi


def field_label(variable: str, difference: bool, unit_symbol: str) -> str:
    var = VARIABLES.get(variable)
    name = var.long_name if var else variable.replace("_", " ")
    if difference:
        return f"Difference: {name}, forecast − baseline ({unit_symbol})"
    return f"{name} ({unit_symbol})"


def colour_scale(values: np.ndarray, variable: str, *, difference: bool = False,
                 units: DisplayUnits | None = None, cmap: str | None = None,
                 stepped: bool = False) -> ColourScale:
    """The colour scale for ``values`` (all valid times, so a colour means one value
    throughout) of ``variable`` in its stored units."""
    var = VARIABLES.get(variable)
    conv = conversion(var.units if var else "", units or DisplayUnits(), difference)
    found = value_range(values)
    lo, hi = found or (0.0, 1.0)
    lo_d, hi_d = sorted((float(conv(lo)), float(conv(hi))))
    if difference:
        lim = max(abs(lo_d), abs(hi_d), 0.1)
        lo_d, hi_d = -lim, lim
    lo_d, hi_d, step = nice_limits(lo_d, hi_d, symmetric=difference)
    ticks = tuple((float(conv.inverse(v)), tick_text(v, step))
                  for v in np.arange(lo_d, hi_d + step / 2, step))
    clim = (float(conv.inverse(lo_d)), float(conv.inverse(hi_d)))
    return ColourScale(cmap=cmap or default_cmap(variable, difference), clim=clim,
                       ticks=ticks, label=field_label(variable, difference, conv.symbol),
                       difference=difference,
                       steps=len(ticks) - 1 if stepped else None, empty=found is None)
