import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from desktop_app.cli import main
from desktop_app.inference import runtime
from tests.inference.helpers import BUNDLED_SPEC

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data" / "inference"


@pytest.fixture(autouse=True)
def private_home(tmp_path, monkeypatch):
    monkeypatch.setenv("MICROCLIMATE_HOME", str(tmp_path / "home"))


def test_forecast_sample_region_then_verify(tmp_path, capsys):
    out = tmp_path / "fc.nc"
    assert main(["forecast", "--provider", "cpu", "--threads", "1", "--quiet",
                 "--out", str(out)]) == 0
    stdout = capsys.readouterr().out
    assert "CPU" in stdout and BUNDLED_SPEC in stdout
    with xr.open_dataset(out) as ds:
        assert ds.attrs["model_name"] == "era5-uk-downscaler"
        assert ds.attrs["model_trained"] == "yes"
        assert ds.sizes["time"] == 72
    obs = ROOT / "resources" / "sample_region" / "stations.nc"
    assert main(["verify", str(out), "--obs", str(obs), "--report",
                 str(tmp_path / "rep")]) == 0
    text = capsys.readouterr().out
    assert text.startswith("note: the observations are GENERATED")
    report = json.loads((tmp_path / "rep.json").read_text())
    assert report["n_stations"] == 6
    # verify scores every baseline the forecast carries, beside the model and bilinear
    assert [r["forecast"] for r in report["rows"]] == [
        "model", "baseline", "lapse_estimated", "lapse_fixed", "bilinear"]


def test_forecast_prints_the_baseline_and_the_guard_and_force_model_overrides(tmp_path,
                                                                            capsys):
    out = tmp_path / "fc.nc"
    assert main(["forecast", "--provider", "cpu", "--quiet", "--out", str(out)]) == 0
    lines = capsys.readouterr().out.splitlines()
    with xr.open_dataset(out) as ds:
        method, chosen = ds.attrs["baseline_method"], ds.attrs["baseline_selection"]
    assert chosen.startswith(f"{method}: ") and "leave-one-cell-out RMSE" in chosen
    assert f"baseline: {method} (" in lines[1] and lines[1].endswith(f"chosen: {chosen}")
    guard_lines = [line for line in lines if line.startswith("guard")]
    assert len(guard_lines) == 1  # one line
    assert guard_lines[0].startswith("guard: 72 of 72 steps outside the model's training")
    with xr.open_dataset(out) as ds:
        assert int(ds["model_used"].sum()) == 0 and ds.attrs["model_steps"] == 0
        assert ds.attrs["guard"] == guard_lines[0]
    forced = tmp_path / "forced.nc"
    assert main(["forecast", "--provider", "cpu", "--quiet", "--force-model", "--out",
                 str(forced)]) == 0
    assert "guard overridden (--force-model)" in capsys.readouterr().out
    with xr.open_dataset(forced) as ds:
        assert int(ds["model_used"].sum()) == 72


def test_forecast_from_files(tmp_path):
    out = tmp_path / "uk.nc"
    assert main(["forecast", "--input", str(DATA / "era5_uk_coarse.nc"), "--dem",
                 str(DATA / "era5_uk_fine.nc"), "--quiet", "--out", str(out)]) == 0
    with xr.open_dataset(out) as ds:
        assert ds.sizes["latitude"] == 32 and ds.attrs["generated_values"] == "no"
        assert np.isfinite(ds["temperature"].values).all()
    forced = tmp_path / "forced.nc"
    assert main(["forecast", "--input", str(DATA / "era5_uk_coarse.nc"), "--dem",
                 str(DATA / "era5_uk_fine.nc"), "--quiet", "--baseline", "bilinear",
                 "--out", str(forced)]) == 0
    with xr.open_dataset(out) as ds, xr.open_dataset(forced) as fb:
        assert ds.attrs["baseline_selection"].startswith(ds.attrs["baseline_method"])
        assert "leave-one-cell-out" in ds.attrs["baseline_selection"]
        assert fb.attrs["baseline_method"] == "bilinear"
        assert fb.attrs["baseline_selection"] == "bilinear: forced by the user"
        np.testing.assert_array_equal(fb["temperature_baseline"].values,
                                      fb["temperature_bilinear"].values)
    # TopoSCALE needs pressure levels these files do not have: one line, nothing written
    assert main(["forecast", "--input", str(DATA / "era5_uk_coarse.nc"), "--dem",
                 str(DATA / "era5_uk_fine.nc"), "--quiet", "--baseline", "toposcale",
                 "--out", str(tmp_path / "t.nc")]) == 1
    assert not (tmp_path / "t.nc").exists()
    with pytest.raises(SystemExit):  # the INT8 option is gone (slower than FP32)
        main(["forecast", "--input", str(DATA / "era5_uk_coarse.nc"), "--dem",
              str(DATA / "era5_uk_fine.nc"), "--int8", "--out", str(tmp_path / "q.nc")])
    assert not (tmp_path / "q.nc").exists()


def test_missing_dem_and_bad_files_are_one_line_errors(tmp_path, capsys):
    assert main(["forecast", "--input", str(DATA / "era5_uk_coarse.nc"),
                 "--out", str(tmp_path / "x.nc")]) == 1
    assert "--dem" in capsys.readouterr().err
    junk = tmp_path / "junk.nc"
    junk.write_bytes(b"not netcdf")
    assert main(["forecast", "--input", str(junk), "--dem", str(junk),
                 "--out", str(tmp_path / "x.nc")]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "cannot read coarse input" in err
    assert not (tmp_path / "x.nc").exists()


@pytest.mark.skipif(runtime.cuda_probe()[0], reason="CUDA works here")
def test_cuda_without_cuda_exits_1_in_one_clean_line(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "desktop_app", "forecast", "--provider",
                           "cuda", "--out", str(tmp_path / "x.nc")],
                          capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert proc.returncode == 1
    assert proc.stderr.strip().count("\n") == 0, proc.stderr
    assert "CUDA requested but unavailable" in proc.stderr
    assert "Traceback" not in proc.stderr and "onnxruntime_src" not in proc.stderr
    assert not (tmp_path / "x.nc").exists()


def test_models_list_info_install_use_rollback(tmp_path, capsys):
    from tests.inference.helpers import write_model

    assert main(["models", "list"]) == 0
    assert BUNDLED_SPEC in capsys.readouterr().out
    assert main(["models", "info"]) == 0
    info = capsys.readouterr().out
    assert "check:      ok" in info and "runtime:" in info and "trained:    yes" in info
    src = write_model(tmp_path / "src", version="2.0.0")
    assert main(["models", "install", str(src), "--use"]) == 0
    assert "active for temperature: toy@2.0.0" in capsys.readouterr().out
    assert main(["models", "rollback"]) == 0
    assert BUNDLED_SPEC in capsys.readouterr().out
    assert main(["models", "use", "nope"]) == 1
    assert "no model 'nope'" in capsys.readouterr().err
