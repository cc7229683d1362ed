"""PyInstaller runtime hook: give Numba a writable cache folder in the frozen app.

The QC kernels are compiled with ``cache=True``. Inside a bundle the folder next to the
sources (``_internal/desktop_app/qc``) may be read-only (an install under /opt or
Program Files), so the compiled kernels go under the user's cache folder instead
(``MICROCLIMATE_HOME/cache/numba`` when that is set). Runs before any app import.
"""

import os
import tempfile

if not os.environ.get("NUMBA_CACHE_DIR"):
    from desktop_app.paths import cache_dir

    target = cache_dir() / "numba"
    try:
        target.mkdir(parents=True, exist_ok=True)
    except OSError:  # no writable user cache: compile into a per-run temp folder
        target = type(target)(tempfile.mkdtemp(prefix="microclimate-numba-"))
    os.environ["NUMBA_CACHE_DIR"] = str(target)
