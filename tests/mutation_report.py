"""Mutation testing of the twin's logic, module by module (``make mutation``).

``python -m tests.mutation_report run [module ...]`` runs mutmut (configured in
pyproject.toml's ``[tool.mutmut]``) on each module in turn with one worker process, timing
each (wall and CPU seconds of the children), then prints the table; ``python -m
tests.mutation_report`` only prints the table of what was run so far (mutmut keeps its
results under ``mutants/``). Each mutant runs only the tests that call the function it
mutates (mutmut finds them in a first traced run of the test selection).

Kill rate = (killed + timed out) / mutants checked: a mutant that makes the tests run past
their time limit was detected too (it is usually an endless loop).
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time
import tomllib
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
MUTANTS = REPO / "mutants"
TIMES = MUTANTS / "module-times.json"
# mutmut's exit codes → our columns (see mutmut.stats.status_by_exit_code)
STATUS = {1: "killed", 3: "killed", 0: "survived", 36: "timed out", 24: "timed out",
          -24: "timed out", 152: "timed out", 255: "timed out", 5: "no tests", 33: "no tests",
          37: "killed"}


def modules() -> list[str]:
    """The files ``[tool.mutmut] only_mutate`` names, in its order."""
    cfg = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    return list(cfg["tool"]["mutmut"]["only_mutate"])


def dotted(path: str) -> str:
    return path.removesuffix(".py").replace("/", ".")


def counts(path: str) -> Counter[str]:
    meta = MUTANTS / f"{path}.meta"
    out: Counter[str] = Counter()
    if not meta.exists():
        return out
    for code in json.loads(meta.read_text(encoding="utf-8"))["exit_code_by_key"].values():
        out["not checked" if code is None else STATUS.get(code, "suspicious")] += 1
    return out


def run(selected: list[str]) -> None:
    times = json.loads(TIMES.read_text()) if TIMES.exists() else {}
    for path in selected:
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.monotonic()
        subprocess.run([sys.executable, "-m", "mutmut", "run", f"{dotted(path)}.*",
                        "--max-children", "1"], cwd=REPO, check=False,
                       stdout=subprocess.DEVNULL)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        MUTANTS.mkdir(exist_ok=True)
        times[path] = {"wall_s": round(time.monotonic() - t0, 1),
                       "cpu_s": round(after.ru_utime + after.ru_stime
                                      - before.ru_utime - before.ru_stime, 1),
                       "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")}
        TIMES.write_text(json.dumps(times, indent=1))
        print(f"{path}: {times[path]['wall_s']:.0f} s", file=sys.stderr)


def table() -> str:
    times = json.loads(TIMES.read_text()) if TIMES.exists() else {}
    cols = ("killed", "survived", "timed out", "no tests", "not checked")
    rows = ["| module | mutants | " + " | ".join(cols) + " | kill rate | wall | CPU |",
            "|---|" + "---:|" * (len(cols) + 4)]
    for path in modules():
        c = counts(path)
        checked = sum(c[k] for k in ("killed", "survived", "timed out", "no tests",
                                     "suspicious"))
        rate = f"{(c['killed'] + c['timed out']) / checked:.1%}" if checked else "—"
        t = times.get(path, {})
        wall = f"{t['wall_s'] / 60:.0f} min" if t else "—"
        cpu = f"{t['cpu_s'] / 60:.0f} min" if t else "—"
        rows.append(f"| `{path}` | {sum(c.values())} | "
                    + " | ".join(str(c[k]) for k in cols) + f" | {rate} | {wall} | {cpu} |")
    return "\n".join(rows)


def main(argv: list[str]) -> int:
    if argv[:1] == ["run"]:
        known = modules()
        chosen = argv[1:] or known
        unknown = [m for m in chosen if m not in known]
        if unknown:
            print(f"not a module of [tool.mutmut] only_mutate: {', '.join(unknown)}",
                  file=sys.stderr)
            return 2
        run(chosen)
    elif argv:
        print("usage: python -m tests.mutation_report [run [twin/…/module.py …]]",
              file=sys.stderr)
        return 2
    print(table())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
