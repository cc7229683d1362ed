"""Where the application keeps its files.

Per-user folders come from platformdirs. ``MICROCLIMATE_HOME`` overrides all of them
with one folder (``cache/``, ``config/``, ``models/``, ``regions/`` below it) for tests and portable
installs. Bundled read-only data (sample region, bundled models) is found next to the
package in a source tree, or inside a frozen bundle.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import platformdirs

APP_NAME = "microclimate-desk"
HOME_ENV = "MICROCLIMATE_HOME"


def _home() -> Path | None:
    value = os.environ.get(HOME_ENV)
    return Path(value).expanduser() if value else None


def cache_dir() -> Path:
    home = _home()
    return home / "cache" if home else Path(platformdirs.user_cache_dir(APP_NAME))


def config_dir() -> Path:
    home = _home()
    return home / "config" if home else Path(platformdirs.user_config_dir(APP_NAME))


def user_models_dir() -> Path:
    home = _home()
    return home / "models" if home else Path(platformdirs.user_data_dir(APP_NAME)) / "models"


def regions_dir() -> Path:
    """Region folders made by ``microclimate region create`` (one folder per region)."""
    home = _home()
    return home / "regions" if home else Path(platformdirs.user_data_dir(APP_NAME)) / "regions"


def install_root() -> Path:
    """The folder holding ``resources/`` and ``models/``: repo root or bundle root."""
    frozen_root = getattr(sys, "_MEIPASS", None)
    if frozen_root:
        return Path(frozen_root)
    return Path(__file__).resolve().parent.parent


def resources_dir() -> Path:
    return install_root() / "resources"


def bundled_models_dir() -> Path:
    return install_root() / "models"


def sample_region_path() -> Path:
    return resources_dir() / "sample_region" / "region.json"


def ensure_dir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path


def trainer_dir() -> Path:
    """The trainer service's state: job database, uploaded datasets, job folders."""
    home = _home()
    return home / "trainer" if home else Path(platformdirs.user_data_dir(APP_NAME)) / "trainer"


def tracking_dir() -> Path:
    """The training-run store (MLflow file-store layout); ``MICROCLIMATE_TRACKING_DIR``
    points it elsewhere (e.g. a shared folder the team's ``mlflow ui`` reads)."""
    override = os.environ.get("MICROCLIMATE_TRACKING_DIR")
    if override:
        return Path(override).expanduser()
    home = _home()
    return home / "mlruns" if home else Path(platformdirs.user_data_dir(APP_NAME)) / "mlruns"
