"""The network's side of online charging, against a scripted OCS: who is asked, what each
answer does to an attempt (served, capped at its quota, denied, fail-open), releases of
sessions that never started, and a missing answer failing loudly."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from twin.messages import (
    DENIED_CREDIT,
    FAIL_OPEN,
    GRANTED,
    OCS_UNAVAILABLE,
    ONLINE,
    CreditAnswer,
    CreditRelease,
    CreditRequest,
)
from twin.network.online import ADMITTED, DENIED_CREDIT_OUT, DENIED_OCS_OUT, OnlineCharging

PREPAID = np.array([True, True, True, True, True, False])


class ScriptedOcs:
    """Answers each request row by row from a script keyed by session id."""

    def __init__(self, script: dict[int, tuple[int, int]], fail_open: bool = True,
                 answer: bool = True) -> None:
        self.script, self.fail_open, self.answer = script, fail_open, answer
        self.requests: list[CreditRequest] = []
        self.releases: list[CreditRelease] = []
        self.net: OnlineCharging | None = None

    def publish(self, msg: Any) -> None:
        if isinstance(msg, CreditRelease):
            self.releases.append(msg)
            return
        assert isinstance(msg, CreditRequest)
        self.requests.append(msg)
        ids = msg.columns["session_id"]
        res = np.array([self.script[int(i)][0] for i in ids], dtype=np.int8)
        got = np.array([self.script[int(i)][1] for i in ids], dtype=np.int64)
        if self.answer and self.net is not None:
            self.net.on_answer(CreditAnswer({"session_id": ids, "result": res,
                                             "granted": got}, self.fail_open))


def attempts() -> dict[str, np.ndarray]:
    # ids 1..6: voice (120 s talk after a 5 s ring), data (10 MB over 100 s), SMS, voice,
    # data, and a postpaid line's call
    return {"kind": np.array([0, 1, 2, 0, 1, 0]), "ids": np.arange(1, 7),
            "sub": np.arange(6), "start": np.full(6, 10.0),
            "end": np.array([135.0, 110.0, 10.0, 135.0, 110.0, 135.0]),
            "volume": np.array([0, 10e6, 0, 0, 10e6, 0]),
            "answer_s": np.array([5.0, 0, 0, 5.0, 0, 5.0]),
            "can_serve": np.ones(6, dtype=bool)}


def admit(ocs: ScriptedOcs, fail_open: bool = True) -> tuple[OnlineCharging, np.ndarray,
                                                             np.ndarray]:
    net = OnlineCharging(PREPAID, ocs.publish)
    ocs.net = net
    a = attempts()
    verdict, end = net.admit(a["kind"], a["ids"], a["sub"], a["start"], a["end"], a["volume"],
                             a["answer_s"], a["can_serve"])
    return net, verdict, end


def test_answers_decide_and_partial_grants_cap_the_session() -> None:
    ocs = ScriptedOcs({1: (GRANTED, 60), 2: (GRANTED, 4_000_000), 3: (DENIED_CREDIT, 0),
                       4: (GRANTED, 120), 5: (OCS_UNAVAILABLE, 0)})
    net, verdict, end = admit(ocs)
    (req,) = ocs.requests  # one request for the interval, prepaid lines only
    assert req.columns["session_id"].tolist() == [1, 2, 3, 4, 5]
    assert req.columns["requested"].tolist() == [120, 10_000_000, 1, 120, 10_000_000]
    assert verdict.tolist() == [ADMITTED, ADMITTED, DENIED_CREDIT_OUT, ADMITTED, ADMITTED,
                                ADMITTED]
    # 60 of 120 s granted: the call ends 60 s after its answer; 4 of 10 MB: after 40 s
    assert end[0] == pytest.approx(10 + 5 + 60, abs=1e-5) and end[0] < 75.0
    assert np.ceil(end[0] - 10 - 5) == 60
    assert end[1] == pytest.approx(50.0)
    assert end[3] == 135.0 and end[4] == 110.0 and end[5] == 135.0  # not capped
    assert net.online_of(np.arange(1, 7)).tolist() == [ONLINE, ONLINE, 0, ONLINE, FAIL_OPEN, 0]
    planned, capped = net.planned(np.arange(1, 7), end)
    assert capped.tolist() == [True, True, False, False, False, False]
    assert planned[:2].tolist() == [135.0, 110.0]  # the truth keeps what was wanted


def test_fail_closed_denies_while_the_ocs_is_down() -> None:
    ocs = ScriptedOcs({i: (OCS_UNAVAILABLE, 0) for i in range(1, 6)}, fail_open=False)
    net, verdict, _ = admit(ocs)
    assert verdict.tolist() == [DENIED_OCS_OUT] * 5 + [ADMITTED]
    assert net.counts["denied_ocs"] == 5 and net.ids.size == 0


def test_granted_sessions_that_never_start_are_released() -> None:
    ocs = ScriptedOcs({i: (GRANTED, 10**9) for i in range(1, 6)})
    net, _, _ = admit(ocs)
    started = np.array([True, False, True, False, True])
    net.finished(np.arange(1, 6), np.arange(5), started)
    (rel,) = ocs.releases
    assert rel.columns["session_id"].tolist() == [2, 4]
    assert net.ids.size == 0  # every session settled


def test_a_missing_answer_fails_loudly() -> None:
    ocs = ScriptedOcs({i: (GRANTED, 1) for i in range(1, 6)}, answer=False)
    with pytest.raises(RuntimeError, match="without bus latency"):
        admit(ocs)


def test_attempts_on_cells_that_cannot_serve_are_not_asked_for() -> None:
    ocs = ScriptedOcs({i: (GRANTED, 10**9) for i in range(1, 6)})
    net = OnlineCharging(PREPAID, ocs.publish)
    ocs.net = net
    a = attempts()
    a["can_serve"][:3] = False
    net.admit(a["kind"], a["ids"], a["sub"], a["start"], a["end"], a["volume"], a["answer_s"],
              a["can_serve"])
    assert ocs.requests[0].columns["session_id"].tolist() == [4, 5]
