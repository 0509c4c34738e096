"""TMF635 ``Usage`` from mediation's and rating's tables, as JSON text built column-wise.

One ``Usage`` per usage record mediation *received* — so their number is
``bss.cdrs_received``: every record of the recording entities, every part of a session
written in partial records, every duplicate. A record's TMF635 ``status`` is the furthest
state it reached: ``rejected`` (with ``rejectReason``), ``recycled`` (still in suspense at the
end), ``received`` (a part still held), ``guided``, ``rated``/``rerated`` (charged to a
prepaid balance) or ``billed`` (on an invoice). A record that waited in suspense shows its
final decision. The parts of a session share their session's status; the session's rating
(it is rated once, assembled) is on its closing part, with ``assembledFromParts``.

Ids: ``{recording entity}-{record id}``; a duplicate receipt of a record gets
``{recording entity}-{record id}-dup-{n}`` (``n`` its row in the ``cdrs`` table), so each
receipt has its own id. The customer is ``cust-{account}`` (as in TMF621 complaints), the
product ``sub-{line}`` (as in TMF622 and TMF678).

The text of each resource is assembled from Arrow columns with string kernels — no Python
object per record — so a month of a metro network exports at hundreds of thousands of
records a second (``python -m tests.benchmarks.export``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from twin.messages import CAUSE_NAMES

KIND_NAMES = ("voice", "data", "sms")
USAGE_PATH = "/usageManagement/v4/usage/"
MSISDN_BASE = 491_700_000_000
# the cdrs columns a slice needs
CDR_COLUMNS = ["node_id", "record_id", "sub", "kind", "start", "duration_s", "volume_bytes",
               "cause", "charging_id", "seq", "state", "reason", "parts", "received",
               "processed"]
RATED_COLUMNS = ["node_id", "charging_id", "charge_minor", "allowance_used", "offer",
                 "period", "rated_at", "state", "channel"]


def _json_strings(arr: pa.Array | pa.ChunkedArray) -> pa.Array:
    """Each string JSON-encoded (quoted and escaped), through its dictionary of values."""
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    d = pc.dictionary_encode(pc.fill_null(arr.cast(pa.string()), ""))
    enc = pa.array([json.dumps(v, ensure_ascii=False) for v in d.dictionary.to_pylist()],
                   pa.string())
    return enc.take(d.indices)


def _text(arr: Any) -> pa.Array:
    return pc.cast(arr, pa.string())


def _join(*parts: Any) -> pa.Array:
    return pc.binary_join_element_wise(*parts, "")


def _when(mask: Any, text: Any) -> pa.Array:
    """``text`` where ``mask``, else empty."""
    return pc.if_else(mask, text, "")


@dataclass(frozen=True)
class Fates:
    """Decisions taken after a record's receipt: suspended records decided later (by
    recording entity and record id), and sessions assembled from parts (by recording
    entity and charging id) with their last decision and closing record."""

    later: pa.Table  # node_id, record_id, l_state, l_reason
    sessions: pa.Table  # node_id, charging_id, s_state, s_reason, s_parts, s_record

    @staticmethod
    def of(decisions: pa.Table) -> Fates:
        """From the ``cdrs`` rows that are not first receipts (``parts > 0`` or
        ``processed > received``), in table order."""
        t = decisions
        part = pc.greater(t["parts"], 0)

        def last(rows: pa.Table, key: list[str]) -> pa.Table:
            """The last row of each key, in table order."""
            order = pa.array(np.arange(rows.num_rows, dtype=np.int64))
            top = rows.append_column("order", order).group_by(key).aggregate(
                [("order", "max")])
            return rows.take(top["order_max"])

        later = last(t.filter(pc.invert(part)), ["node_id", "record_id"])
        sess = last(t.filter(part), ["node_id", "charging_id"])
        return Fates(
            pa.table({"node_id": later["node_id"], "record_id": later["record_id"],
                      "l_state": later["state"], "l_reason": later["reason"]}),
            pa.table({"node_id": sess["node_id"], "charging_id": sess["charging_id"],
                      "s_state": sess["state"], "s_reason": sess["reason"],
                      "s_parts": sess["parts"], "s_record": sess["record_id"]}))


def ratings(rated: pa.Table) -> pa.Table:
    """The ``rated`` rows of some records summed per (recording entity, charging id): the
    charge with its re-rating differences, the allowance used, when last rated."""
    g = rated.group_by(["node_id", "charging_id"]).aggregate([
        ("charge_minor", "sum"), ("allowance_used", "sum"), ("offer", "min"),
        ("period", "min"), ("rated_at", "max"), ("state", "max"), ("channel", "min")])
    return g.rename_columns({"charge_minor_sum": "r_charge", "allowance_used_sum": "r_allow",
                             "offer_min": "r_offer", "period_min": "r_period",
                             "rated_at_max": "r_at", "state_max": "r_state",
                             "channel_min": "r_channel"})


class UsageText:
    """Turns slices of first receipts (rows of ``cdrs``) into TMF635 JSON texts."""

    def __init__(self, start: datetime, minor_per_major: int, currency: str, base_url: str,
                 account: npt.NDArray[np.int64], fates: Fates) -> None:
        self.start_us = round(start.timestamp() * 1e6)
        self.per = float(minor_per_major)
        self.currency = json.dumps(currency)
        self.base = json.dumps(base_url.rstrip("/") + USAGE_PATH)[1:-1]
        self.account = account
        self.fates = fates
        causes = max(max(CAUSE_NAMES) + 1, 128)
        self.cause_names = pa.array([json.dumps(CAUSE_NAMES.get(i, str(i)))
                                     for i in range(causes)])
        self.kind_names = pa.array([*KIND_NAMES, "unknown"])

    def _iso(self, t: pa.Array) -> pa.Array:
        us = pc.add(pc.cast(pc.round(pc.multiply(t, 1e6)), pa.int64()), self.start_us)
        return pc.strftime(us.cast(pa.timestamp("us", tz="UTC")), format="%Y-%m-%dT%H:%M:%SZ")

    def texts(self, cdrs: pa.Table, rows: npt.NDArray[np.int64],
              rated: pa.Table) -> pa.Array:
        """JSON of each first receipt in ``cdrs`` (``rows``: their rows in the table, for
        the ids of duplicates), given the ``rated`` rows of their charging ids."""
        n = cdrs.num_rows
        t = cdrs.append_column("row", pa.array(rows)).append_column(
            "pos", pa.array(np.arange(n, dtype=np.int64)))
        t = t.join(self.fates.later, ["node_id", "record_id"], join_type="left outer")
        t = t.join(self.fates.sessions, ["node_id", "charging_id"], join_type="left outer")
        t = t.join(ratings(rated), ["node_id", "charging_id"], join_type="left outer")
        t = t.sort_by("pos")
        c = {name: t[name].combine_chunks() for name in t.column_names}
        state, reason = c["state"], c["reason"]
        recycled, held = pc.equal(state, "recycled"), pc.equal(state, "received")
        has_later, has_session = pc.is_valid(c["l_state"]), pc.is_valid(c["s_state"])
        final = pc.if_else(pc.and_(recycled, has_later), c["l_state"],
                           pc.if_else(pc.and_(held, has_session), c["s_state"], state))
        reason = pc.if_else(pc.and_(recycled, has_later), c["l_reason"],
                            pc.if_else(pc.and_(held, has_session), c["s_reason"], reason))
        rated_ok = pc.and_(pc.equal(final, "guided"), pc.is_valid(c["r_charge"]))
        billed = pc.fill_null(pc.and_(rated_ok, pc.equal(c["r_channel"], "invoice")), False)
        status = pc.if_else(billed, "billed", pc.if_else(rated_ok, c["r_state"], final))
        # a session's rating shows on its closing part; the other parts carry the status
        closing = pc.or_(pc.invert(held),
                         pc.fill_null(pc.equal(c["record_id"], c["s_record"]), False))
        show = pc.fill_null(pc.and_(rated_ok, closing), False)

        node, rid = _text(c["node_id"]), _text(c["record_id"])
        dup = pc.equal(reason, "duplicate")
        uid = pc.if_else(dup, _join(node, "-", rid, "-dup-", _text(c["row"])),
                         _join(node, "-", rid))
        kind = c["kind"].to_numpy(zero_copy_only=False).astype(np.int64)
        kind_name = self.kind_names.take(pa.array(np.where((kind >= 0) & (kind < 3), kind, 3)))
        sub = c["sub"].to_numpy(zero_copy_only=False).astype(np.int64)
        known = (sub >= 0) & (sub < self.account.size)
        acc = _text(pa.array(self.account[np.where(known, sub, 0)]))
        cause = c["cause"].to_numpy(zero_copy_only=False).astype(np.int64)
        cause_name = self.cause_names.take(
            pa.array(np.clip(cause, 0, len(self.cause_names) - 1)))
        sub_text = _text(c["sub"])
        parts = pc.fill_null(c["s_parts"], 0)
        party = _when(pa.array(known), _join(
            '"relatedParty":[{"id":"cust-', acc,
            '","role":"customer","@referredType":"Customer"}],'))

        def char(name: str, value_type: str, value: Any) -> pa.Array:
            return _join(f'{{"name":"{name}","valueType":"{value_type}","value":', value, "}")

        chars = _join(
            char("msisdn", "string", _join('"', _text(pc.add(c["sub"], MSISDN_BASE)), '"')),
            ",", char("recordingEntity", "integer", node),
            ",", char("recordId", "integer", rid),
            ",", char("durationSeconds", "integer", _text(c["duration_s"])),
            ",", char("volumeBytes", "integer", _text(c["volume_bytes"])),
            ",", char("causeForTermination", "string", cause_name),
            ",", char("chargingId", "integer", _text(c["charging_id"])),
            ",", char("recordSequenceNumber", "integer", _text(c["seq"])),
            _when(pc.and_(show, pc.greater(parts, 0)),
                  _join(",", char("assembledFromParts", "integer", _text(parts)))),
            _when(pc.not_equal(reason, ""),
                  _join(",", char("rejectReason", "string", _json_strings(reason)))))
        charge = pc.fill_null(c["r_charge"], 0)
        allow = pc.fill_null(c["r_allow"], 0)
        tag = pc.if_else(pc.equal(allow, 0), "usage",
                         pc.if_else(pc.equal(charge, 0), "included usage",
                                    "non included usage"))
        rating = _when(show, _join(
            '"ratedProductUsage":[{"isBilled":', pc.if_else(billed, "true", "false"),
            ',"ratingDate":"', self._iso(pc.fill_null(c["r_at"], 0.0)),
            '","offerTariffType":', _json_strings(c["r_period"]),
            ',"usageRatingTag":"', tag, '","ratingAmountType":"total",'
            '"taxExcludedRatingAmount":{"unit":', self.currency, ',"value":',
            _text(pc.divide(pc.cast(charge, pa.float64()), self.per)),
            '},"productRef":{"id":"sub-', sub_text, '","name":', _json_strings(c["r_offer"]),
            ',"@referredType":"Product"}}],'))
        return _join(
            '{"id":"', uid, '","href":"', self.base, uid,
            '","usageDate":"', self._iso(c["start"]), '","usageType":"', kind_name,
            '","description":"', kind_name, " record ", rid, " from recording entity ", node,
            '","status":"', status, '","usageSpecification":{"id":"', kind_name,
            '","name":"', kind_name, ' usage","@referredType":"UsageSpecification"},',
            party, '"usageCharacteristic":[', chars, "],", rating, '"@type":"Usage"}')


def account_of(subscriptions: Mapping[str, Any]) -> npt.NDArray[np.int64]:
    """Each line's account, indexed by line (from the ``subscriptions`` table columns)."""
    sub = np.asarray(subscriptions["sub"], dtype=np.int64)
    out = np.full(int(sub.max()) + 1 if sub.size else 0, -1, dtype=np.int64)
    out[sub] = np.asarray(subscriptions["account"], dtype=np.int64)
    return out
