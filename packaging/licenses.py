"""Build-time half of the licence notice: which distributions the bundle really holds.

Used by ``microclimate.spec`` after PyInstaller's analysis: every collected module and
file is mapped to the installed distribution that provides it (top-level import name ->
distribution, via ``importlib.metadata.packages_distributions``); system libraries the
bundle copies (Linux) are mapped to their Debian package's copyright file. The text is
rendered by :mod:`desktop_app.licence_notices`, the same code the About dialog falls back on.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import sysconfig
from collections.abc import Iterable
from importlib import metadata
from pathlib import Path

from desktop_app.licence_notices import APP_DIST, canonical, render_notice


def top_level_names(modules: Iterable[str], dest_paths: Iterable[str]) -> set[str]:
    names = {m.split(".")[0] for m in modules}
    for dest in dest_paths:
        first = Path(dest).parts[0]
        if first != dest:  # inside a package folder, e.g. PySide6/Qt/lib/...
            names.add(first.removesuffix(".libs"))
    return names


def bundled_distributions(names: set[str]) -> list[metadata.Distribution]:
    mapping = metadata.packages_distributions()
    found: dict[str, metadata.Distribution] = {}
    for name in names:
        for dist_name in mapping.get(name, []):
            if canonical(dist_name) in (APP_DIST, "pyinstaller"):
                continue
            dist = metadata.distribution(dist_name)
            found[canonical(dist.metadata["Name"])] = dist
    return sorted(found.values(), key=lambda d: canonical(d.metadata["Name"]))


def python_section() -> tuple[str, str]:
    version = ".".join(map(str, sys.version_info[:3]))
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    short = f"python{sys.version_info[0]}.{sys.version_info[1]}"
    for candidate in (stdlib / "LICENSE.txt", Path(sys.base_prefix) / "LICENSE.txt",
                      Path("/usr/share/doc") / short / "copyright"):  # Debian's python3
        if candidate.is_file():
            return f"Python {version} (interpreter and standard library)", candidate.read_text(
                encoding="utf-8", errors="replace")
    return (f"Python {version} (interpreter and standard library)",
            "Python Software Foundation License Version 2 (PSF-2.0); the full text was not "
            "found on the build machine: https://docs.python.org/3/license.html")


def system_library_sections(binaries: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    """Copyright files of the Debian packages whose libraries the bundle copied."""
    if not shutil.which("dpkg-query"):
        return []
    by_package: dict[str, list[str]] = {}
    for dest, src in binaries:
        if "/" in dest or not src.startswith(("/usr/lib", "/lib")):
            continue
        proc = subprocess.run(["dpkg-query", "-S", src], capture_output=True, text=True)
        if proc.returncode != 0:
            proc = subprocess.run(["dpkg-query", "-S", str(Path(src).resolve())],
                                  capture_output=True, text=True)
        package = proc.stdout.split(":")[0].strip() if proc.returncode == 0 else ""
        by_package.setdefault(package or "(unknown package)", []).append(dest)
    sections = []
    for package, libs in sorted(by_package.items()):
        copyright_file = Path("/usr/share/doc") / package / "copyright"
        text = (copyright_file.read_text(encoding="utf-8", errors="replace")
                if copyright_file.is_file() else "(no copyright file found on the build machine)")
        sections.append((f"System library package {package}: {', '.join(sorted(libs))}", text))
    return sections


def write_notice(path: Path, modules: Iterable[str],
                 binaries: list[tuple[str, str]], datas: Iterable[str]) -> list[str]:
    """Write the notice for a bundle; returns the distribution names it lists."""
    dists = bundled_distributions(top_level_names(modules, [d for d, _ in binaries] + list(
        datas)))
    extra = [python_section(), *system_library_sections(binaries)]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_notice(dists, extra), encoding="utf-8")
    return [d.metadata["Name"] for d in dists]
