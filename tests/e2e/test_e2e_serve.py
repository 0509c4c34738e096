"""``twin serve`` as a user runs it: undisturbed at a high speed it writes the tables ``twin
run`` writes for the same seed; at speed 60 it answers on loopback (with its bearer token),
pauses, resumes and stops over the API, writing the run as of the stop; bad options exit 2
naming the option, nothing written."""

from __future__ import annotations

from pathlib import Path

import httpx
import pandas as pd
from e2e_support import spawn, wait_for
from e2e_support import twin as run_twin
from integration.live_support import free_port, scenario_text

import twin


def _scenario(tmp: Path) -> Path:
    path = tmp / "live_cut.yaml"
    path.write_text(scenario_text(), encoding="utf-8")
    return path


def test_serve_at_high_speed_writes_the_tables_of_twin_run(tmp_path: Path) -> None:
    scen = _scenario(tmp_path)
    done = run_twin("serve", str(scen), "--speed", "1e6", "--port", str(free_port()),
                    "--seed", "7", "--exit-at-end", "--out", str(tmp_path / "served"))
    assert done.returncode == 0, done.stderr
    assert "run directory:" in done.stdout
    served = twin.Run(tmp_path / "served")
    ran = twin.simulate(scen, seed=7, out=tmp_path / "ran", report=False)
    assert served.tables == ran.tables
    for name in ran.tables:
        pd.testing.assert_frame_equal(served.table(name), ran.table(name), check_exact=True,
                                      obj=f"table {name}")
    assert served.summary == ran.summary


def test_serve_pauses_resumes_and_stops_over_the_api(tmp_path: Path) -> None:
    scen = _scenario(tmp_path)
    port = free_port()
    proc = spawn("serve", str(scen), "--port", str(port), "--token", "t0k",
                 "--out", str(tmp_path / "run"))
    url = f"http://127.0.0.1:{port}"
    auth = {"Authorization": "Bearer t0k"}

    def up() -> bool:
        try:
            return httpx.get(f"{url}/twin/v1/status", headers=auth).status_code == 200
        except httpx.TransportError:
            return False

    wait_for(up, proc, timeout=120)
    assert httpx.get(f"{url}/twin/v1/status").status_code == 401
    c = httpx.Client(base_url=url, headers=auth, timeout=10)
    assert c.post("/twin/v1/control", json={"action": "pause"}).json()["state"] == "paused"
    t = c.get("/twin/v1/status").json()["simTime"]
    assert c.get("/twin/v1/status").json()["simTime"] == t  # the clock stands still
    assert c.post("/twin/v1/control", json={"action": "resume"}).json()["state"] == "running"
    wait_for(lambda: c.get("/twin/v1/status").json()["simTime"] > t + 30, proc)
    assert c.post("/twin/v1/control", json={"action": "stop"}).status_code == 200
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    run = twin.Run(tmp_path / "run")
    stopped = run.table("messages")["t"].max()
    assert t < stopped < 3600  # written as of the stop, long before the 12 h horizon
    assert "run directory:" in out


def test_bad_serve_options_exit_2_naming_the_option(tmp_path: Path) -> None:
    scen = _scenario(tmp_path)
    for args, named in ((["--trap-to", "nohost"], "--trap-to"),
                        (["--syslog-to", "h:99999"], "--syslog-to"),
                        (["--speed", "0"], "--speed"), (["--port", "-3"], "--port")):
        done = run_twin("serve", str(scen), *args, "--out", str(tmp_path / "never"))
        assert done.returncode == 2, (args, done.stderr)
        assert named in done.stderr
        assert not (tmp_path / "never").exists()
