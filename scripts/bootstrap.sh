#!/usr/bin/env bash
# Set Microclimate Desk up on a Debian/Ubuntu machine, then launch it or run the tests.
#
#   bash scripts/bootstrap.sh launch   # install, then open the app on the sample region
#   bash scripts/bootstrap.sh test     # install, then ruff + mypy + the whole pytest suite
#
# Idempotent: it installs only what is missing (system packages via apt, a .venv, the
# package with its dev extra) and says what it does.
set -euo pipefail
cd "$(dirname "$0")/.."
MODE="${1:-launch}"
[ $# -gt 0 ] && shift
say() { printf '==> %s\n' "$*"; }

# Qt's xcb platform plugin, Mesa's software OpenGL (vispy needs GL) and Xvfb for
# headless runs and GUI tests.
APT_PACKAGES=(
  xvfb xauth libgl1 libegl1 libgl1-mesa-dri libglx-mesa0 libfontconfig1 libglib2.0-0
  libdbus-1-3 libxkbcommon-x11-0 libxcb-cursor0 libxcb-icccm4 libxcb-image0
  libxcb-keysyms1 libxcb-randr0 libxcb-render-util0 libxcb-shape0 libxcb-xinerama0
  libxcb-xkb1
)

PYTHON="${PYTHON:-python3}"
if ! command -v "$PYTHON" >/dev/null 2>&1; then
  APT_PACKAGES+=(python3 python3-venv)
elif ! "$PYTHON" -c 'import venv, ensurepip' >/dev/null 2>&1; then
  APT_PACKAGES+=(python3-venv)
fi
# The installer smoke test builds a PyInstaller bundle, which needs Python's shared
# library; Debian's python3 keeps it in a separate package (a Python built with
# --enable-shared has its own).
if [ "$MODE" = "test" ] && ! "$PYTHON" -c \
    'import sysconfig, sys; sys.exit(not sysconfig.get_config_var("Py_ENABLE_SHARED"))' \
    >/dev/null 2>&1; then
  APT_PACKAGES+=(libpython3-dev)
fi
# The installer's QC kernels are compiled ahead of time (packaging/build_qc_aot.py):
# a C compiler and Python's headers.
if [ "$MODE" = "test" ]; then
  APT_PACKAGES+=(gcc libc6-dev)
  "$PYTHON" -c 'import sysconfig, os, sys; sys.exit(not os.path.isfile(os.path.join(
      sysconfig.get_paths()["include"], "Python.h")))' >/dev/null 2>&1 \
    || APT_PACKAGES+=(libpython3-dev)
fi

missing=()
if command -v dpkg-query >/dev/null 2>&1; then
  for pkg in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "ok installed" || missing+=("$pkg")
  done
fi
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
      echo "error: missing system packages and not root: apt-get install ${missing[*]}" >&2
      exit 1
    fi
  fi
  say "installing system packages: ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >/dev/null
else
  say "system packages: all present"
fi

"$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' || {
  echo "error: Python 3.11 or newer is needed ($PYTHON is $("$PYTHON" --version 2>&1))" >&2
  exit 1
}
if [ ! -x .venv/bin/python ]; then
  say "creating virtual environment .venv"
  "$PYTHON" -m venv .venv
fi
# launch needs the app only; test also needs the dev tools, the trainer ([train]),
# the live watch ([watch]), the Dask batch runs ([cluster]) and MLflow's client for the
# training-run store ([track]; without it the same record is written as plain files).
if [ "$MODE" = "test" ]; then TARGET=".[dev,train,watch,cluster,track]"; else TARGET="."; fi
stamp=".venv/.installed-$MODE-$(cat pyproject.toml scripts/test-constraints.txt | sha256sum | cut -c1-16)"
if [ ! -f "$stamp" ]; then
  say "installing microclimate-desk ($TARGET) into .venv (first time takes a few minutes)"
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -e "$TARGET" -c scripts/test-constraints.txt
  rm -f .venv/.installed-"$MODE"-*
  touch "$stamp"
else
  say "Python packages: up to date"
fi

case "$MODE" in
  launch)
    if [ -n "${DISPLAY:-}" ] || [ -n "${WAYLAND_DISPLAY:-}" ]; then
      say "launching microclimate on the bundled sample region"
      exec .venv/bin/microclimate gui "$@"
    fi
    say "no display found: rendering the window under Xvfb to sample-map.png instead"
    exec xvfb-run -a -s "-screen 0 1600x1000x24" .venv/bin/microclimate gui \
      --screenshot sample-map.png "$@"
    ;;
  test)
    say "ruff"
    .venv/bin/ruff check desktop_app tests benchmarks resources scripts
    say "mypy"
    .venv/bin/mypy
    # in parallel by default: one pytest-xdist worker per core (at most 4, serial on one
    # core), each with its own Xvfb, a test file per worker at a time; PYTEST_WORKERS=0
    # runs serially, PYTEST_WORKERS=N on N workers
    if [ -n "${PYTEST_WORKERS:-}" ]; then
      WORKERS="$PYTEST_WORKERS"
    else
      WORKERS=$(nproc 2>/dev/null || echo 1)
      [ "$WORKERS" -gt 4 ] && WORKERS=4
      [ "$WORKERS" -le 1 ] && WORKERS=0
    fi
    say "pytest on $WORKERS workers (GUI tests run in a real window under Xvfb)"
    set +e
    .venv/bin/python -m pytest -n "$WORKERS" --dist loadfile "$@"
    rc=$?
    set -e
    if [ "$rc" -eq 5 ]; then
      echo "error: pytest collected no tests" >&2
      exit 1
    fi
    exit "$rc"
    ;;
  *)
    echo "usage: bash scripts/bootstrap.sh launch|test [args...]" >&2
    exit 2
    ;;
esac
