"""Build the Microclimate Desk desktop bundle: one command, run from any folder.

    python packaging/build.py [--dist DIR] [--with-cuda] [--no-deb] [--no-archive]

Compiles the QC kernels ahead of time (``packaging/build_qc_aot.py``), then runs
PyInstaller on ``packaging/microclimate.spec`` (onedir) with the Python that runs
this script (the project's venv, with the package installed and the ``dev`` extra, which
brings PyInstaller), then packs what the platform allows:

- ``DIST/microclimate/``             the bundle folder (run ``microclimate`` in it)
- ``DIST/microclimate-VERSION-linux-x86_64.tar.gz``   (``.zip`` on Windows)
- ``DIST/microclimate-desk_VERSION_amd64.deb``        Linux, when ``dpkg-deb`` exists;
  installs the folder to /opt/microclimate-desk and a ``microclimate`` link in /usr/bin.
- ``DIST/microclimate-grib-VERSION-linux-x86_64.tar.gz``  the GRIB add-on (cfgrib, ecCodes,
  eckit; ``DIST/grib-addon/microclimate`` unpacked): the bundle leaves GRIB out, and
  ``tar -xzf ADDON --strip-components=1 -C INSTALL_FOLDER`` puts it back (addons.py).

The default bundle runs models on the CPU: onnxruntime's CUDA/TensorRT provider
libraries (about 270 MB, useless without an NVIDIA GPU) are left out. ``--with-cuda``
builds the separate GPU download with them (archive name ending in ``-cuda``, no .deb).

Linux is what is built and tested here; Windows and macOS are untested (see README.md).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import struct
import subprocess
import sys
import tarfile
import time
import tomllib
from pathlib import Path

import build_qc_aot  # packaging/build_qc_aot.py
import elfutil  # packaging/elfutil.py (this script's folder is first on sys.path)

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SPEC = HERE / "microclimate.spec"
GRIB_LIST = "grib-addon-files.txt"  # the spec's list of the GRIB add-on's files, in --work
NAME = "microclimate"
DEB_DEPENDS = (  # system libraries the bundle does not carry (X11/GL/fonts)
    "libc6, libstdc++6, libgl1, libegl1, libfontconfig1, libglib2.0-0, libdbus-1-3, "
    "libxkbcommon-x11-0, libxcb-cursor0, libxcb-icccm4, libxcb-image0, libxcb-keysyms1, "
    "libxcb-randr0, libxcb-render-util0, libxcb-shape0, libxcb-xinerama0, libxcb-xkb1"
)


def project_version() -> str:
    data = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    return str(data["project"]["version"])


def platform_tag() -> str:
    system = {"linux": "linux", "darwin": "macos", "win32": "windows"}.get(sys.platform,
                                                                           sys.platform)
    return f"{system}-{platform.machine().lower()}"


def run_pyinstaller(dist: Path, work: Path, with_cuda: bool) -> Path:
    work.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, "-m", "PyInstaller", str(SPEC), "--noconfirm", "--clean",
           "--log-level", "WARN", "--distpath", str(dist), "--workpath", str(work),
           "--", "--grib-list", str(work / GRIB_LIST)]
    if with_cuda:
        cmd += ["--with-cuda"]
    print("$ " + " ".join(cmd), flush=True)
    subprocess.run(cmd, check=True, cwd=ROOT)
    bundle = dist / NAME
    for name in ("THIRD_PARTY_LICENSES.txt",):  # also next to the executable, to be seen
        shutil.copy2(bundle / "_internal" / name, bundle / name)
    return bundle


def make_archive(bundle: Path, version: str, level: int = 6, suffix: str = "",
                 name: str = NAME) -> Path:
    base = bundle.parent / f"{name}-{version}-{platform_tag()}{suffix}"
    if sys.platform == "win32":
        return Path(shutil.make_archive(str(base), "zip", bundle.parent, bundle.name))
    target = base.with_name(base.name + ".tar.gz")
    tmp = target.with_name(target.name + ".part")
    with tarfile.open(tmp, "w:gz", compresslevel=level) as tar:
        tar.add(bundle, arcname=NAME)
    os.replace(tmp, target)
    return target


def split_grib_addon(bundle: Path, listing: Path, version: str) -> Path:
    """Move the GRIB add-on's files (the spec's list, paths under ``_internal``) out of
    the bundle into ``DIST/grib-addon/microclimate``, laid out as in the bundle, so that
    unpacking the add-on over an installation restores the files exactly; the add-on's
    version stamp goes with them (the app refuses an add-on of another version)."""
    from desktop_app.sources.grib_support import ADDON_STAMP

    addon = bundle.parent / "grib-addon" / NAME
    shutil.rmtree(addon.parent, ignore_errors=True)
    internal = bundle / "_internal"
    emptied: set[Path] = set()
    for line in listing.read_text(encoding="utf-8").splitlines():
        src = internal / line
        if not (src.exists() or src.is_symlink()):
            raise SystemExit(f"GRIB add-on: {src} is not in the bundle")
        dest = addon / "_internal" / line
        dest.parent.mkdir(parents=True, exist_ok=True)
        os.replace(src, dest)
        emptied.update(p for p in src.parents if internal in p.parents)
    for folder in sorted(emptied, key=lambda p: len(p.parts), reverse=True):
        if not any(folder.iterdir()):
            folder.rmdir()  # a GRIB package's folder, now empty
    (addon / "_internal" / ADDON_STAMP).write_text(json.dumps({"version": version}) + "\n",
                                                   encoding="utf-8")
    return addon


def make_deb(bundle: Path, version: str) -> Path:
    arch = subprocess.run(["dpkg", "--print-architecture"], capture_output=True, text=True,
                          check=True).stdout.strip()
    stage = bundle.parent / "deb-stage"
    shutil.rmtree(stage, ignore_errors=True)
    opt = stage / "opt" / "microclimate-desk"
    shutil.copytree(bundle, opt, symlinks=True)
    (stage / "usr" / "bin").mkdir(parents=True)
    os.symlink("/opt/microclimate-desk/microclimate", stage / "usr" / "bin" / NAME)
    apps = stage / "usr" / "share" / "applications"
    apps.mkdir(parents=True)
    (apps / "microclimate-desk.desktop").write_text(
        "[Desktop Entry]\nType=Application\nName=Microclimate Desk\n"
        "Comment=Micro-climate forecasting for weather forecasters\n"
        "Exec=/opt/microclimate-desk/microclimate gui\nTerminal=false\n"
        "Categories=Science;Education;\n", encoding="utf-8")
    size_kb = sum(p.stat().st_size for p in opt.rglob("*") if p.is_file()) // 1024
    (stage / "DEBIAN").mkdir()
    (stage / "DEBIAN" / "control").write_text(
        f"Package: microclimate-desk\nVersion: {version}\nArchitecture: {arch}\n"
        f"Maintainer: Microclimate Desk developers <noreply@example.invalid>\n"
        f"Installed-Size: {size_kb}\nDepends: {DEB_DEPENDS}\n"
        # the MP4 export runs the system's ffmpeg (the bundle leaves its 165 MB copy out)
        "Recommends: ffmpeg\nSection: science\n"
        "Priority: optional\nDescription: desktop micro-climate forecasting\n"
        " ERA5/Open-Meteo data, station QC, local ONNX downscaling and maps for weather\n"
        " forecasters, with a bundled sample region and model.\n", encoding="utf-8")
    target = bundle.parent / f"microclimate-desk_{version}_{arch}.deb"
    subprocess.run(["dpkg-deb", "--root-owner-group", "-Zxz", "-z1", "--build", str(stage),
                    str(target)], check=True, stdout=subprocess.DEVNULL)
    shutil.rmtree(stage)
    return target


def _is_elf(path: Path) -> bool:
    with path.open("rb") as f:
        return f.read(4) == b"\x7fELF"


def _loadable(path: Path) -> bool:
    """Every PT_LOAD segment of a 64-bit little-endian ELF file aligned as the dynamic
    loader demands (``(vaddr - offset) % align == 0``). strip rewrites a library that
    patchelf changed (auditwheel's vendored ``*.libs``) into one that fails this, and
    the loader then refuses it ("ELF load command address/offset not page-aligned")."""
    with path.open("rb") as f:
        head = f.read(64)
        if head[4] != 2 or head[5] != 1:  # not ELF64 little-endian: not ours to judge
            return False
        phoff, = struct.unpack_from("<Q", head, 0x20)
        entsize, count = struct.unpack_from("<HH", head, 0x36)
        f.seek(phoff)
        table = f.read(entsize * count)
    for k in range(count):
        kind, _, offset, vaddr, _, _, _, align = struct.unpack_from("<IIQQQQQQ", table,
                                                                    k * entsize)
        if kind == 1 and align > 1 and (vaddr - offset) % align:
            return False
    return True


def strip_libraries(bundle: Path) -> tuple[int, int]:
    """``strip --strip-unneeded`` the shared libraries of the bundle (what Debian does to
    its packages): it drops debug info and the static symbol table, never the dynamic
    symbols that loading needs (llvmlite 170 -> 152 MB, libpython 22 -> 5 MB). Each
    library is stripped into a copy that replaces it only when it still loads (see
    :func:`_loadable`); where it would not (auditwheel's patchelf'd ``*.libs``),
    :func:`elfutil.trim` drops the debug sections and leaves every loaded byte where the
    loader expects it (eckitlib's PROJ 87 -> 5 MB). The executable is left alone (its
    archive is appended after the ELF image). Returns (bytes before, bytes after)."""
    strip = shutil.which("strip")
    if strip is None or sys.platform != "linux":
        print("strip not found (binutils): shared libraries left as they are")
        return 0, 0
    libs = [p for p in (bundle / "_internal").rglob("*.so*")
            if p.is_file() and not p.is_symlink() and _is_elf(p)]
    before = sum(p.stat().st_size for p in libs)
    for lib in libs:
        tmp = lib.with_name(lib.name + ".stripped")
        done = subprocess.run([strip, "--strip-unneeded", "-o", str(tmp), str(lib)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if done.returncode == 0 and tmp.is_file() and _loadable(tmp) \
                and tmp.stat().st_size < lib.stat().st_size:
            shutil.copymode(lib, tmp)
            os.replace(tmp, lib)
        else:
            tmp.unlink(missing_ok=True)
            size, trimmed = elfutil.trim(lib)
            if trimmed < size and not _loadable(lib):  # trim compares the image itself
                raise SystemExit(f"{lib}: not loadable after elfutil.trim")
    return before, sum(p.stat().st_size for p in libs)


def folder_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dist", type=Path, default=ROOT / "dist",
                        help="output folder (default: dist/ in the repository)")
    parser.add_argument("--work", type=Path, default=None,
                        help="PyInstaller work folder (default: build/pyinstaller)")
    parser.add_argument("--with-cuda", action="store_true",
                        help="the GPU download: keep onnxruntime's CUDA/TensorRT providers")
    parser.add_argument("--no-archive", action="store_true", help="only the bundle folder")
    parser.add_argument("--gzip-level", type=int, default=6, choices=range(1, 10),
                        help="tar.gz compression (1: 4x faster, 5%% larger; default 6)")
    parser.add_argument("--no-deb", action="store_true", help="no .deb even if dpkg-deb exists")
    args = parser.parse_args(argv)
    dist = args.dist.resolve()
    work = (args.work or ROOT / "build" / "pyinstaller").resolve()
    version = project_version()

    started = time.perf_counter()
    # the QC kernels compiled ahead of time: the bundle carries no Numba/llvmlite
    try:
        for module in build_qc_aot.build(build_qc_aot.DEFAULT_OUT,
                                         build_qc_aot.default_builds()):
            print(f"QC kernels: {module}")
    except build_qc_aot.BuildError as exc:
        raise SystemExit(f"build.py: {exc}") from exc
    bundle = run_pyinstaller(dist, work, args.with_cuda)
    before, after = strip_libraries(bundle)
    if before:
        print(f"stripped shared libraries: {before / 2**20:.0f} -> {after / 2**20:.0f} MiB")
    addon = split_grib_addon(bundle, work / GRIB_LIST, version)
    print(f"GRIB add-on: {addon} ({folder_size(addon) / 2**20:.0f} MiB)")
    print(f"bundle: {bundle} ({folder_size(bundle) / 2**20:.0f} MiB, "
          f"{time.perf_counter() - started:.0f} s)")
    if not args.no_archive:
        archive = make_archive(bundle, version, args.gzip_level,
                               "-cuda" if args.with_cuda else "")
        print(f"archive: {archive} ({archive.stat().st_size / 2**20:.0f} MiB)")
        packed = make_archive(addon, version, args.gzip_level, name=f"{NAME}-grib")
        grib_archive = dist / packed.name
        os.replace(packed, grib_archive)
        print(f"GRIB add-on archive: {grib_archive} "
              f"({grib_archive.stat().st_size / 2**20:.0f} MiB)")
        if (sys.platform == "linux" and not args.no_deb and not args.with_cuda
                and shutil.which("dpkg-deb")):
            deb = make_deb(bundle, version)
            print(f"deb: {deb} ({deb.stat().st_size / 2**20:.0f} MiB)")
    print(f"done in {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
