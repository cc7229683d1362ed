"""The GRIB add-on: which files of the PyInstaller bundle leave the default installer.

GRIB reading (cfgrib, ecCodes, the eckit libraries ecCodes links and what their wheels
vendor) is ~60 MiB that a forecaster who fetches NetCDF from the CDS never loads. The
spec collects those packages as files on disk (``module_collection_mode`` "pyc", not in
the PYZ archive), so that the bundle with them is the bundle without them plus a set of
files: :func:`split_grib` names that set, ``build.py`` moves it into the add-on archive,
and unpacking the archive over an installation puts every file back where PyInstaller
put it (imported from ``_internal`` by the frozen app's ordinary path finder, libraries
found through their RPATH as in the venv).

Their small pure-Python dependencies (cffi, pycparser, attrs, click, findlibs, whose
PyInstaller runtime hook imports it at every start) stay in the base: the analysis saw
them through the GRIB packages and the split only takes the GRIB packages' own files.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import elfutil  # packaging/elfutil.py

# the packages collected as files ("pyc") so that they can move to the add-on
GRIB_PACKAGES = ("cfgrib", "eccodes", "gribapi", "eccodeslib", "eckitlib")
# top-level folders of _internal that belong to the add-on (auditwheel's vendored libraries
# included) and the distributions whose metadata goes with them (cfgrib's carries xarray's
# backend entry point: without the add-on, xarray must not offer an engine it cannot load)
GRIB_FOLDERS = frozenset(GRIB_PACKAGES) | {f"{p}.libs" for p in GRIB_PACKAGES}
GRIB_DISTS = frozenset({"cfgrib", "eccodes", "eccodeslib", "eckitlib", "gribapi"})

Entry = tuple[str, str, str]


def _top(path: str) -> str:
    return path.replace("\\", "/").split("/")[0]


def _dist_of(folder: str) -> str | None:
    if not folder.endswith((".dist-info", ".egg-info")):
        return None
    return folder.rsplit(".", 1)[0].split("-")[0].lower().replace("_", "-")


def is_grib(entry: Entry) -> bool:
    """A TOC entry the add-on carries: a file under a GRIB folder, GRIB metadata, or one
    of the top-level links PyInstaller adds to a library in a GRIB folder."""
    dest, src, typecode = entry[:3]
    top = _top(dest)
    if top in GRIB_FOLDERS or _dist_of(top) in GRIB_DISTS:
        return True
    return typecode == "SYMLINK" and _top(src) in GRIB_FOLDERS


def _needs(entries: Iterable[Entry]) -> set[str]:
    return set().union(*(elfutil.needed(Path(src)) for _, src, kind, *_ in entries
                         if kind in ("BINARY", "EXTENSION")))


def split_grib(binaries: list[Entry], datas: list[Entry]
               ) -> tuple[list[Entry], list[Entry], set[str]]:
    """(binaries, datas, add-on destinations). Two repairs keep both halves whole:

    - a top-level link into a GRIB folder that a base library loads by that name (the
      system's libfreetype needs ``libpng16.so.16``, which PyInstaller satisfied with the
      link to ecCodes' copy) becomes a real copy in the base;
    - a loose top-level library that only add-on binaries need goes with the add-on
      (repeated until nothing changes, as the spec's orphans)."""
    addon = {e[0] for e in binaries + datas if is_grib(e)}
    real = {e[0]: e[1] for e in binaries}
    base_needs = _needs(e for e in binaries if e[0] not in addon)
    kept_links = [e for e in datas if e[0] in addon and e[2] == "SYMLINK" and "/" not in e[0]
                  and e[0] in base_needs and e[1] in real]
    for dest, target, _ in kept_links:
        addon.discard(dest)
        binaries.append((dest, real[target], "BINARY"))
    datas = [e for e in datas if e not in kept_links]
    loose = {e[0] for e in binaries if "/" not in e[0] and e[0].startswith("lib")
             and ".cpython-" not in e[0]}
    while True:
        wanted = _needs(e for e in binaries if e[0] not in addon)
        freed = _needs(e for e in binaries if e[0] in addon)
        moving = {lib for lib in loose - addon if lib in freed and lib not in wanted}
        if not moving:
            return binaries, datas, addon
        addon |= moving
