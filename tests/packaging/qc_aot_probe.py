"""Every QC entry point on real inputs: run in-process with Numba's JIT, and as a script
with a module compiled ahead of time (``packaging/build_qc_aot.py``); the test compares
the two (tests/packaging/test_qc_aot.py).

    python tests/packaging/qc_aot_probe.py AOT_DIR OUT.npz

puts ``AOT_DIR`` (one compiled module) first on ``desktop_app.qc``'s path, counts which
compiled entry points the run calls, and saves the results and that list.

Inputs: ioos_qc's real performance series, the two real TMY3 stations through the whole
runner (every per-series test, climatology too, and the buddy check), and, for the
buddy check's large-network paths, the generated station network of the titanlib tests
(labelled generated: there is no real dense network in the fixtures).
"""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[2]


def results() -> dict[str, np.ndarray]:
    from desktop_app.qc import checks, config, params
    from desktop_app.qc.neighbours import PARALLEL_MIN_STATIONS, StationIndex
    from desktop_app.qc.runner import run_qc
    from tests.qc.qc_data import generated_network, read_ioos_series, tmy3_station_dataset

    out: dict[str, np.ndarray] = {}
    t, x = read_ioos_series()
    x = x.copy()
    x[::997] = np.nan  # missing values, as live series have them
    out["gross_range"] = checks.gross_range(x, (10.0, 30.0), (12.0, 28.0))
    out["rate_of_change"] = checks.rate_of_change(x, t, 0.001, 0.01)
    out["spike"] = checks.spike(x, 0.5, 2.0)
    out["spike_differential"] = checks.spike(x, 0.5, 2.0, method="differential")
    out["flat_line"] = checks.flat_line(x, t, 3600, 7200, 0.01)
    out["robust_outlier"] = checks.robust_outlier(x, 3.0, 5.0)
    lo = np.linspace(12.0, 16.0, 12)
    out["climatology"] = checks.climatology(x, t, lo, lo + 10.0)

    ds = tmy3_station_dataset()
    cfg = config.default_config()
    temp = dict(cfg.variables["temperature"].tests)
    temp["climatology"] = params.Climatology(tuple(np.full(12, -5.0)), tuple(np.full(12, 30.0)))
    cfg.variables["temperature"] = config.VariableQC(temp)
    flagged, _ = run_qc(ds, cfg)
    for name in flagged.data_vars:
        if str(name).endswith("_qc"):
            out[f"runner/{name}"] = flagged[name].values

    n = PARALLEL_MIN_STATIONS + 1000  # the threaded neighbour scan and one-step driver
    lats, lons, elevs, values = generated_network(n, seed=7)
    nb = StationIndex(lats, lons).neighbours(np.full(n, 30000.0))
    out["neighbours/order"], out["neighbours/indptr"] = nb.order, nb.indptr
    out["neighbours/indices"] = nb.indices
    out["buddy_one_step"] = checks.buddy_check(lats, lons, elevs, values, 30000.0, 5, 2.0,
                                               200.0, -0.0065, 0.8, 3)
    series = values[:, None] + np.random.default_rng(8).normal(0.0, 0.5, (n, 40))
    out["buddy_blocks"] = checks.buddy_check(lats, lons, elevs, series, 30000.0, 5, 2.0,
                                             200.0, -0.0065, 0.8, 3)
    return out


def _count_calls() -> Counter[str]:
    """Wrap each compiled entry point, as ``_dispatch`` hands it out, in a counter."""
    from desktop_app.qc import _dispatch

    calls: Counter[str] = Counter()
    checked = _dispatch._checked

    def counting(name: str, compiled: Any, args: str) -> Any:
        call = checked(name, compiled, args)

        def counted(*values: Any) -> Any:
            calls[name] += 1
            return call(*values)

        return counted

    _dispatch._checked = counting
    return calls


def main(aot_dir: str, target: str) -> None:
    sys.path.insert(0, str(ROOT))
    import desktop_app.qc

    desktop_app.qc.__path__.insert(0, aot_dir)
    from desktop_app.qc import _dispatch

    assert _dispatch.AOT is not None, f"no compiled module in {aot_dir}"
    calls = _count_calls()
    got = results()
    np.savez(target, **got, __module__=np.array(_dispatch.AOT.__name__),
             __called__=np.array(sorted(calls)))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
