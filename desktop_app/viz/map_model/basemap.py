"""Natural Earth lines and places bundled in ``resources/basemap`` (see its MANIFEST),
the scale picked by zoom, and the graticule and scale bar computed for a view."""

from __future__ import annotations

import hashlib
import json
import math
import os
import shutil
from functools import cache
from pathlib import Path

import numpy as np

from desktop_app import paths
from desktop_app.errors import DataFileError
from desktop_app.fsutil import NPZ_UNREADABLE
from desktop_app.viz.map_model.primitives import View

# in a source tree resources/basemap, in the installer the same folder inside the bundle
BASEMAP_DIR = paths.resources_dir() / "basemap"
QUANTUM = 1e-4  # degrees per stored unit (make_basemap.py)
KINDS = ("coastline", "border", "lake", "river")
_PARTS = ("xy", "starts", "boxes")  # what _load keeps of each kind
KM_PER_DEG = 111.32


def scale_for(view: View) -> str:
    """Natural Earth scale for a view: 1:10m for regions, 1:50m for a continent."""
    if view.span <= 12.0:
        return "10m"
    return "50m" if view.span <= 60.0 else "110m"


@cache
def _load(scale: str) -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """kind -> (vertices lon/lat float64, part starts, part bounding boxes).

    The bundled files are compressed and delta-coded; decoding the 1:10m one took 0.1 s
    of every launch. The decoded arrays are kept in the user's cache, one ``.npy`` file
    each, and mapped rather than read (the 1:10m lines are 11 MB, of which a region
    touches a few hundred kB: reading them all took 30 ms of every launch). The folder
    is named after the bundled file's name, size and modification time: another file,
    another folder, never a stale coastline. The arrays are read-only."""
    path = BASEMAP_DIR / f"basemap_{scale}.npz"
    try:
        st = path.stat()
    except OSError as exc:
        raise DataFileError(f"basemap file {path} cannot be read: {exc}") from exc
    stamp = f"{path.name} {st.st_size} {st.st_mtime_ns}".encode()
    decoded = paths.cache_dir() / (
        f"basemap_{scale}_{hashlib.blake2b(stamp, digest_size=12).hexdigest()}")
    try:
        return {kind: tuple(np.load(decoded / f"{kind}_{part}.npy", mmap_mode="r")
                            for part in _PARTS) for kind in KINDS}
    except NPZ_UNREADABLE:
        pass  # not decoded yet, or unreadable: decoded again and rewritten
    try:
        with np.load(path) as data:
            out = {kind: _decode(data[f"{kind}_xy"], data[f"{kind}_starts"]) for kind in KINDS}
    except NPZ_UNREADABLE as exc:
        raise DataFileError(f"basemap file {path} cannot be read: {exc}") from exc
    _keep(decoded, {f"{kind}_{part}": array for kind, parts in out.items()
                    for part, array in zip(_PARTS, parts, strict=True)})
    for stale in decoded.parent.glob(f"basemap_{scale}_*"):  # an earlier install's
        if stale == decoded or stale.name.endswith(".part"):
            continue
        if stale.is_dir():
            shutil.rmtree(stale, ignore_errors=True)
        else:  # (the single .npz of earlier versions)
            stale.unlink(missing_ok=True)
    return out


def _keep(folder: Path, arrays: dict[str, np.ndarray]) -> None:
    """Write ``arrays`` as ``folder/NAME.npy``, the folder renamed into place whole (a
    cache: where it cannot be written, nothing is kept)."""
    part = folder.with_name(f"{folder.name}.{os.getpid()}.part")
    try:
        shutil.rmtree(folder, ignore_errors=True)  # (an unreadable one)
        part.mkdir(parents=True, exist_ok=True)
        for name, array in arrays.items():
            np.save(part / f"{name}.npy", array)
        os.replace(part, folder)
    except OSError:
        shutil.rmtree(part, ignore_errors=True)


def _decode(deltas: np.ndarray, starts: np.ndarray) -> tuple[np.ndarray, np.ndarray,
                                                             np.ndarray]:
    deltas = deltas.astype(np.int64)
    # delta-coded per part: a cumulative sum that restarts at each part's first vertex
    part_of = np.repeat(np.arange(starts.size), np.diff(np.append(starts, len(deltas))))
    total = np.cumsum(deltas, axis=0)
    base = np.vstack([np.zeros((1, 2), np.int64), total[starts[1:] - 1]])
    xy = (total - base[part_of]) * QUANTUM
    boxes = np.hstack([np.minimum.reduceat(xy, starts), np.maximum.reduceat(xy, starts)])
    return xy, starts, boxes


def lines_in(kind: str, view: View, scale: str | None = None) -> list[np.ndarray]:
    """Parts of one kind of line that touch the view, at the view's scale."""
    xy, starts, boxes = _load(scale or scale_for(view))[kind]
    hit = np.flatnonzero((boxes[:, 0] <= view.east) & (boxes[:, 2] >= view.west)
                         & (boxes[:, 1] <= view.north) & (boxes[:, 3] >= view.south))
    ends = np.append(starts, len(xy))
    return [xy[ends[k]:ends[k + 1]] for k in hit]


@cache
def places() -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
    path = BASEMAP_DIR / "places.json"
    try:
        rows = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise DataFileError(f"places file {path} cannot be read: {exc}") from exc
    return (np.array([r["lon"] for r in rows], float), np.array([r["lat"] for r in rows], float),
            tuple(str(r["name"]) for r in rows))


def graticule_step(span_deg: float) -> float:
    """A step in degrees giving 3-6 lines: 1-2-5 decades, or 10/15/30 minute steps."""
    for step in (0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 15.0, 30.0):
        if span_deg / step <= 5:
            return step
    return 45.0


def degree_text(value: float, positive: str, negative: str, step: float) -> str:
    decimals = 0 if step >= 1 else 1 if step >= 0.1 else 2
    if step == 0.25:
        decimals = 2
    hemisphere = positive if value > 1e-9 else negative if value < -1e-9 else ""
    return f"{abs(value):.{decimals}f}°{hemisphere}"


def scale_bar_km(view: View) -> float:
    """A round length near a fifth of the view's width, in km."""
    mid = 0.5 * (view.south + view.north)
    width_km = (view.east - view.west) * KM_PER_DEG * math.cos(math.radians(mid))
    target = width_km / 5
    magnitude = 10.0 ** math.floor(math.log10(max(target, 1e-6)))
    for m in (5.0, 2.0, 1.0):
        if m * magnitude <= target:
            return m * magnitude
    return magnitude
