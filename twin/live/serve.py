"""``twin serve``: run a scenario in paced real time and serve it over HTTP until it ends
(``--exit-at-end``), a client stops it (``POST /twin/v1/control {"action": "stop"}`` ends
the run, which is written, and the server with it) or the user interrupts (Ctrl-C ends the
run at that instant and writes it, like stop)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

from twin.live.api import create_app
from twin.live.service import LiveTwin
from twin.scenario import Scenario
from twin.store import OutputError
from twin.store.rundir import check_target


def base_url(host: str, port: int) -> str:
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}/tmf-api"


def serve(scenario: Scenario, out: Path, *, host: str = "127.0.0.1", port: int = 8642,
          speed: float = 60.0, trap_to: tuple[str, int] | None = None,
          syslog_to: tuple[str, int] | None = None, token: str | None = None,
          expose_truth: bool = False, exit_at_end: bool = False, paused: bool = False,
          say: Callable[[str], None] = print) -> LiveTwin:
    """Serve until the end; the finished :class:`LiveTwin` (``.run`` its run directory, or
    ``.error`` why the run failed)."""
    import uvicorn

    check_target(Path(out).resolve(), "run")  # before anything starts
    twin = LiveTwin(scenario, out, speed, base_url(host, port), trap_to, syslog_to,
                    expose_truth, paused)
    app = create_app(twin, token)
    config = uvicorn.Config(app, host=host, port=port, log_level="warning",
                            access_log=False, lifespan="off")
    server = uvicorn.Server(config)

    def watch() -> None:
        twin.wait()  # the run is written (or failed): end with it, or wait for a stop
        if not (exit_at_end or twin.pacer.stop_requested or twin.error is not None):
            twin.pacer.wait_stop()
        server.should_exit = True

    twin.start()
    if twin.error is not None and twin.done.is_set():
        raise OutputError(twin.error) if twin.error.startswith("OutputError") else \
            RuntimeError(twin.error)
    threading.Thread(target=watch, daemon=True).start()
    say(f"serving {scenario.name} at speed {speed:g} on {base_url(host, port)} "
        f"(OpenAPI: http://{host}:{port}/openapi.json, metrics: /metrics)")
    try:
        server.run()
    except KeyboardInterrupt:
        pass
    finally:
        twin.close()
    return twin
