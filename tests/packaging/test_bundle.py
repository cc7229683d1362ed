"""Smoke test of the desktop installer: build the PyInstaller bundle with
``packaging/build.py``, then run it from a folder outside the repository with a clean
environment (no venv on PATH, no PYTHONPATH, HOME and MICROCLIMATE_HOME in a temp
folder), as a user who never built a virtualenv would.

The bundle is tested as a user gets it: the ``.tar.gz`` unpacked in a temp folder. The
build takes minutes, so it happens once per session; an archive left in
``build/bundle-test`` by an earlier run is reused only when nothing it was built from
(sources, data, models, spec, pyproject, installed package versions) has changed.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tomllib
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path

import numpy as np
import pytest

# collected first (tests/conftest.py): the build then runs beside the rest of the suite
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("bundle")]

ROOT = Path(__file__).resolve().parents[2]
BUILD_DIR = ROOT / "build" / "bundle-test"
INPUTS = ("desktop_app", "packaging", "resources", "models", "pyproject.toml")


def inputs_digest() -> str:
    digest = hashlib.sha256()
    for top in INPUTS:
        path = ROOT / top
        files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
        for file in files:
            if "__pycache__" in file.parts or file.suffix in (".pyc", ".nbi", ".nbc"):
                continue
            digest.update(str(file.relative_to(ROOT)).encode())
            digest.update(file.read_bytes())
    for dist in sorted(f"{d.metadata['Name']}=={d.version}" for d in metadata.distributions()):
        digest.update(dist.encode())
    return digest.hexdigest()


@pytest.fixture(scope="session")
def archive() -> Path:
    """The bundle's .tar.gz, built by packaging/build.py (or reused, see the docstring)."""
    BUILD_DIR.mkdir(parents=True, exist_ok=True)
    with (BUILD_DIR / ".lock").open("w") as lock:
        # one build at a time: two at once in one work folder wreck each other, and a
        # pytest-xdist worker that waits here then finds the other's archive up to date
        fcntl.flock(lock, fcntl.LOCK_EX)
        return _build_or_reuse()


def _build_or_reuse() -> Path:
    stamp = BUILD_DIR / "inputs.sha256"
    dist = BUILD_DIR / "dist"
    digest = inputs_digest()
    found = _base_archives(dist)
    if not (len(found) == 1 and stamp.is_file() and stamp.read_text() == digest):
        stamp.unlink(missing_ok=True)
        proc = subprocess.run(
            [sys.executable, str(ROOT / "packaging" / "build.py"), "--dist", str(dist),
             "--work", str(BUILD_DIR / "work"), "--no-deb", "--gzip-level", "1"],
            capture_output=True, text=True, timeout=1800)
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-5000:]
        found = _base_archives(dist)
        stamp.write_text(digest)
    assert len(found) == 1, found
    return found[0]


def _base_archives(dist: Path) -> list[Path]:
    return sorted(p for p in dist.glob("microclimate-*.tar.gz")
                  if not p.name.startswith("microclimate-grib-"))


@pytest.fixture(scope="session")
def grib_archive(archive: Path) -> Path:
    """The GRIB add-on archive build.py wrote next to the bundle's."""
    found = sorted(archive.parent.glob("microclimate-grib-*.tar.gz"))
    assert len(found) == 1, found
    return found[0]


@pytest.fixture(scope="session")
def bundle(archive: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The bundle as a user installs it: the .tar.gz unpacked in a folder of its own,
    away from the build folder and the repository (removed afterwards: ~1 GB)."""
    target = tmp_path_factory.mktemp("installed")
    with tarfile.open(archive) as tar:
        tar.extractall(target, filter="tar")
    yield target / "microclimate"
    shutil.rmtree(target, ignore_errors=True)


@pytest.fixture(scope="session")
def bundle_with_grib(bundle: Path, grib_archive: Path,
                     tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A copy of the installed bundle (hard links: nothing is copied, and unpacking
    replaces no file of the original) with the GRIB add-on unpacked into it by the
    command packaging/README.md gives."""
    target = tmp_path_factory.mktemp("installed-grib") / "microclimate"
    shutil.copytree(bundle, target, symlinks=True, copy_function=os.link)
    subprocess.run(["tar", "-xzf", str(grib_archive), "--strip-components=1", "-C",
                    str(target)], check=True)
    yield target
    shutil.rmtree(target.parent, ignore_errors=True)


def clean_env(tmp_path: Path, display: bool) -> dict[str, str]:
    """What a fresh login has: system PATH, own HOME, no Python variables."""
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": str(tmp_path / "home"),
           "MICROCLIMATE_HOME": str(tmp_path / "mhome"), "LANG": "C.UTF-8"}
    if display:
        env["DISPLAY"] = os.environ["DISPLAY"]
        if os.environ.get("XAUTHORITY"):
            env["XAUTHORITY"] = os.environ["XAUTHORITY"]
    return env


def run(bundle: Path, args: list[str], tmp_path: Path, display: bool = False,
        timeout: float = 300) -> subprocess.CompletedProcess[str]:
    workdir = tmp_path / "work"
    workdir.mkdir(exist_ok=True)
    return subprocess.run([str(bundle / "microclimate"), *args], cwd=workdir,
                          env=clean_env(tmp_path, display), capture_output=True, text=True,
                          timeout=timeout)


def read_rgb(path: Path) -> np.ndarray:
    from PySide6 import QtGui

    image = QtGui.QImage(str(path))
    assert not image.isNull(), f"{path} is not a readable image"
    image = image.convertToFormat(QtGui.QImage.Format.Format_RGB888)
    arr = np.frombuffer(image.constBits(), np.uint8, count=image.sizeInBytes())
    return arr.reshape(image.height(), image.bytesPerLine())[:, : image.width() * 3].reshape(
        image.height(), image.width(), 3).copy()


def test_bundle_holds_the_app_and_not_the_trainer(bundle):
    internal = bundle / "_internal"
    assert (internal / "resources" / "sample_region" / "region.json").is_file()
    assert list((internal / "resources" / "glyphs").glob("glyph-distance-fields-*.npz"))
    assert sorted(p.suffix for p in (internal / "models").iterdir()) == [".json", ".onnx"]
    assert (internal / "PySide6" / "Qt" / "plugins" / "platforms" / "libqxcb.so").is_file()
    assert (internal / "PySide6" / "Qt" / "plugins" / "platforms" / "libqoffscreen.so").is_file()
    assert list(internal.glob("vispy/glsl/colormaps/*.glsl"))
    # the QC kernels compiled ahead of time, for any x86-64 and for x86-64-v3; no Numba
    assert sorted(p.name.split(".")[0] for p in (internal / "desktop_app" / "qc").glob(
        "_aot_*")) == ["_aot_baseline", "_aot_v3"]
    for absent in ("torch", "desktop_app/training", "matplotlib", "dask", "sklearn", "pytest",
                   "PySide6/Qt/plugins/qmltooling", "numba", "llvmlite"):
        assert not (internal / absent).exists(), absent
    assert not list(internal.rglob("libQt6WebEngine*")) and not list(internal.rglob("*Qt63D*"))
    # CPU installer trims: no MLflow (trainer only), no Qt translations, no ffmpeg copy
    for absent in ("mlflow", "PySide6/Qt/translations"):
        assert not (internal / absent).exists(), absent
    assert not list(internal.rglob("ffmpeg-linux*"))
    # shared libraries are stripped where that keeps them loadable (the libraries
    # auditwheel vendored into *.libs are not: strip breaks their patchelf'd segments)
    if shutil.which("readelf"):
        for name in ("PySide6/Qt/lib/libQt6Core.so.6", "libpython3.11.so.1.0"):
            lib = internal / name
            if lib.is_file():
                sections = subprocess.run(["readelf", "-S", "-W", str(lib)],
                                          capture_output=True, text=True).stdout
                assert ".symtab" not in sections and ".debug_info" not in sections, lib
    assert "Apache License" in (internal / "LICENSE").read_text(encoding="utf-8")
    notice = (bundle / "THIRD_PARTY_LICENSES.txt").read_text(encoding="utf-8")
    for name in ("PySide6_Essentials", "numpy", "numba", "onnxruntime", "vispy", "pyqtgraph",
                 "xarray", "netCDF4", "Python Software Foundation"):
        assert name.lower() in notice.lower(), name
    assert "\ntorch " not in notice.lower()


def test_version_from_pyproject(bundle, tmp_path):
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    proc = run(bundle, ["--version"], tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == f"microclimate {version}"


@pytest.mark.gui
def test_gui_screenshot_shows_the_sample_map(bundle, tmp_path):
    out = tmp_path / "work" / "out.png"
    proc = run(bundle, ["gui", "--screenshot", "out.png"], tmp_path, display=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "screenshot saved" in proc.stdout
    arr = read_rgb(out)
    assert arr.shape == (900, 1600, 3)
    # Same map as the venv's app draws (tests/gui/test_screenshot.py): the sample's
    # coolwarm field with hillshade, many colours, red-dominant at the first step.
    left = arr[100:700, 50:750].reshape(-1, 3)
    assert len(np.unique(left, axis=0)) > 200
    assert left[:, 0].mean() > left[:, 2].mean()
    # and the same pixels: render the window with the venv's app and compare the map
    ref_png = tmp_path / "venv.png"
    ref = subprocess.run([sys.executable, "-m", "desktop_app", "gui", "--screenshot",
                          str(ref_png)], capture_output=True, text=True, timeout=300,
                         env={**os.environ, "MICROCLIMATE_HOME": str(tmp_path / "ref")})
    assert ref.returncode == 0, ref.stderr
    same = np.all(read_rgb(ref_png)[100:700, 50:750] == arr[100:700, 50:750], axis=-1)
    assert same.mean() > 0.99


def test_forecast_and_export_map_headless(bundle, tmp_path):
    forecast = run(bundle, ["forecast", "--out", "forecast.nc"], tmp_path)
    assert forecast.returncode == 0, forecast.stderr
    assert "model era5-uk-downscaler" in forecast.stdout  # the bundled ONNX model ran
    proc = run(bundle, ["export-map", "forecast.nc", "--variable", "temperature",
                        "--out", "map.png"], tmp_path)
    assert proc.returncode == 0, proc.stderr
    png = tmp_path / "work" / "map.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    arr = read_rgb(png)
    assert arr.shape == (1000, 1600, 3)
    assert len(np.unique(arr.reshape(-1, 3), axis=0)) > 200
    # the GeoTIFF export (rasterio/GDAL, rioxarray): the first step's field, north up
    proc = run(bundle, ["export-map", "forecast.nc", "--variable", "temperature",
                        "--out", "map.tif"], tmp_path)
    assert proc.returncode == 0, proc.stderr
    import rasterio
    import xarray as xr

    with rasterio.open(tmp_path / "work" / "map.tif") as tif, \
            xr.open_dataset(tmp_path / "work" / "forecast.nc", engine="netcdf4") as fc:
        assert tif.crs.to_epsg() == 4326 and tif.count == 1
        field = fc.temperature.isel(time=0).values[::-1].astype(np.float32)
        np.testing.assert_array_equal(tif.read(1), field)


def test_qc_flags_as_the_venv_does_without_numba(bundle, tmp_path):
    """``microclimate qc`` in the bundle runs the kernels compiled ahead of time (the
    bundle has no Numba to fall back on) and flags every value as the venv's JIT does;
    nothing is compiled or cached at run time."""
    import xarray as xr

    stations = ROOT / "resources" / "sample_region" / "stations.nc"
    proc = run(bundle, ["qc", str(stations), "--out", "qc.nc"], tmp_path)
    assert proc.returncode == 0, proc.stderr
    ref = subprocess.run([sys.executable, "-m", "desktop_app", "qc", str(stations), "--out",
                          str(tmp_path / "venv.nc")], capture_output=True, text=True,
                         timeout=300, env={**os.environ, "MICROCLIMATE_QC_JIT": "1",
                                           "MICROCLIMATE_HOME": str(tmp_path / "ref")})
    assert ref.returncode == 0, ref.stderr
    with xr.open_dataset(tmp_path / "work" / "qc.nc", engine="netcdf4") as got, \
            xr.open_dataset(tmp_path / "venv.nc", engine="netcdf4") as want:
        names = sorted(str(n) for n in want.data_vars if str(n).endswith("_qc"))
        assert "temperature_qc" in names, names
        assert names == sorted(str(n) for n in got.data_vars if str(n).endswith("_qc"))
        for name in names:
            np.testing.assert_array_equal(got[name].values, want[name].values, name)
        assert {1, 3} <= set(np.unique(got["temperature_qc"].values))  # real verdicts
    assert not (tmp_path / "mhome" / "cache" / "numba").exists()


def test_trainer_command_says_it_is_not_bundled(bundle, tmp_path):
    proc = run(bundle, ["train", "--help"], tmp_path)
    assert proc.returncode == 0  # the command exists; only running it needs the trainer
    proc = run(bundle, ["trainer", "serve"], tmp_path)
    assert proc.returncode != 0
    assert "not part of the desktop installer" in proc.stderr
    assert "Traceback" not in proc.stderr


GRIB = ROOT / "tests" / "data" / "sources" / "era5" / "era5-2mt-2019-03-uk.grib"


def test_default_bundle_has_no_grib_and_says_so(bundle, tmp_path):
    """GRIB reading is the separate add-on: the installer holds no cfgrib, ecCodes or
    eckit, and a GRIB file is one line naming it and the add-on, never a traceback."""
    internal = bundle / "_internal"
    for absent in ("cfgrib", "eccodes", "gribapi", "eccodeslib", "eckitlib", "eckitlib.libs"):
        assert not (internal / absent).exists(), absent
    assert not list(internal.glob("cfgrib-*.dist-info"))
    assert not [p for p in internal.rglob("*") if p.name.startswith(("libeccodes", "libeckit"))]
    assert not [p for p in internal.rglob("*") if p.is_symlink() and not p.exists()]
    assert "cfgrib" not in (bundle / "THIRD_PARTY_LICENSES.txt").read_text(encoding="utf-8")
    proc = run(bundle, ["fetch", "era5", "--from-file", str(GRIB), "--out", "era5.nc"],
               tmp_path)
    assert proc.returncode == 1
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    assert "Traceback" not in proc.stderr and "ModuleNotFoundError" not in proc.stderr
    errors = [line for line in proc.stderr.splitlines() if not line.startswith("[")]
    assert errors == [  # (progress lines start with "[ n%]")
        f"microclimate fetch: error: cannot read GRIB file {GRIB}: GRIB support is not "
        f"installed (the installer leaves it out); get the GRIB add-on "
        f"microclimate-grib-{version}-linux-x86_64.tar.gz and unpack it into this "
        f"installation (tar -xzf microclimate-grib-{version}-linux-x86_64.tar.gz "
        f"--strip-components=1 -C {bundle.resolve()}), or convert the file to NetCDF"]
    assert not (tmp_path / "work" / "era5.nc").exists()
    # ERA5 as NetCDF (what the CDS fetch asks for) needs no GRIB support
    surf = ROOT / "tests" / "data" / "sources" / "era5" / "davos" / "SURF_202001_2d.nc"
    proc = run(bundle, ["fetch", "era5", "--from-file", str(surf), "--out", "era5.nc"],
               tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "work" / "era5.nc").is_file()


def test_grib_addon_adds_files_and_replaces_none(bundle, grib_archive):
    """Unpacked over an installation, the add-on only adds: every member is new to the
    bundle, under its folder, and is GRIB's (with its licence notice)."""
    with tarfile.open(grib_archive) as tar:
        names = [m.name for m in tar.getmembers() if not m.isdir()]
    assert names and all(n.startswith("microclimate/_internal/") for n in names)
    assert not [n for n in names if (bundle.parent / n).exists()
                or (bundle.parent / n).is_symlink()]
    tops = {n.split("/")[2] for n in names}
    assert {"cfgrib", "eccodes", "gribapi", "eccodeslib", "eckitlib"} <= tops
    assert "microclimate/_internal/THIRD_PARTY_LICENSES-grib.txt" in names
    assert "microclimate/_internal/microclimate-grib-addon.json" in names  # its version
    assert "microclimate/_internal/eckitlib/lib64/libeckit_sql.so" not in names  # spec's trim
    assert not [t for t in tops if t.startswith(("PySide6", "numpy", "xarray", "desktop_app"))]


def test_bundle_reads_grib_as_the_venv_does(bundle_with_grib, tmp_path):
    """With the GRIB add-on unpacked into it: ERA5 GRIB through cfgrib and ecCodes, whose
    library needs five eckit libraries (the spec leaves the other seven out) and, through
    eckit, eckit's PROJ copy: build.py cut that copy's debug sections (87 -> 5 MB) around
    its segments (packaging/elfutil.py). The bundle must load them and decode the real file
    to the same numbers as the venv."""
    import xarray as xr

    bundle = bundle_with_grib
    assert "cfgrib" in (bundle / "_internal" / "THIRD_PARTY_LICENSES-grib.txt").read_text(
        encoding="utf-8")
    # beside the bundle's own, where Help > About finds both (licence_notices.notice_text)
    assert (bundle / "_internal" / "THIRD_PARTY_LICENSES.txt").is_file()
    proj = next((bundle / "_internal" / "eckitlib.libs").glob("libproj-*"))
    assert proj.stat().st_size < 20 * 2**20, proj  # the debug info is gone
    grib = GRIB
    proc = run(bundle, ["fetch", "era5", "--from-file", str(grib), "--out", "era5.nc"],
               tmp_path)
    assert proc.returncode == 0, proc.stderr
    ref = subprocess.run([sys.executable, "-m", "desktop_app", "fetch", "era5", "--from-file",
                          str(grib), "--out", str(tmp_path / "venv.nc")],
                         capture_output=True, text=True, timeout=300,
                         env={**os.environ, "MICROCLIMATE_HOME": str(tmp_path / "ref")})
    assert ref.returncode == 0, ref.stderr
    with xr.open_dataset(tmp_path / "work" / "era5.nc", engine="netcdf4") as got, \
            xr.open_dataset(tmp_path / "venv.nc", engine="netcdf4") as want:
        assert got.temperature.shape == (744, 33, 49)
        np.testing.assert_array_equal(got.temperature.values, want.temperature.values)
        assert float(got.temperature.mean()) == pytest.approx(
            float(want.temperature.mean()))
    # an add-on of another version is refused in one line, before its libraries load
    stamp = bundle / "_internal" / "microclimate-grib-addon.json"
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    assert json.loads(stamp.read_text(encoding="utf-8")) == {"version": version}
    kept = stamp.read_bytes()
    other = stamp.with_name("other.json")
    other.write_text('{"version": "0.0.1"}\n', encoding="utf-8")
    os.replace(other, stamp)  # a new file: the hard-linked original bundle is untouched
    try:
        proc = run(bundle, ["fetch", "era5", "--from-file", str(grib), "--out", "old.nc"],
                   tmp_path)
    finally:
        other.write_bytes(kept)
        os.replace(other, stamp)
    assert proc.returncode == 1
    errors = [line for line in proc.stderr.splitlines() if not line.startswith("[")]
    assert len(errors) == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert (f"the GRIB add-on in this installation is for version 0.0.1, this is version "
            f"{version}; " in errors[0])
    assert not (tmp_path / "work" / "old.nc").exists()


def test_region_from_a_geotiff_dem_as_the_venv_does(bundle, tmp_path):
    """A region from a real UTM GeoTIFF DEM: rasterio, its GDAL and its own PROJ copy,
    which needs its proj.db (the bundle once lacked click, rasterio's hidden imports and
    that database, and every DEM import failed)."""
    import xarray as xr

    dem = ROOT / "tests" / "data" / "region" / "davos_srtm30m_utm32n.tif"
    args = ["region", "create", "davos", "--bbox", "46.76,9.83,46.84,9.94", "--resolution",
            "250m", "--dem", str(dem), "--quiet", "--out"]
    proc = run(bundle, [*args, "bundle-davos"], tmp_path)
    assert proc.returncode == 0, proc.stderr
    ref = subprocess.run([sys.executable, "-m", "desktop_app", *args, str(tmp_path / "venv")],
                         capture_output=True, text=True, timeout=300,
                         env={**os.environ, "MICROCLIMATE_HOME": str(tmp_path / "ref")})
    assert ref.returncode == 0, ref.stderr
    with xr.open_dataset(tmp_path / "work" / "bundle-davos" / "terrain.nc",
                         engine="netcdf4") as got, \
            xr.open_dataset(tmp_path / "venv" / "terrain.nc", engine="netcdf4") as want:
        assert got.elevation.shape == (36, 34)
        assert float(got.elevation.min()) > 1000  # Davos: the valley floor is at 1500 m
        np.testing.assert_array_equal(got.elevation.values, want.elevation.values)


# Libraries a desktop provides and the bundle never carries (see microclimate.spec), and
# those the bundle may miss: Wayland's client libraries exist where a Wayland session
# runs (the plugin is never loaded elsewhere).
SYSTEM_LIBS = ("libc.so", "libm.so", "libdl.so", "libpthread.so", "librt.so", "libresolv.so",
               "libgcc_s.so", "libstdc++.so", "ld-linux", "libGL.so", "libGLX.so",
               "libGLdispatch.so", "libEGL.so", "libOpenGL.so", "libxcb.so", "libdrm.so",
               "libwayland-", "linux-vdso")
MAY_BE_MISSING = ("libwayland-",)


@pytest.mark.parametrize("installed", ["bundle", "bundle_with_grib"])
def test_every_library_finds_what_it_needs(installed, request):
    """The spec drops libraries only dropped binaries needed (the GTK theme's cairo and
    pango, QtNetwork's Kerberos): each library left must find its dependencies in the
    bundle (the bootloader puts _internal on LD_LIBRARY_PATH) or among the system
    libraries a desktop has, never a copy that happens to sit on the build machine. The
    same for the GRIB add-on's libraries once it is unpacked into the bundle (the base's
    own libraries, e.g. the system's libfreetype, must not need the add-on: without it they
    are checked in the plain bundle)."""
    if not shutil.which("ldd"):
        pytest.skip("no ldd")
    bundle = request.getfixturevalue(installed)
    internal = (bundle / "_internal").resolve()
    libs = sorted(str(p) for p in internal.rglob("*.so*") if p.is_file()
                  and not p.is_symlink() and p.read_bytes()[:4] == b"\x7fELF")
    if installed == "bundle_with_grib":  # only the add-on's: the rest is checked above
        libs = [lib for lib in libs if Path(lib).relative_to(internal).parts[0] in (
            "eccodeslib", "eckitlib", "eckitlib.libs", "gribapi")]
        assert any("libeccodes.so" in lib for lib in libs)
    proc = subprocess.run(["ldd", *libs], capture_output=True, text=True,
                          env={"LD_LIBRARY_PATH": str(internal), "PATH": "/usr/bin:/bin"})
    outside = set()
    for line in proc.stdout.splitlines():
        if "=>" not in line:
            continue
        name, _, where = (part.strip() for part in line.partition("=>"))
        if where.startswith("not found"):
            assert name.startswith(MAY_BE_MISSING), f"{name} not found"
        elif not where.startswith(str(internal)):
            outside.add(name)
    strays = sorted(name for name in outside if not name.startswith(SYSTEM_LIBS))
    assert not strays, f"found outside the bundle: {strays}"


def test_installer_trims_hold(bundle):
    """What issue 22's CPU installer left out stays out (sizes: bench_bundle.py)."""
    internal = bundle / "_internal"
    for absent in ("lxml", "PySide6/QtNetwork.abi3.so", "PySide6/Qt/lib/libQt6Network.so.6",
                   "PySide6/Qt/plugins/platformthemes/libqgtk3.so", "libcairo.so.2",
                   "libgio-2.0.so.0", "libkrb5.so.3", "libcudart.so.13",
                   "eckitlib/lib64/libeckit_sql.so"):
        assert not (internal / absent).exists(), absent
    assert not list(internal.rglob("libavif*")) and not list(internal.rglob("_avif*"))
