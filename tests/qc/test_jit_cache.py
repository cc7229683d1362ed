"""Numba's disk cache follows every source file of the QC package, not only the kernel's.

Numba checks only the file of the function it compiled, so a kernel whose helper in
another file changed used to load its old machine code: after an edit of ``_select.py``
alone, ``robust_outlier`` (in ``_kernels.py``) still ran the old median.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from desktop_app.qc._dispatch import KEEP_CACHES, jit_cache_dir

ROOT = Path(__file__).resolve().parents[2]

# robust_outlier on a short series (under 1,024 values: the median's plain selection path)
_RUN = """
import json, numpy as np
from desktop_app.qc import _kernels
x = np.sin(np.arange(200) * 0.3) + np.linspace(0, 1, 200)
x[17] = 9.0
print(json.dumps(_kernels.robust_outlier(x, 1.0, 2.0, 2).tolist()))
"""


def _flags(tree: Path, cache: Path | None = None) -> list[int]:
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_CACHE_DIR"}
    env.update(PYTHONPATH=str(tree), MICROCLIMATE_QC_JIT="1")
    if cache is not None:
        env["NUMBA_CACHE_DIR"] = str(cache)  # the user's own choice: a cold compile here
    out = subprocess.run([sys.executable, "-c", _RUN], cwd=tree, env=env, text=True,
                         capture_output=True, timeout=300, check=True)
    return json.loads(out.stdout.splitlines()[-1])


def test_an_edited_helper_is_compiled_afresh_for_the_kernels_that_call_it(
        tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    shutil.copytree(ROOT / "desktop_app", tree / "desktop_app",
                    ignore=shutil.ignore_patterns("__pycache__", "_aot_*"))
    before = _flags(tree)  # compiles and caches
    assert _flags(tree) == before  # from the cache
    select = tree / "desktop_app" / "qc" / "_select.py"
    text = select.read_text()
    edited = text.replace("    return _middle(scratch[:count], hi_rank, count % 2 == 0), count",
                          "    return _middle(scratch[:count], hi_rank, count % 2 == 0) + 0.5"
                          ", count")
    assert edited != text
    select.write_text(edited)  # the helper's file only; _kernels.py is untouched
    after = _flags(tree)
    assert after == _flags(tree, tmp_path / "cold")  # what the edited sources compute
    assert after != before


def test_the_cache_folder_is_named_by_every_source_and_old_ones_are_pruned(
        tmp_path: Path) -> None:
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "a.py").write_text("A = 1\n")
    (package / "b.py").write_text("B = 1\n")
    first = jit_cache_dir(package)
    assert first.is_dir() and first.parent == package / "__pycache__"
    assert jit_cache_dir(package) == first
    seen = [first]
    for i in range(2, KEEP_CACHES + 4):
        os.utime(seen[-1], (1000 + i, 1000 + i))  # last used a while ago, in this order
        (package / "b.py").write_text(f"B = {i}\n")
        seen.append(jit_cache_dir(package))
    assert len(set(seen)) == len(seen)  # every version of b.py: its own folder
    kept = {p.name for p in (package / "__pycache__").iterdir()}
    assert kept == {p.name for p in seen[-(KEEP_CACHES + 1):]}  # in use + the newest
