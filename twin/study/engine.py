"""Where a study's runs execute: dask.distributed, or this process.

Every run is an independent simulation of one resolved scenario and seed, so the runs of a
study are a bag of tasks for a cluster: a ``LocalCluster`` of worker processes on this
machine by default (one simulation per process, as many processes as cores), or an existing
cluster given by its scheduler's address (``tcp://host:8786``) whose workers have the same
twin installed. ``workers=0`` runs them here, one after another, without Dask.

A task carries the resolved scenario as YAML text (catalog inlined), so workers need no
scenario files; it returns the run's summary. Results are handed back as they complete; a
run that raises is reported with its variant and seed and the others go on. A worker whose
twin differs from the client's (another release or edited source) refuses the run rather
than file a result under the wrong key.
"""

from __future__ import annotations

import logging
import os
import platform
import re
import shutil
import signal
import sys
import tempfile
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

from twin.scenario import ScenarioError

# Dask's statistical profiler samples the running task's stack every 10 ms: on a deep simpy
# stack that costs a third more CPU than the simulation itself. Its event-loop tick (20 ms)
# and memory and system monitors keep an idle local cluster at a tenth of a core; at 1 s
# and 5 s, at under 2 %. None of them changes what runs where.
QUIET = {
    "distributed.worker.profile.enabled": False,
    "distributed.admin.tick.interval": "1s",
    "distributed.worker.memory.monitor-interval": "1s",
    "distributed.admin.system-monitor.interval": "5s",
}
# On Linux local workers are forked from a process that has already imported the simulator:
# a spawned worker would spend about a CPU-second on each of distributed's and the twin's
# imports before its first run, a tenth of a quickstart run on a two-core machine.
FORK = sys.platform.startswith("linux")
_ADDRESS = re.compile(r"^(tcp|tls|ws|wss|ucx|inproc)://\S+$")


@dataclass(frozen=True)
class RunSpec:
    """One run to execute: its key, the resolved scenario, the seed and (``--keep-runs``)
    the run directory to write."""

    key: str
    scenario_yaml: str
    seed: int
    label: str
    keep_dir: str | None = None


@dataclass(frozen=True)
class Outcome:
    spec: RunSpec
    result: dict[str, Any] | None  # summary, twin_version, wall_s, cpu_s, worker
    error: str | None = None
    detail: str | None = None  # the traceback


def execute_run(scenario_yaml: str, seed: int, keep_dir: str | None,
                version: str, scratch: str | None = None) -> dict[str, Any]:
    """Simulate one run (on a worker) and return its summary. A run not kept is written
    under ``scratch`` where that exists on the worker (the study's own temporary directory,
    which it removes after stopping its local workers), else the worker's temporary
    directory."""
    import yaml

    from twin.api import simulate
    from twin.scenario.yamlfile import Loader
    from twin.study.cache import code_version

    mine = code_version()
    if mine != version:
        raise RuntimeError(f"this worker has twin {mine}, the client {version}: install the "
                           "same twin on every worker")
    data = yaml.load(scenario_yaml, Loader=Loader)  # a safe loader (libyaml's if built)
    t0, c0 = time.perf_counter(), time.process_time()
    if keep_dir is not None:
        summary = simulate(data, seed=seed, out=keep_dir, report=False).summary
    else:
        where = scratch if scratch is not None and os.path.isdir(scratch) else None
        with tempfile.TemporaryDirectory(prefix="twin-study-", dir=where) as tmp:
            summary = simulate(data, seed=seed, out=Path(tmp) / "run", report=False).summary
    return {"summary": summary, "twin_version": mine,
            "wall_s": round(time.perf_counter() - t0, 3),
            # CPU time of the process while it ran: the simulation and its Parquet writer
            # and reader threads (about 1.1 cores' worth on an idle machine); below wall_s
            # when other work had the cores
            "cpu_s": round(time.process_time() - c0, 3),
            "worker": f"{platform.node()}:{os.getpid()}"}


def check_scheduler(address: str | None, workers: int | None) -> None:
    """Argument checks that need no network: exit 2 before anything runs."""
    problems = []
    if address is not None and not _ADDRESS.match(address):
        problems.append(f"{address!r}: expected a scheduler address like tcp://host:8786")
    if workers is not None and workers < 0:
        problems.append(f"--workers: must be 0 (this process) or more (got {workers})")
    if address is not None and workers is not None:
        problems.append("--workers: the cluster at --scheduler has its own workers")
    if problems:
        raise ScenarioError("--scheduler", problems)


def local_cluster(workers: int) -> Any:
    """A ``distributed.LocalCluster`` for studies: ``workers`` processes of one thread each (a
    simulation is Python and holds its process's lock), Dask's profiler off and
    its monitors slowed (:data:`QUIET`). Pass its ``scheduler_address`` as ``scheduler=`` to
    run several studies on one cluster; close it when done (it is a context manager)."""
    import dask
    from distributed import LocalCluster

    # Ctrl-C reaches the whole process group: the study (the parent) stops its workers, so
    # they start with SIGINT ignored (inherited across exec) instead of printing tracebacks
    old = signal.signal(signal.SIGINT, signal.SIG_IGN) if _main_thread() else None
    config = dict(QUIET)
    if FORK:
        import twin.api  # noqa: F401  (what every run needs, inherited by the workers)

        config["distributed.worker.multiprocessing-method"] = "fork"
    try:
        with dask.config.set(config):  # the workers take the configuration when they start
            return LocalCluster(  # type: ignore[no-untyped-call]
                n_workers=workers, threads_per_worker=1, processes=True,
                # its HTTP endpoints on a free loopback port: 8787 may be another cluster's
                dashboard_address="127.0.0.1:0", silence_logs=logging.CRITICAL)
    finally:
        if old is not None:
            signal.signal(signal.SIGINT, old)


def _main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


class Engine:
    """Runs :class:`RunSpec` s; a context manager that owns its cluster, if it made one."""

    def __init__(self, scheduler: str | None = None, workers: int | None = None,
                 runs: int = 1) -> None:
        check_scheduler(scheduler, workers)
        self.scheduler = scheduler
        self.workers = workers
        self.runs = runs
        self.client: Any = None
        self.cluster: Any = None
        self.where = "this process"
        self.n_workers = 1
        # a killed worker cannot clean up the run it was writing: local workers write under
        # this directory, which goes once they have stopped
        self.scratch: str | None = None
        self._log_level: int | None = None

    def __enter__(self) -> Engine:
        if self.workers == 0 and self.scheduler is None:
            return self
        # a study reports its failed runs itself; Dask's own log lines (missed heartbeats on
        # a loaded machine, workers closing on Ctrl-C) would only bury its one-line messages
        self._log_level = logging.getLogger("distributed").level
        logging.getLogger("distributed").setLevel(logging.CRITICAL)
        from distributed import Client

        if self.scheduler is not None:
            try:
                self.client = Client(self.scheduler, timeout="10s")  # type: ignore[no-untyped-call]
                self.client.wait_for_workers(1, timeout=30)
            except (OSError, TimeoutError) as exc:
                if self.client is not None:
                    self.client.close()
                raise ScenarioError("--scheduler", [
                    f"{self.scheduler}: no scheduler with a worker answered ({exc})"]) from None
            self.n_workers = len(self.client.scheduler_info()["workers"])
            self.where = f"{self.scheduler} ({self.n_workers} workers)"
            return self
        n = self.workers or max(1, min(os.cpu_count() or 1, self.runs))
        self.scratch = tempfile.mkdtemp(prefix="twin-study-")
        self.cluster = local_cluster(n)
        self.client = Client(self.cluster)  # type: ignore[no-untyped-call]
        self.n_workers = n
        self.where = f"a local cluster ({n} worker processes)"
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self.client is not None:
            self.client.close()
        if self.cluster is not None:
            self.cluster.close()
        if self.scratch is not None:
            shutil.rmtree(self.scratch, ignore_errors=True)
        if self._log_level is not None:
            logging.getLogger("distributed").setLevel(self._log_level)
        self.client = self.cluster = self.scratch = self._log_level = None

    def run(self, specs: Sequence[RunSpec], version: str, done: Callable[[Outcome], None],
            idle: Callable[[], None] | None = None) -> None:
        """Execute every spec; ``done`` is called with each outcome as it completes, and
        ``idle`` (on a cluster) once, as soon as fewer runs remain than there are workers:
        from then on a worker's core waits for the last runs, and this process may use it."""
        if self.client is None:
            for spec in specs:
                try:
                    result = execute_run(spec.scenario_yaml, spec.seed, spec.keep_dir, version)
                except Exception as exc:  # a failed run is reported; the others go on
                    done(Outcome(spec, None, f"{type(exc).__name__}: {exc}",
                                 traceback.format_exc()))
                else:
                    done(Outcome(spec, result))
            return
        from distributed import as_completed

        token = uuid.uuid4().hex[:8]
        # each variant's scenario goes to the cluster once, not once per seed
        texts = {t: self.client.scatter(t, hash=False)
                 for t in dict.fromkeys(s.scenario_yaml for s in specs)}
        futures = {self.client.submit(execute_run, texts[s.scenario_yaml], s.seed, s.keep_dir,
                                      version, self.scratch, key=f"twin-run-{s.key[:16]}-{token}",
                                      pure=False, retries=0): s for s in specs}
        left = len(futures)
        try:
            if idle is not None and left < self.n_workers:
                idle()
            for future in as_completed(futures):  # type: ignore[no-untyped-call]
                left -= 1
                if idle is not None and left == self.n_workers - 1:
                    idle()
                spec = futures[future]
                if future.status == "finished":
                    outcome = Outcome(spec, future.result())
                else:
                    error = future.exception()
                    detail = "".join(traceback.format_tb(future.traceback()))
                    outcome = Outcome(spec, None, f"{type(error).__name__}: {error}", detail)
                future.release()
                done(outcome)
        finally:
            pending = [f for f in futures if not f.done()]
            if pending:  # interrupted: nothing left running on the cluster
                self.client.cancel(pending)
            for data in texts.values():
                data.release()
