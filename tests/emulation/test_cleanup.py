"""Nothing is left behind: no network namespace, interface, bridge or process of the
emulation after a run ends — normally, on Ctrl-C (SIGINT), on SIGTERM, on a crash inside the
run, or when the twin is killed outright (its node shells see their terminal close)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import twin
from twin.emulation.fabric import Fabric
from twin.oss import OperationsCenter

from .conftest import QUICKSTART, REPO

pytestmark = pytest.mark.xdist_group("emulation")  # one worker: see conftest.py

SHORT = ("duration=2d", "subscribers.count=300")
# a run the signal interrupts: long enough that it cannot end before the signal is sent,
# however fast or loaded the machine (the signal stops it within seconds either way)
LONG = ("duration=60d", "subscribers.count=300")


def shells(parent: int | None = None) -> dict[int, str]:
    """pid → node name of Mininet node shells (of ``parent``'s process tree if given)."""
    out = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                args = f.read().split(b"\0")
        except OSError:
            continue
        names = [a.decode()[8:] for a in args if a.startswith(b"mininet:")]
        if names and (parent is None or _descends(int(entry), parent)):
            out[int(entry)] = names[0]
    return out


def _descends(pid: int, parent: int) -> bool:
    while pid > 1:
        if pid == parent:
            return True
        try:
            with open(f"/proc/{pid}/stat") as f:
                pid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError):
            return False
    return False


def namespaces_in_use() -> set[str]:
    """Network namespaces any process is in or holds open."""
    held = set()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        for path in [f"/proc/{entry}/ns/net"] + [f"/proc/{entry}/fd/{fd}" for fd in
                                                  _fds(entry)]:
            try:
                target = os.readlink(path)
            except OSError:
                continue
            if target.startswith("net:["):
                held.add(target)
    return held


def _fds(pid: str) -> list[str]:
    try:
        return os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return []


def root_links() -> set[str]:
    out = subprocess.run(["ip", "-o", "link", "show"], capture_output=True, text=True,
                         check=True).stdout
    return {line.split(":")[1].strip().split("@")[0] for line in out.splitlines()}


def machine() -> dict[str, object]:
    netns = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    bridges = subprocess.run(["ip", "-o", "link", "show", "type", "bridge"],
                             capture_output=True, text=True).stdout
    return {"netns": netns, "bridges": bridges, "links": root_links()}


def assert_nothing_left(tag: str, their_namespaces: set[str], before: dict[str, object],
                        wait_s: float = 10.0) -> None:
    deadline = time.monotonic() + wait_s
    while True:
        left = {
            "processes": {p for p, n in shells().items() if n.startswith(tag)},
            "namespaces": their_namespaces & namespaces_in_use(),
            "links": {name for name in root_links() if tag in name},
        }
        if not any(left.values()) or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert not any(left.values()), left
    after = machine()
    assert after["netns"] == before["netns"] and after["bridges"] == before["bridges"]


def _foreground() -> None:
    # as a shell starts a foreground job: Ctrl-C acts. The twin keeps a signal ignored when it
    # starts (a background job's), and a suite started in the background (`make test &`)
    # has SIGINT ignored, which every child inherits.
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def start_run(tmp_path: Path) -> tuple[subprocess.Popen[bytes], str, set[str]]:
    """A ``twin run --emulate`` in a child process, once its network is up."""
    out = tmp_path / "run"
    child = subprocess.Popen(
        [sys.executable, "-m", "twin.cli", "run", str(QUICKSTART), "--emulate", "-q",
         "--out", str(out), *(f"--set={o}" for o in LONG)],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, preexec_fn=_foreground)
    deadline = time.monotonic() + 180
    found: dict[int, str] = {}
    while time.monotonic() < deadline and child.poll() is None:
        found = shells(child.pid)
        if len(found) >= 56:  # 52 nodes, 3 element managers, the collector (and a switch)
            break
        time.sleep(0.2)
    assert child.poll() is None, child.communicate()
    assert len(found) >= 56, found
    time.sleep(3.0)  # let it simulate for a while
    namespaces = set()
    for pid in shells(child.pid):
        with contextlib.suppress(OSError):
            namespaces.add(os.readlink(f"/proc/{pid}/ns/net"))
    tag = next(iter(found.values()))[:4]
    return child, tag, namespaces


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_mid_run_leaves_nothing_behind(sig: signal.Signals, tmp_path: Path) -> None:
    before = machine()
    child, tag, namespaces = start_run(tmp_path)
    assert len(namespaces) >= 56
    assert child.poll() is None, ("the run ended before the signal", child.communicate())
    child.send_signal(sig)
    try:
        out, err = child.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        child.kill()  # the signal did nothing: leave no emulated network behind either
        child.communicate()
        raise
    assert child.returncode == 128 + sig, (out, err)
    assert_nothing_left(tag, namespaces, before)
    assert not (tmp_path / "run").exists()
    assert not list(tmp_path.glob(".run.partial-*"))


def test_a_killed_twin_leaves_nothing_behind(tmp_path: Path) -> None:
    """SIGKILL: no handler runs; the node shells exit as their terminal closes."""
    before = machine()
    child, tag, namespaces = start_run(tmp_path)
    child.kill()
    child.communicate(timeout=60)
    assert_nothing_left(tag, namespaces, before, wait_s=20.0)


def test_a_crash_inside_the_run_leaves_nothing_behind(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    before = machine()
    seen: dict[str, object] = {}
    start = Fabric.start

    def record(self: Fabric) -> None:
        start(self)
        seen["tag"] = self.plan.tag
        seen["namespaces"] = {os.readlink(f"/proc/{self.pid(n)}/ns/net") for n in self.nodes}

    calls = {"n": 0}
    on_alarm = OperationsCenter.on_alarm

    def crash(self: OperationsCenter, *args: object, **kw: object) -> None:
        calls["n"] += 1
        if calls["n"] == 5:
            raise RuntimeError("an OSS bug")
        on_alarm(self, *args, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(Fabric, "start", record)
    monkeypatch.setattr(OperationsCenter, "on_alarm", crash)
    with pytest.raises(RuntimeError, match="an OSS bug"):
        twin.simulate(QUICKSTART, out=tmp_path / "run", report=False, emulate=True,
                      overrides=SHORT)
    assert len(seen["namespaces"]) >= 56  # type: ignore[arg-type]
    assert_nothing_left(str(seen["tag"]), seen["namespaces"], before)  # type: ignore[arg-type]
    assert not (tmp_path / "run").exists()


def test_a_normal_run_leaves_nothing_behind(quickstart_pair: tuple[twin.Run, twin.Run]) -> None:
    assert not shells(os.getpid())
    assert not {name for name in root_links() if name.startswith("w") and "-" in name}
