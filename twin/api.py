"""The Python API: ``simulate`` a scenario into a run directory and get a :class:`Run`."""

from __future__ import annotations

import contextlib
import hashlib
import platform
import tempfile
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from twin import __version__
from twin.analysis import keep_fates, summarize
from twin.kernel import allocator
from twin.scenario import Scenario, dump, load, reseed
from twin.store import Run, RunDirectory
from twin.wiring import Assembly, assemble


def simulate(scenario: str | Path | Mapping[str, Any] | Scenario, *, seed: int | None = None,
             out: str | Path | None = None, overrides: Iterable[str] = (),
             report: bool = True, progress: Callable[[float], None] | None = None,
             emulate: bool = False,
             drive: Callable[[Assembly], None] | None = None) -> Run:
    """Run a scenario and return the finished run.

    ``scenario`` is a path to a YAML file, a mapping of scenario fields or a
    :class:`Scenario`. ``seed`` replaces the scenario's seed; ``overrides`` are
    ``dotted.path=value`` strings like the CLI's ``--set``. ``out`` is the run directory:
    absent, empty, or an earlier run directory (replaced atomically); anything else raises
    :class:`~twin.store.OutputError` before the run starts. By default a new temporary
    directory. ``emulate`` carries the southbound messages over an emulated management
    network (Mininet, as root: :mod:`twin.emulation`); a machine that cannot raises
    ``EmulationUnavailable`` before anything is written. ``drive`` runs the assembled
    simulation to its end in place of ``Sim.run`` (the live twin paces it in real time).
    """
    sc = load(scenario, overrides)
    if seed is not None:
        sc = reseed(sc, seed)
    allocator.tune()  # a run's arrays: fewer pages from the kernel (see the module)
    emulation = None
    if emulate:
        from twin.emulation import Emulation

        emulation = Emulation(sc)  # checks the machine first
    target = Path(out) if out is not None else Path(tempfile.mkdtemp(prefix="twin-")) / sc.name
    wall0 = time.perf_counter()
    with (RunDirectory(target) as rd, emulation or contextlib.nullcontext(),
          allocator.fewer_collections()):
        if emulation is not None:
            emulation.out = rd.tmp / "wire"
        asm = assemble(sc, rd.tables, southbound=emulation)
        fates = keep_fates(asm)
        if drive is None:
            asm.sim.run(progress=progress)
        else:
            drive(asm)
        summary = summarize(asm, rd.tables, fates)
        if emulation is not None:
            emulation.close()  # the capture is complete
            summary["wire"] = emulation.summary()
        text = dump(sc)
        rd.write_text("scenario.yaml", text)
        rd.write_json("summary.json", summary)
        rd.write_json("manifest.json", {
            "twin_version": __version__,
            "scenario": sc.name,
            "seed": sc.seed,
            "scenario_sha256": hashlib.sha256(text.encode()).hexdigest(),
            "wall_time_s": round(time.perf_counter() - wall0, 3),
            "python": platform.python_version(),
            "tables": sorted(p.stem for p in rd.tables.glob("*.parquet")),
            "message_routes": asm.sim.bus.routes(),
        })
        if report:
            from twin.report import build_report

            build_report(rd.tmp)
        path = rd.commit()
    return Run(path)
