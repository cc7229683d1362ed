"""Station observations as targets, on the bundled sample region after running QC on it.

The sample region's terrain is real, its weather and station values are GENERATED (its
files say so): these tests check which observations become targets, that held-out
stations and days never reach training, and that the card's station scores are what an
independent computation gives. They say nothing of a model's skill.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

torch = pytest.importorskip("torch", reason="the trainer needs torch (the [train] extra)")

from desktop_app.core.flags import QCFlag  # noqa: E402
from desktop_app.downscale.baseline import lapse_rate_baseline  # noqa: E402
from desktop_app.errors import ConfigError, TrainingError  # noqa: E402
from desktop_app.qc.config import default_config  # noqa: E402
from desktop_app.qc.runner import run_qc  # noqa: E402
from desktop_app.training.config import load_config  # noqa: E402
from desktop_app.training.dataset import TrainingData, build_dataset  # noqa: E402
from desktop_app.training.export import export_run  # noqa: E402
from desktop_app.training.trainer import SPLIT, start  # noqa: E402
from desktop_app.verify.stations import nearest_cells  # noqa: E402
from tests.training.finetune_helpers import REGION, SAMPLE_DATA, TINY_TRAIN  # noqa: E402

SPIKE = np.datetime64("2024-07-16T06:00", "ns")  # SYN-02's injected +12 degC spike

CONFIG = SAMPLE_DATA + """{data_extra}

[model]
channels = 4
layers = 2

[loss]
smoothness = 0.1
""" + TINY_TRAIN + """
[export]
name = "station-test"
"""


def write_config(folder: Path, stations: Path, seed: int = 3, data_extra: str = "") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"train-{seed}.toml"
    path.write_text(CONFIG.format(region=REGION, stations=stations, seed=seed,
                                  data_extra=data_extra), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def flagged(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample stations with the app's default QC flags, as `microclimate qc` writes."""
    with xr.open_dataset(REGION / "stations.nc") as ds:
        out, _ = run_qc(ds.load(), default_config())
    path = tmp_path_factory.mktemp("qc") / "stations_qc.nc"
    out.to_netcdf(path)
    return path


@pytest.fixture(scope="module")
def data(flagged: Path, tmp_path_factory: pytest.TempPathFactory) -> TrainingData:
    cfg = load_config(write_config(tmp_path_factory.mktemp("cfg"), flagged))
    return build_dataset(cfg.data, seed=cfg.train.seed)


def test_only_qc_passed_observations_are_targets(data: TrainingData, flagged: Path) -> None:
    with xr.open_dataset(flagged) as ds:
        obs = ds["temperature"].transpose("time", "station").values
        flags = ds["temperature_qc"].transpose("time", "station").values
        ids = ds["station_id"].values.astype(str)
        times = ds["time"].values
    st = data.station_set
    assert st is not None and st.flag_source == "file"
    passed = flags == QCFlag.PASS
    assert st.counts["accepted"] == int((passed & np.isfinite(obs)).sum()) == 420
    assert st.counts["rejected_by_qc"] == int((~passed & np.isfinite(obs)).sum()) > 0
    col = {sid: k for k, sid in enumerate(ids)}
    for split in (data.train, data.val, data.test):
        assert split is not None and split.stations is not None
        steps = np.searchsorted(times, split.times)
        for k, sid in enumerate(split.stations.ids):
            target = split.stations.obs[:, k]
            raw, ok = obs[steps, col[sid]], passed[steps, col[sid]]
            np.testing.assert_array_equal(np.isfinite(target), ok & np.isfinite(raw))
            np.testing.assert_array_equal(target[ok], raw[ok])
    # the injected spike was flagged by QC and is no target anywhere
    t = int(np.flatnonzero(times == SPIKE)[0])
    assert flags[t, col["SYN-02"]] == QCFlag.FAIL
    assert np.isnan(st.values[t, list(st.ids).index("SYN-02")])


def test_split_by_station_and_day_has_no_leakage(data: TrainingData) -> None:
    st = data.station_set
    assert st is not None and data.test is not None
    train, val, test = (set(st.split[k]) for k in ("train", "val", "test"))
    assert train | val | test == {f"SYN-0{k}" for k in range(1, 7)}
    assert not (train & val or train & test or val & test)
    assert set(data.train.days).isdisjoint(data.val.days + data.test.days)
    assert set(data.val.days).isdisjoint(data.test.days)
    for split, stations in ((data.train, train), (data.val, val), (data.test, test)):
        assert split.stations is not None
        assert set(split.stations.ids) == stations  # only the split's own stations...
        assert split.stations.obs.shape == (split.times.size, len(stations))
        days = set(split.times.astype("datetime64[D]").astype(str))
        assert days == set(split.days)  # ...and only on the split's own days
    # every training sample (pair of steps) lies on training days
    pair_days = data.train.times[data.train.pairs].astype("datetime64[D]").astype(str)
    assert set(pair_days.ravel()) <= set(data.train.days)
    record = data.split_record()
    assert record["seed"] == 3 and record["test_stations"] == sorted(test)


def test_station_split_is_deterministic_from_the_seed(flagged: Path, tmp_path: Path) -> None:
    splits = {}
    for seed in range(6):
        cfg = load_config(write_config(tmp_path, flagged, seed=seed))
        a = build_dataset(cfg.data, seed).station_set
        b = build_dataset(cfg.data, seed).station_set
        assert a is not None and b is not None and a.split == b.split
        splits[seed] = json.dumps(a.split, sort_keys=True)
    assert len(set(splits.values())) > 1  # the seed does choose the held-out stations


def test_listed_stations_and_bad_station_lists(flagged: Path, tmp_path: Path) -> None:
    cfg = load_config(write_config(tmp_path, flagged, data_extra=(
        'val_stations = ["SYN-01"]\ntest_stations = ["SYN-04", "SYN-06"]')))
    st = build_dataset(cfg.data, 0).station_set
    assert st is not None
    assert st.split == {"train": ["SYN-02", "SYN-03", "SYN-05"], "val": ["SYN-01"],
                        "test": ["SYN-04", "SYN-06"]}
    cfg.data.test_stations = ["SYN-99"]
    with pytest.raises(TrainingError, match="test_stations: station 'SYN-99'"):
        build_dataset(cfg.data, 0)
    cfg.data.test_stations = ["SYN-01"]
    with pytest.raises(TrainingError, match="overlap"):
        build_dataset(cfg.data, 0)


def test_station_config_keys_are_strict(flagged: Path, tmp_path: Path) -> None:
    for extra, message in (('station_flags = ["pass", "suspect"]', "'suspect'"),
                           ("station_holdout = 0.6", "station_holdout"),
                           ('station_holdout = "a lot"', "'data.station_holdout' must be a "
                                                         "number"),
                           ('station_id = "SYN-01"', "unknown config key 'data.station_id'")):
        with pytest.raises(ConfigError, match=message):
            load_config(write_config(tmp_path, flagged, data_extra=extra))


def test_unflagged_file_is_quality_controlled_and_not_evaluated_is_opt_in(
        tmp_path: Path) -> None:
    raw = REGION / "stations.nc"  # no temperature_qc: the trainer runs the app's QC
    cfg = load_config(write_config(tmp_path, raw))
    st = build_dataset(cfg.data, 0).station_set
    assert st is not None and st.flag_source.startswith("run_qc")
    assert st.counts["accepted"] == 420
    # a QC config whose only test cannot evaluate anything (too few buddies)
    qc = tmp_path / "qc.toml"
    qc.write_text("use_defaults = false\n[variables.temperature]\n"
                  "buddy_check = { radius = 50000.0, num_min = 10 }\n")
    cfg.data.station_qc = str(qc)
    with pytest.raises(TrainingError, match="empty dataset: no QC-passed"):
        build_dataset(cfg.data, 0)
    cfg.data.station_flags = ["pass", "not_evaluated"]
    st = build_dataset(cfg.data, 0).station_set
    assert st is not None and st.counts["accepted"] == 428  # every present value


def test_train_and_export_scores_held_out_stations(flagged: Path, tmp_path: Path) -> None:
    cfg = load_config(write_config(tmp_path / "cfg", flagged))
    trainer = start(cfg, tmp_path / "run")
    result = trainer.run()
    assert result.stopped == "finished" and np.isfinite(result.best_val_rmse)
    rows = [json.loads(x) for x in (tmp_path / "run" / "metrics.jsonl").read_text()
            .splitlines()]
    assert rows[-1]["val_station_rmse"] == pytest.approx(rows[-1]["val_rmse"])
    exported = export_run(trainer)
    card = json.loads(exported.card_path.read_text())
    split = json.loads((tmp_path / "run" / SPLIT).read_text())
    assert card["metrics"]["split"] == split
    block = card["metrics"]["stations"]
    assert "GENERATED" in block["note"]
    assert [r["station_id"] for r in block["per_station"]] == split["test_stations"]
    # the card's baseline score, recomputed independently: the app's lapse-rate
    # baseline at each test station's nearest cell vs its QC-passed values on the test day
    with xr.open_dataset(REGION / "coarse.nc") as c, xr.open_dataset(
            REGION / "terrain.nc") as t, xr.open_dataset(flagged) as s:
        day = slice("2024-07-17", "2024-07-17T23:00")
        base = lapse_rate_baseline(c.sel(time=day).load(), t.load())["temperature"]
        obs = s.sel(time=day).load()
    keep = np.isin(obs["station_id"].values.astype(str), split["test_stations"])
    i, j, _ = nearest_cells(base["latitude"].values, base["longitude"].values,
                            obs["latitude"].values[keep], obs["longitude"].values[keep])
    o = obs["temperature"].values[keep].T
    o = np.where(obs["temperature_qc"].values[keep].T == QCFlag.PASS, o, np.nan)
    err = base.values[:, i, j] - o
    expected = float(np.sqrt(np.nanmean(err ** 2)))
    baseline_row = next(r for r in block["rows"] if r["forecast"] == "baseline")
    assert baseline_row["n"] == int(np.isfinite(err).sum()) > 0
    assert baseline_row["rmse"] == pytest.approx(expected, abs=2e-3)
    assert {r["forecast"] for r in block["rows"]} == {"model", "baseline", "bilinear"}


def test_cli_prints_station_scores_or_says_there_are_none(flagged: Path, tmp_path: Path,
                                                          capsys) -> None:
    from desktop_app.cli import main

    cfg = write_config(tmp_path, flagged, data_extra=(
        'station_holdout = 0.0\nval_stations = ["SYN-01"]'))
    assert main(["train", "--config", str(cfg), "--out", str(tmp_path / "run")]) == 0
    text = capsys.readouterr().out
    assert "no test stations were held out" in text and "RMSE" not in text.split(
        "stations:")[-1]
    card = json.loads((tmp_path / "run" / "model" / "station-test-0.1.0.json").read_text())
    assert "rows" not in card["metrics"]["stations"]
    assert card["metrics"]["split"]["test_stations"] == []


def test_resume_refuses_a_changed_split(flagged: Path, tmp_path: Path) -> None:
    from desktop_app.training.trainer import resume

    stations = tmp_path / "stations.nc"
    with xr.open_dataset(flagged) as ds:
        ds.load().to_netcdf(stations)
    cfg = load_config(write_config(tmp_path / "cfg", stations))
    start(cfg, tmp_path / "run")  # writes config.json and split.json
    assert resume(tmp_path / "run").step == 0  # same data: fine
    with xr.open_dataset(stations) as ds:
        changed = ds.load()
    changed["temperature_qc"][:, :10] = QCFlag.FAIL  # someone re-ran QC differently
    changed.to_netcdf(stations)
    with pytest.raises(TrainingError, match=r"changed since the run started \(station_counts"):
        resume(tmp_path / "run")
