"""The network's side of online charging (Diameter Gy/Ro): ask before serving prepaid lines.

Like a vending machine that checks the card before it pours: each interval, before its new
attempts are resolved, the network sends one :class:`CreditRequest` batch for the new
attempts of prepaid lines (voice, data and SMS), on cells that can serve them — an attempt
on a cell out of service all interval never reaches the core. It asks for what the session
would use (talk seconds, bytes, one message): in the twin this one request stands for the
CCR-Initial and the Updates a session would send. The :class:`CreditAnswer` decides:

* ``GRANTED`` — the session is served and charged online (its records say ``online`` =
  ``ONLINE``); a partial grant caps it: it ends when the quota is used up
  (``cAMELInitCallRelease``; outcome ``quota_exhausted`` in the truth);
* ``DENIED_CREDIT`` — not served (outcome ``denied_credit``);
* ``OCS_UNAVAILABLE`` — fail-open serves it uncharged (``online`` = ``FAIL_OPEN``),
  fail-closed does not (outcome ``denied_ocs``).

A granted session that then finds no channel, or whose cell fails before the attempt, never
starts: a :class:`CreditRelease` (CCR-Terminate with no used units) gives its reservation
back. The bus delivers synchronously: the answer arrives inside the request's ``publish``.
The network needs it before it resolves the interval, so a missing answer is an error (route
CreditRequest/CreditAnswer without latency), not a silent guess.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt

from twin.messages import (
    DATA,
    DENIED_CREDIT,
    FAIL_OPEN,
    GRANTED,
    OCS_UNAVAILABLE,
    ONLINE,
    SMS,
    VOICE,
    CreditAnswer,
    CreditRelease,
    CreditRequest,
)

Arr = npt.NDArray[Any]
ADMITTED, DENIED_CREDIT_OUT, DENIED_OCS_OUT = 0, 1, 2  # admission verdicts
_EPS = 1e-6  # s; a capped call ends just inside its last granted second


class OnlineCharging:
    def __init__(self, prepaid: npt.NDArray[np.bool_],
                 publish: Callable[[Any], None]) -> None:
        self.prepaid, self.publish = prepaid, publish
        self.answers: list[CreditAnswer] = []
        # sessions admitted through the OCS, sorted by id: how charged, their planned end
        self.ids = np.empty(0, dtype=np.int64)
        self.online = np.empty(0, dtype=np.int8)
        self.planned_end = np.empty(0)
        self.counts = dict(requested=0, denied_credit=0, denied_ocs=0, fail_open=0, capped=0,
                           released=0)

    def on_answer(self, answer: CreditAnswer) -> None:
        self.answers.append(answer)

    def admit(self, kind: Arr, ids: Arr, sub: Arr, start: Arr, end: Arr, volume: Arr,
              answer_s: Arr, can_serve: Arr) -> tuple[Arr, Arr]:
        """One interval's new attempts of all kinds: the verdict of each (``ADMITTED`` …) and
        the end of each admitted session (capped at its granted quota)."""
        verdict = np.zeros(ids.size, dtype=np.int8)
        end = end.copy()
        ask = np.flatnonzero(self.prepaid[sub] & can_serve)
        if ask.size == 0:
            return verdict, end
        k = kind[ask]
        talk = np.ceil(np.maximum(end[ask] - start[ask] - answer_s[ask], 0.0))
        want = np.select([k == VOICE, k == DATA], [talk, volume[ask]], 1).astype(np.int64)
        want = np.maximum(want, 1)
        self.publish(CreditRequest({"session_id": ids[ask], "sub": sub[ask],
                                    "kind": k.astype(np.int8), "start": start[ask],
                                    "requested": want}))
        a = self._answer_for(ids[ask])
        result, granted = a.columns["result"], np.asarray(a.columns["granted"], np.int64)
        self.counts["requested"] += ask.size
        ok = result == GRANTED
        down = result == OCS_UNAVAILABLE
        verdict[ask[result == DENIED_CREDIT]] = DENIED_CREDIT_OUT
        if not a.fail_open:
            verdict[ask[down]] = DENIED_OCS_OUT
        self.counts["denied_credit"] += int((result == DENIED_CREDIT).sum())
        self.counts["denied_ocs"] += 0 if a.fail_open else int(down.sum())
        # a partial grant: the session ends when its quota is used up
        cap = ok & (granted < want) & (k != SMS)
        rows = ask[cap]
        g = granted[cap].astype(np.float64)
        planned = end[rows].copy()
        dur = planned - start[rows]
        new_end = np.where(k[cap] == VOICE, start[rows] + answer_s[rows] + g - _EPS,
                           start[rows] + dur * g / np.maximum(volume[rows], 1.0))
        end[rows] = np.minimum(end[rows], new_end)
        self.counts["capped"] += int(cap.sum())
        served = ok | (down & a.fail_open)
        self.counts["fail_open"] += int((down & a.fail_open).sum())
        self._remember(ids[ask[served]], np.where(ok[served], ONLINE, FAIL_OPEN))
        self._set_planned(ids[rows], planned)  # the truth of what was wanted
        return verdict, end

    def _answer_for(self, ids: Arr) -> CreditAnswer:
        if not self.answers:
            raise RuntimeError("online charging: no CreditAnswer arrived with the CreditRequest "
                               "— route CreditRequest/CreditAnswer without bus latency")
        a = self.answers.pop(0)
        if self.answers or not np.array_equal(np.asarray(a.columns["session_id"]), ids):
            raise RuntimeError("online charging: the CreditAnswer does not answer the "
                               "interval's CreditRequest row for row")
        return a

    def _remember(self, ids: Arr, online: Arr) -> None:
        if ids.size == 0:
            return
        all_ids = np.concatenate([self.ids, ids])
        order = np.argsort(all_ids, kind="stable")
        self.ids = all_ids[order]
        self.online = np.concatenate([self.online, online.astype(np.int8)])[order]
        self.planned_end = np.concatenate([self.planned_end, np.full(ids.size, np.nan)])[order]

    def _set_planned(self, ids: Arr, end: Arr) -> None:
        if ids.size:
            self.planned_end[np.searchsorted(self.ids, ids)] = end

    def _find(self, ids: Arr) -> tuple[Arr, Arr]:
        if self.ids.size == 0:
            return np.zeros(ids.size, dtype=bool), np.zeros(ids.size, dtype=np.int64)
        pos = np.minimum(np.searchsorted(self.ids, ids), self.ids.size - 1)
        return self.ids[pos] == ids, pos

    def online_of(self, ids: Arr) -> npt.NDArray[np.int8]:
        """How each session is charged (``OFFLINE`` unless admitted through the OCS)."""
        hit, pos = self._find(ids)
        out = np.zeros(ids.size, dtype=np.int8)
        out[hit] = self.online[pos[hit]]
        return out

    def planned(self, ids: Arr, end: Arr) -> tuple[Arr, npt.NDArray[np.bool_]]:
        """The planned end of each session (before a quota cap), and which were capped."""
        hit, pos = self._find(ids)
        p = np.full(ids.size, np.nan)
        p[hit] = self.planned_end[pos[hit]]
        capped = ~np.isnan(p)
        return np.where(capped, p, end), capped

    def finished(self, ids: Arr, sub: Arr, started: npt.NDArray[np.bool_]) -> None:
        """Sessions resolved (``started``: served at all): forget them; release the
        reservations of granted ones that never started."""
        hit, pos = self._find(ids)
        if not hit.any():
            return
        back = hit & ~started
        back &= self.online[pos] == ONLINE
        if back.any():
            self.publish(CreditRelease({"session_id": ids[back], "sub": sub[back]}))
            self.counts["released"] += int(back.sum())
        keep = np.ones(self.ids.size, dtype=bool)
        keep[pos[hit]] = False
        self.ids, self.online, self.planned_end = (self.ids[keep], self.online[keep],
                                                   self.planned_end[keep])
