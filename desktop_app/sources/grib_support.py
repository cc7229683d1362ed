"""Whether GRIB files can be read here, and what to tell a user when they cannot.

GRIB is read with cfgrib on ecCodes (and the eckit libraries ecCodes links): about
60 MiB that most forecasters never load, since the CDS fetch asks for NetCDF. The desktop
installer therefore ships them as a separate add-on archive
(``microclimate-grib-VERSION-PLATFORM.tar.gz``, see packaging/README.md); a Python
install has them as ordinary dependencies. Every place that accepts a GRIB file calls
:func:`require_grib` first, so a missing add-on is one clear line naming the file, never
an ImportError or xarray's "unrecognized engine".

The add-on's compiled libraries are built against one installer's Python, NumPy and
bundled libraries: an add-on of another version could fail to load or crash. Its archive
carries :data:`ADDON_STAMP` (the version it was built for), and :func:`require_grib`
refuses an add-on of another version, or one without a stamp, before importing anything
of it.
"""

from __future__ import annotations

import json
import platform
import sys
from pathlib import Path

from desktop_app.errors import GribSupportMissingError

__all__ = ["ADDON_STAMP", "addon_archive_name", "addon_problem", "how_to_get_grib",
           "require_grib"]

ADDON_STAMP = "microclimate-grib-addon.json"  # in the add-on's _internal: {"version": ...}


def addon_archive_name() -> str:
    """The GRIB add-on built for this installer's version and platform (packaging/build.py
    names it the same way)."""
    from desktop_app import __version__

    system = {"linux": "linux", "darwin": "macos", "win32": "windows"}.get(sys.platform,
                                                                           sys.platform)
    suffix = ".zip" if sys.platform == "win32" else ".tar.gz"
    return f"microclimate-grib-{__version__}-{system}-{platform.machine().lower()}{suffix}"


def how_to_get_grib() -> str:
    """One sentence: where GRIB support comes from for this kind of install."""
    if getattr(sys, "frozen", False):
        folder = Path(sys.executable).resolve().parent
        archive = addon_archive_name()
        unpack = (f"unpack it into {folder}" if sys.platform == "win32" else
                  f"tar -xzf {archive} --strip-components=1 -C {folder}")
        return ("GRIB support is not installed (the installer leaves it out); get the GRIB "
                f"add-on {archive} and unpack it into this installation ({unpack}), or "
                "convert the file to NetCDF")
    return ("GRIB support is not installed in this Python environment (cfgrib and ecCodes "
            "are missing): pip install cfgrib eccodes")


def addon_problem(internal: Path, version: str) -> str | None:
    """Why the GRIB add-on unpacked into the installer folder ``internal`` (its
    ``_internal``) cannot be used by app ``version``, or None (none there, or it fits)."""
    stamp = internal / ADDON_STAMP
    if not stamp.is_file():
        if (internal / "cfgrib").exists():
            return "the GRIB add-on in this installation carries no version stamp (older build)"
        return None
    try:
        found = json.loads(stamp.read_text(encoding="utf-8"))["version"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        return f"the GRIB add-on's version stamp {stamp} is unreadable ({exc})"
    if found != version:
        return (f"the GRIB add-on in this installation is for version {found}, "
                f"this is version {version}")
    return None


def require_grib(path: Path | str) -> None:
    """Load cfgrib and ecCodes for the GRIB file ``path``, or raise
    :class:`GribSupportMissingError` naming it and saying how to get GRIB support."""
    if getattr(sys, "frozen", False):
        from desktop_app import __version__
        from desktop_app.paths import install_root

        problem = addon_problem(install_root(), __version__)
        if problem:  # checked before any of its libraries is loaded
            raise GribSupportMissingError(f"cannot read GRIB file {path}: {problem}; "
                                          f"{how_to_get_grib()}")
    try:
        import cfgrib  # noqa: F401
        import eccodes  # noqa: F401
    except ModuleNotFoundError as exc:
        if (exc.name or "").split(".")[0] not in ("cfgrib", "eccodes", "gribapi", "findlibs",
                                                  "eccodeslib", "eckitlib"):
            raise  # something else is broken: not ours to hide behind the hint
        raise GribSupportMissingError(f"cannot read GRIB file {path}: {how_to_get_grib()}"
                                      ) from exc
    except (RuntimeError, OSError) as exc:  # gribapi: "Cannot find the ecCodes library"
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise GribSupportMissingError(
            f"cannot read GRIB file {path}: the ecCodes library does not load ({first}); "
            f"{how_to_get_grib()}") from exc
