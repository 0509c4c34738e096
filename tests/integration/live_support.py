"""Helpers for the live-twin tests: a small fibre-cut scenario, a served twin on a free
loopback port, and a hub listener that records what it is sent."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import uvicorn
import yaml

from twin.live.api import create_app
from twin.live.serve import base_url
from twin.live.service import LiveTwin
from twin.scenario import Scenario, load

from .support import QUICKSTART, SCENARIOS

CUT_AT = 3600.0  # the fibre cut, one hour in
CUT = "site1-site2"


def scenario_text(duration: str = "12h", subscribers: int = 500, cut_at: str = "1h") -> str:
    """The quickstart shrunk to 12 hours and 500 lines, its fibre cut one hour in, one NOC
    operator taking 30 minutes per incident (so an outside tool acknowledges first)."""
    data = yaml.safe_load(QUICKSTART.read_text(encoding="utf-8"))
    data["duration"] = duration
    data["subscribers"]["count"] = subscribers
    data["faults"]["scripted"] = [{"at": cut_at, "target": CUT, "mode": "fibre_cut"}]
    data["oss"]["noc"] = {"operators": 1, "triage_mean_s": 1800,
                          "triage_dist": "deterministic"}
    data["bss"]["catalog"] = str(SCENARIOS / "catalogs" / "default.yaml")
    return yaml.safe_dump(data, sort_keys=False)


def small_scenario(tmp: Path) -> tuple[Path, Scenario]:
    path = tmp / "live_cut.yaml"
    path.write_text(scenario_text(), encoding="utf-8")
    return path, load(path)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Served:
    def __init__(self, twin: LiveTwin, url: str, server: uvicorn.Server) -> None:
        self.twin, self.url, self.server = twin, url, server
        self.client = httpx.Client(base_url=url, timeout=10)

    def wait_state(self, state: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while self.twin.pacer.state != state:
            assert time.monotonic() < deadline, f"still {self.twin.pacer.state}, not {state}"
            time.sleep(0.02)


@contextmanager
def served(sc: Scenario, out: Path, *, speed: float = 1e6, paused: bool = True,
           token: str | None = None, **kw: Any) -> Iterator[Served]:
    """A twin served by uvicorn on a free loopback port (started paused by default)."""
    port = free_port()
    twin = LiveTwin(sc, out, speed, base_url("127.0.0.1", port), paused=paused, **kw)
    server = uvicorn.Server(uvicorn.Config(create_app(twin, token), host="127.0.0.1",
                                           port=port, log_level="warning", lifespan="off"))
    th = threading.Thread(target=server.run, daemon=True)
    th.start()
    while not server.started:
        time.sleep(0.01)
    twin.start()
    s = Served(twin, f"http://127.0.0.1:{port}", server)
    try:
        yield s
    finally:
        s.client.close()
        twin.close()
        server.should_exit = True
        th.join(10)


class Listener:
    """An HTTP server recording every POST (path, JSON body) in arrival order."""

    def __init__(self, fail_first: int = 0) -> None:
        self.received: list[tuple[str, dict[str, Any]]] = []
        self.fail_left = fail_first
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                if outer.fail_left > 0:
                    outer.fail_left -= 1
                    self.send_response(503)
                else:
                    outer.received.append((self.path, json.loads(body)))
                    self.send_response(201)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/cb"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def pause_at(twin: LiveTwin, at: float) -> None:
    """Let a paused twin run to simulated second ``at`` and wait until it holds there."""
    twin.pacer.pause(at)
    twin.pacer.resume()
    deadline = time.monotonic() + 120
    while not (twin.pacer.state == "paused" and twin.pacer.now == at):
        assert time.monotonic() < deadline and twin.error is None, twin.error
        time.sleep(0.01)
