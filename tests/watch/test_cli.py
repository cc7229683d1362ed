"""``microclimate watch`` against a real loopback HTTP server replaying the recorded
Open-Meteo answer (see replay.py)."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pandas as pd
import pytest

from desktop_app.cli import main
from desktop_app.watch.store import Store
from tests.watch.replay import Replay


@pytest.fixture
def server():
    replay = Replay()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            assert self.path.startswith("/v1/forecast?")
            body = json.dumps(replay.answer(replay.step)).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield replay, f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def write_config(tmp_path, url, extra=""):
    cfg = tmp_path / "watch.toml"
    cfg.write_text(f'interval_minutes = 1\ndatabase = "w.sqlite"\nopenmeteo_url = "{url}"\n'
                   f'{extra}[[stations]]\nid = "berlin"\nlatitude = 52.52\n'
                   'longitude = 13.41\n', encoding="utf-8")
    return cfg


def test_run_twice_resumes_and_export(server, tmp_path, capsys):
    replay, url = server
    cfg = write_config(tmp_path, url)
    for step in range(3):
        replay.step = step
        assert main(["watch", "run", "--config", str(cfg), "--polls", "1"]) == 0
    out = capsys.readouterr().out
    assert "stopped after 1 poll(s): 1 new values" in out
    with Store(tmp_path / "w.sqlite") as store:
        times, values, _ = store.history("berlin", "temperature")
        hourly = replay.hourly
        assert values.tolist() == hourly["temperature_2m"][:3]
        assert times.tolist() == (np.array(hourly["time"][:3], "datetime64[s]")
                                  .astype(np.int64) - 3600).tolist()
    out_csv = tmp_path / "pairs.csv"
    assert main(["watch", "export", "--config", str(cfg), str(out_csv), "--all-flags"]) == 0
    frame = pd.read_csv(out_csv)
    assert len(frame) == 3  # hours 1 and 2 forecast from hour 0, hour 2 from hour 1
    np.testing.assert_allclose(frame["error"], frame["forecast"] - frame["observed"])


def test_bad_config_is_one_line(tmp_path, capsys):
    cfg = write_config(tmp_path, "http://127.0.0.1:9", extra="intervall = 3\n")
    assert main(["watch", "run", "--config", str(cfg)]) == 1
    err = capsys.readouterr().err
    assert "unknown key 'intervall'" in err and "Traceback" not in err
    cfg = write_config(tmp_path, "http://127.0.0.1:9", extra="")
    cfg.write_text(cfg.read_text().replace("interval_minutes = 1", "interval_minutes = 30"))
    assert main(["watch", "run", "--config", str(cfg)]) == 1
    assert "outside 1..5" in capsys.readouterr().err


def test_values_lost_on_a_full_disk_are_an_error(server, tmp_path, capsys):
    """The rows a poll could not store are kept for retry while the watch runs; a run
    that ends with them unstored says so and exits 1 (it used to exit 0)."""
    from tests.fsfaults import full_folder, leave_free

    replay, url = server
    with full_folder(tmp_path, size_kb=1024) as folder:
        cfg = write_config(folder, url)
        replay.step = 0
        assert main(["watch", "run", "--config", str(cfg), "--polls", "1"]) == 0
        leave_free(folder, 12)  # room to open the store (WAL), not to store a poll
        replay.step = 1
        assert main(["watch", "run", "--config", str(cfg), "--polls", "1"]) == 1
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and "not stored" in err[0] and "w.sqlite" in err[0], err
