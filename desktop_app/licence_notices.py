"""Licences of the third-party components the app ships with or runs on.

The installer build (``packaging/``) writes :data:`NOTICE_FILE` into the bundle from the
distributions it really collected, and :data:`GRIB_NOTICE_FILE` into the GRIB add-on
from the ones that went there; the About dialog shows the first, followed by the second
once the add-on is unpacked into the installation. Run from a source
tree or a pip install, there is no such file, so the notice is made on the fly from the
installed runtime dependencies of ``microclimate-desk`` (no extras).

Everything comes from the installed distributions' metadata (``importlib.metadata``):
the licence expression or classifier, and the licence files the wheel ships.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from importlib import metadata
from pathlib import Path
from typing import Any

from desktop_app.paths import install_root

APP_DIST = "microclimate-desk"
NOTICE_FILE = "THIRD_PARTY_LICENSES.txt"
GRIB_NOTICE_FILE = "THIRD_PARTY_LICENSES-grib.txt"  # (the GRIB add-on's, beside it)
_LICENCE_FILE = re.compile(r"(^|/)(LICEN[CS]E|COPYING|NOTICE|ThirdPartyNotices)[^/]*$",
                           re.IGNORECASE)
_RULE = "=" * 78


def _field(dist_or_meta: Any, key: str) -> str:
    """A metadata field, "" when absent (PackageMetadata is an email Message)."""
    meta = getattr(dist_or_meta, "metadata", dist_or_meta)
    return str(meta.get(key) or "")


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def app_licence() -> str:
    """The app's own licence expression, from its installed metadata."""
    try:
        meta = metadata.metadata(APP_DIST)
    except metadata.PackageNotFoundError:
        return "unknown (not installed)"
    return _field(meta, "License-Expression") or _field(meta, "License") or "unknown"


def licence_summary(dist: metadata.Distribution) -> str:
    """One line: the SPDX expression, else a short License field, else the classifiers."""
    expression = _field(dist, "License-Expression")
    if expression:
        return expression
    field = _field(dist, "License").strip()
    if field and "\n" not in field and len(field) <= 80:
        return field
    classifiers = [c.split(" :: ")[-1] for c in dist.metadata.get_all("Classifier") or []
                   if c.startswith("License ::")]
    if classifiers:
        return "; ".join(classifiers)
    return "see the licence text below" if field else "not stated in the package metadata"


def licence_files(dist: metadata.Distribution) -> list[tuple[str, str]]:
    """(path inside the install, text) of every licence/notice file the wheel ships."""
    found = []
    for entry in dist.files or []:
        if not _LICENCE_FILE.search(str(entry)) or str(entry).endswith(".py"):
            continue
        try:
            text = Path(str(entry.locate())).read_text(encoding="utf-8", errors="replace")
        except OSError:  # listed in RECORD but not on disk
            continue
        found.append((str(entry), text))
    return found


def runtime_distributions(root: str = APP_DIST) -> list[metadata.Distribution]:
    """The installed dependency closure of ``root`` without extras (root excluded)."""
    from packaging.requirements import Requirement  # (0.05 s: not at the window's start)

    seen: dict[str, metadata.Distribution] = {}
    todo = [root]
    while todo:
        name = todo.pop()
        key = canonical(name)
        if key in seen:
            continue
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue  # an optional or platform-specific requirement that is not installed
        seen[key] = dist
        for text in dist.requires or []:
            req = Requirement(text)
            if req.marker is None or req.marker.evaluate({"extra": ""}):
                todo.append(req.name)
    seen.pop(canonical(root), None)
    return sorted(seen.values(), key=lambda d: canonical(d.metadata["Name"]))


def render_notice(dists: Iterable[metadata.Distribution], extra_sections: Iterable[
        tuple[str, str]] = ()) -> str:
    """A plain-text notice: a summary table, then each component's licence texts."""
    dists = list(dists)
    lines = ["Third-party components of Microclimate Desk", "",
             f"Microclimate Desk itself: {app_licence()}", "",
             "Python packages:", ""]
    for dist in dists:
        meta = dist.metadata
        lines.append(f"  {meta['Name']} {dist.version}: {licence_summary(dist)}")
    lines.append("")
    for dist in dists:
        meta = dist.metadata
        lines += [_RULE, f"{meta['Name']} {dist.version}", f"Licence: {licence_summary(dist)}"]
        if _field(meta, "Home-page"):
            lines.append(f"Home page: {_field(meta, 'Home-page')}")
        files = licence_files(dist)
        if not files:
            lines += ["(the package ships no licence file; the licence named above applies)",
                      ""]
        for path, text in files:
            lines += ["", f"--- {path} ---", text.rstrip(), ""]
    for title, text in extra_sections:
        lines += [_RULE, title, "", text.rstrip(), ""]
    return "\n".join(lines) + "\n"


def bundled_notice_path() -> Path:
    return install_root() / NOTICE_FILE


def notice_text() -> str:
    """The bundle's notice file (and the GRIB add-on's, when it is installed) if there is
    one, else one made from the installed deps."""
    path = bundled_notice_path()
    if not path.is_file():
        return render_notice(runtime_distributions())
    text = path.read_text(encoding="utf-8", errors="replace")
    addon = path.with_name(GRIB_NOTICE_FILE)
    if addon.is_file():
        text = (text.rstrip() + f"\n\n{_RULE}\n{_RULE}\nTHE GRIB ADD-ON (installed in this "
                f"folder: {addon.name})\n\n"
                + addon.read_text(encoding="utf-8", errors="replace"))
    return text
