"""Benchmark the sources layer against what a user would otherwise do, in one run.

1. ERA5, a month of hourly data on a ~100x100 grid: reopening it from our cache (a
   canonical NetCDF, checksum-verified) vs plain ``xarray.open_dataset`` on the
   CDS-style legacy file plus the manual fix-ups (flip latitude, K -> degC, m -> mm,
   rename, float32). The ERA5 file is GENERATED (synthetic values in the legacy CDS
   encoding: int16 packed, latitude descending, hours since 1900); its numbers say
   nothing about the weather, only about the I/O path.
2. Open-Meteo, 1,000 points from a loopback HTTP server that replays the recorded
   real Berlin forecast body (tests/data/sources/openmeteo/): our batched client (100
   points per request), the same batch again from the cache (offline), and one plain
   ``httpx`` request per point with hand-written JSON-to-array parsing.

Time is the best of ``--repeat`` runs; peak memory is tracemalloc's peak (Python and
NumPy allocations; C-library buffers inside netCDF4/HDF5 are not seen) in a separate run.
Run: python benchmarks/bench_sources.py [--points 1000] [--grid 100] [--days 31]
"""

from __future__ import annotations

import argparse
import gc
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import xarray as xr

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from desktop_app.sources.cache import RequestCache  # noqa: E402
from desktop_app.sources.context import cache_grid, load_cached_grid  # noqa: E402
from desktop_app.sources.era5_files import open_era5  # noqa: E402
from desktop_app.sources.http import HttpClient  # noqa: E402
from desktop_app.sources.openmeteo import OpenMeteo  # noqa: E402
from tests.sources.helpers import LoopbackServer, Reply, as_batch, recorded  # noqa: E402


def measure(fn: Callable[[], Any], repeat: int) -> tuple[float, float]:
    """(best seconds, peak MiB)."""
    best = float("inf")
    for _ in range(repeat):
        gc.collect()
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    gc.collect()
    tracemalloc.start()
    fn()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return best, peak / 2**20


def make_generated_legacy_era5(path: Path, n: int, days: int) -> None:
    """GENERATED data in the legacy CDS NetCDF encoding (see module docstring)."""
    rng = np.random.default_rng(0)
    hours = days * 24
    time_h = np.arange(hours, dtype="int32") + 1043832  # 2019-01-01 in hours since 1900
    lat = np.linspace(60.0, 60.0 - 0.25 * (n - 1), n, dtype="float32")  # descending
    lon = np.linspace(0.0, 0.25 * (n - 1), n, dtype="float32")
    diurnal = 5.0 * np.sin(2 * np.pi * np.arange(hours) / 24.0)[:, None, None]
    t2m = 275.0 + diurnal + rng.normal(0, 1.0, (hours, n, n))
    tp = np.clip(rng.gamma(0.3, 0.0005, (hours, n, n)) - 0.0002, 0, None)

    def packed(values: np.ndarray, units: str, long_name: str) -> xr.DataArray:
        lo, hi = float(values.min()), float(values.max())
        scale = (hi - lo) / (2**16 - 2)
        offset = (hi + lo) / 2
        data = np.round((values - offset) / scale).astype("int16")
        return xr.DataArray(data, dims=("time", "latitude", "longitude"),
                            attrs={"units": units, "long_name": long_name,
                                   "scale_factor": scale, "add_offset": offset,
                                   "missing_value": np.int16(-32767)})

    ds = xr.Dataset(
        {"t2m": packed(t2m, "K", "2 metre temperature"),
         "tp": packed(tp, "m", "Total precipitation")},
        coords={"time": ("time", time_h, {"units": "hours since 1900-01-01 00:00:00.0",
                                          "calendar": "gregorian"}),
                "latitude": ("latitude", lat, {"units": "degrees_north"}),
                "longitude": ("longitude", lon, {"units": "degrees_east"})},
        attrs={"Conventions": "CF-1.6", "comment": "GENERATED benchmark data, not ERA5"},
    )
    encoding = {v: {"dtype": "int16", "_FillValue": np.int16(-32767)} for v in ("t2m", "tp")}
    ds.to_netcdf(path, format="NETCDF3_64BIT", encoding=encoding)


def manual_open(path: Path) -> xr.Dataset:
    """What a user writes without our layer: open, then fix up by hand."""
    with xr.open_dataset(path) as raw:
        ds = raw.load()
    ds = ds.sortby("latitude")
    out = xr.Dataset(coords=ds.coords)
    out["temperature"] = (ds["t2m"] - 273.15).astype("float32")
    out["precipitation"] = (ds["tp"] * 1000.0).clip(min=0).astype("float32")
    out["temperature"].attrs = {"units": "degC", "standard_name": "air_temperature"}
    out["precipitation"].attrs = {"units": "mm"}
    return out


def bench_era5(tmp: Path, n: int, days: int, repeat: int) -> list[tuple[str, float, float]]:
    raw = tmp / "generated_legacy_era5.nc"
    make_generated_legacy_era5(raw, n, days)
    cache = RequestCache(tmp / "cache")
    key: dict[str, object] = {"bench": "era5", "n": n, "days": days}
    cache_grid(cache, key, open_era5(raw), what="bench")
    first = load_cached_grid(cache, key)
    manual = manual_open(raw)
    assert first is not None
    np.testing.assert_allclose(first["temperature"].values, manual["temperature"].values,
                               atol=1e-3)
    print(f"ERA5 (GENERATED): {days * 24} hours x {n} x {n}, raw legacy file "
          f"{raw.stat().st_size / 2**20:.1f} MiB")
    rows = [
        ("ours: reopen from cache", *measure(lambda: load_cached_grid(cache, key), repeat)),
        ("plain open_dataset + manual fix-ups", *measure(lambda: manual_open(raw), repeat)),
        ("ours: first open of the raw file (open_era5)", *measure(lambda: open_era5(raw),
                                                                  repeat)),
    ]
    return rows


def per_point_plain(url: str, lats: np.ndarray, lons: np.ndarray) -> np.ndarray:
    """One plain httpx request per point, JSON turned into arrays by hand."""
    out = []
    with httpx.Client(timeout=30) as client:
        for la, lo in zip(lats, lons, strict=True):
            body = client.get(f"{url}/v1/forecast", params={
                "latitude": f"{la:.5f}", "longitude": f"{lo:.5f}",
                "hourly": "temperature_2m"}).json()
            out.append(np.array(body["hourly"]["temperature_2m"], dtype="float64"))
    return np.stack(out)


def bench_openmeteo(tmp: Path, points: int, repeat: int) -> list[tuple[str, float, float]]:
    body = recorded("homeassistant_forecast_berlin.json")

    def route(method: str, path: str, query: dict[str, list[str]]) -> Reply:
        count = len(query["latitude"][0].split(","))
        return Reply(200, body if count == 1 else as_batch(body, count),
                     {"Content-Type": "application/json"})

    rng = np.random.default_rng(1)
    lats = rng.uniform(45, 55, points)
    lons = rng.uniform(0, 15, points)
    with LoopbackServer(route) as server:
        http = HttpClient()

        def batched_cold() -> xr.Dataset:
            om = OpenMeteo(forecast_url=server.url, http=http, cache=None, batch_size=100)
            return om.fetch_points(lats, lons, ["temperature"])

        warm_cache = RequestCache(tmp / "om-cache")
        OpenMeteo(forecast_url=server.url, http=http, cache=warm_cache,
                  batch_size=100).fetch_points(lats, lons, ["temperature"])

        def batched_cached() -> xr.Dataset:
            om = OpenMeteo(forecast_url=server.url, http=http, cache=warm_cache,
                           offline=True, batch_size=100)
            return om.fetch_points(lats, lons, ["temperature"])

        ours = batched_cold()["temperature"].values
        plain = per_point_plain(server.url, lats, lons)
        np.testing.assert_allclose(ours, plain, atol=1e-5)
        print(f"Open-Meteo: {points} points x 168 h, recorded real body via loopback HTTP")
        return [
            ("ours: batched, 100 points/request", *measure(batched_cold, repeat)),
            ("ours: same batch from cache (offline)", *measure(batched_cached, repeat)),
            ("plain httpx, one request per point", *measure(
                lambda: per_point_plain(server.url, lats, lons), max(1, repeat - 1))),
        ]


def report(title: str, rows: list[tuple[str, float, float]], baseline: int) -> None:
    print(f"\n{title}")
    print(f"  {'':46s} {'time s':>9s} {'peak MiB':>9s} {'time ratio':>11s} {'mem ratio':>10s}")
    base_t, base_m = rows[baseline][1], rows[baseline][2]
    for name, seconds, mib in rows:
        print(f"  {name:46s} {seconds:9.3f} {mib:9.1f} {base_t / seconds:10.1f}x "
              f"{base_m / mib if mib else float('nan'):9.1f}x")
    print(f"  (ratios: '{rows[baseline][0]}' divided by the row; >1 means the row is "
          "faster / smaller)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=1000)
    parser.add_argument("--grid", type=int, default=100)
    parser.add_argument("--days", type=int, default=31)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        era5 = bench_era5(tmp, args.grid, args.days, args.repeat)
        report("ERA5 month, reopen", era5, baseline=1)
        om = bench_openmeteo(tmp, args.points, args.repeat)
        report("Open-Meteo 1,000-point batch", om, baseline=2)


if __name__ == "__main__":
    main()
