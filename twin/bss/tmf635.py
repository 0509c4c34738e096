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
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from twin.messages import CAUSE_NAMES, MSISDN_BASE

KIND_NAMES = ("voice", "data", "sms")
USAGE_PATH = "/usageManagement/v4/usage/"
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
    """Each record's (or session's) rating, by (recording entity, charging id), from its
    ``rated`` rows: the original rating (offer, period, allowance, channel) and the charge
    with any re-rating differences added, when last rated and whether it was rerated."""
    key = ["node_id", "charging_id"]
    state = rated["state"]
    base = rated.filter(pc.equal(state, "rated"))
    out = pa.table({"node_id": base["node_id"], "charging_id": base["charging_id"],
                    "r_charge": base["charge_minor"], "r_allow": base["allowance_used"],
                    "r_offer": base["offer"], "r_period": base["period"],
                    "r_at": base["rated_at"], "r_channel": base["channel"]})
    again = rated.filter(pc.equal(state, "rerated"))
    if again.num_rows == 0:
        return out.append_column("r_state", pa.repeat("rated", out.num_rows))
    adj = again.group_by(key).aggregate([("charge_minor", "sum"), ("rated_at", "max")])
    out = out.join(adj, key, join_type="left outer")
    rerated = pc.is_valid(out["charge_minor_sum"])
    return pa.table({
        **{k: out[k] for k in ("node_id", "charging_id", "r_allow", "r_offer", "r_period",
                               "r_channel")},
        "r_charge": pc.add(out["r_charge"], pc.fill_null(out["charge_minor_sum"], 0)),
        "r_at": pc.if_else(rerated, out["rated_at_max"], out["r_at"]),
        "r_state": pc.if_else(rerated, "rerated", "rated")})


def _key(node: Any, other: Any) -> npt.NDArray[np.int64]:
    """One integer per (recording entity, record or charging id) pair."""
    a = np.asarray(node.to_numpy(zero_copy_only=False) if hasattr(node, "to_numpy")
                   else node, dtype=np.int64)
    b = np.asarray(other.to_numpy(zero_copy_only=False), dtype=np.int64)
    out: npt.NDArray[np.int64] = (a << 44) | b  # ids below 2^44, entities below 2^19
    return out


def _table(values: list[str]) -> pa.Array:
    return pa.array(values, pa.string())


def _pick(table: pa.Array, index: npt.NDArray[np.int64],
          shown: npt.NDArray[np.bool_] | None = None) -> pa.Array:
    """``table[index]`` per row; null (left out of the text) where not ``shown``."""
    idx = pa.array(index, mask=None if shown is None else ~shown)
    return table.take(idx)


def _sparse(shown: npt.NDArray[np.bool_], texts: pa.Array) -> pa.Array:
    """``texts`` (one per shown row) in the shown rows, null in the others."""
    return _pick(texts, np.cumsum(shown) - 1, shown)


class Clock:
    """ISO 8601 instants to the millisecond (``2026-01-05T08:00:01.250Z``) of simulated
    seconds, as three lookup pieces — date, time of day, milliseconds — so no instant is
    formatted one by one (string formatting would be the slowest step of the export)."""

    def __init__(self, start: datetime, after_ms: str) -> None:
        self.start_ms = round(start.timestamp() * 1e3)
        s = np.arange(86_400)
        self.hms = _table([f"{h:02d}:{m:02d}:{x:02d}." for h, m, x in
                           zip(s // 3600, s // 60 % 60, s % 60, strict=True)])
        self.ms = _table([f"{m:03d}Z{after_ms}" for m in range(1000)])

    def pieces(self, t: npt.NDArray[np.float64],
               shown: npt.NDArray[np.bool_] | None = None) -> list[pa.Array]:
        ms = np.rint(np.nan_to_num(t) * 1e3).astype(np.int64) + self.start_ms
        day, rest = np.divmod(ms, 86_400_000)
        sec, milli = np.divmod(rest, 1000)
        first = int(day.min()) if day.size else 0
        span = int(day.max()) - first + 1 if day.size else 0
        epoch = datetime.fromtimestamp(0, tz=UTC)
        dates = _table([(epoch + timedelta(days=first + i)).strftime("%Y-%m-%dT")
                        for i in range(span)])
        return [_pick(dates, day - first, shown), _pick(self.hms, sec, shown),
                _pick(self.ms, milli, shown)]


STATUS = ("billed", "rated", "rerated", "guided", "rejected", "recycled", "received")
TAGS = ("usage", "included usage", "non included usage")


def _codes(arr: pa.Array | pa.ChunkedArray, names: tuple[str, ...]) -> npt.NDArray[np.int64]:
    """The index in ``names`` of each string (-1: null or another string)."""
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    d = pc.dictionary_encode(arr)
    lookup = np.array([names.index(v) if v in names else -1
                       for v in d.dictionary.to_pylist()] + [-1], dtype=np.int64)
    idx = d.indices.to_numpy(zero_copy_only=False)
    idx = np.where(pc.is_valid(d.indices).to_numpy(zero_copy_only=False), idx,
                   len(lookup) - 1).astype(np.int64)
    out: npt.NDArray[np.int64] = lookup[idx]
    return out


def _dict_pieces(arr: pa.Array | pa.ChunkedArray, before: str, after: str,
                 shown: npt.NDArray[np.bool_]) -> pa.Array:
    """Each string ``v`` as ``before + json(v) + after``, through its dictionary; null
    where not ``shown``."""
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    d = pc.dictionary_encode(pc.fill_null(arr.cast(pa.string()), ""))
    table = _table([before + json.dumps(v, ensure_ascii=False) + after
                    for v in d.dictionary.to_pylist()])
    return _pick(table, d.indices.to_numpy(zero_copy_only=False).astype(np.int64), shown)


def _char(name: str, value_type: str) -> str:
    return f'{{"name":"{name}","valueType":"{value_type}","value":'


@dataclass(frozen=True)
class _Decided:
    c: dict[str, Any]
    state: npt.NDArray[np.int64]
    reason: Any
    rated_ok: npt.NDArray[np.bool_]
    billed: npt.NDArray[np.bool_]
    status: npt.NDArray[np.int64]


class UsageText:
    """Turns slices of first receipts (rows of ``cdrs``) into TMF635 JSON texts: one
    concatenation per slice of pieces that are constants, lookups (a value with the constant
    text around it) or numbers cast to text; optional parts are null where absent."""

    def __init__(self, start: datetime, minor_per_major: int, currency: str, base_url: str,
                 account: npt.NDArray[np.int64], fates: Fates) -> None:
        self.usage_clock = Clock(start, '","usageType":"')
        self.rating_clock = Clock(start, '","offerTariffType":')
        self.per = float(minor_per_major)
        self.base = json.dumps(base_url.rstrip("/") + USAGE_PATH)[1:-1]
        self.fates = fates
        n = account.size
        sub = _text(pa.array(np.arange(n, dtype=np.int64)))
        known = account >= 0
        self.party = _join(pc.if_else(pa.array(known), '"relatedParty":[{"id":"cust-', None),
                           _text(pa.array(account)),
                           '","role":"customer","@referredType":"Customer"}],')
        self.msisdn = _join('"usageCharacteristic":[' + _char("msisdn", "string") + '"',
                            _text(pa.array(np.arange(n, dtype=np.int64) + MSISDN_BASE)),
                            '"},' + _char("recordingEntity", "integer"))
        self.product = _join('},"productRef":{"id":"sub-', sub, '","name":')
        self.kinds = _table([f'{k}","description":"{k} record ' for k in (*KIND_NAMES,
                                                                         "unknown")])
        self.status_kind = _table([
            f'{st}","usageSpecification":{{"id":"{k}","name":"{k} usage",'
            '"@referredType":"UsageSpecification"},' for st in STATUS
            for k in (*KIND_NAMES, "unknown")])
        causes = max(max(CAUSE_NAMES) + 1, 128)
        self.causes = _table([
            '},' + _char("causeForTermination", "string") + json.dumps(
                CAUSE_NAMES.get(i, str(i))) + '},' + _char("chargingId", "integer")
            for i in range(causes)])
        self.billed = _table([f'"ratedProductUsage":[{{"isBilled":{b},"ratingDate":"'
                              for b in ("false", "true")])
        cur = json.dumps(currency)
        self.tags = _table([f'{t}","ratingAmountType":"total","taxExcludedRatingAmount":'
                            f'{{"unit":{cur},"value":' for t in TAGS])

    def _decide(self, cdrs: pa.Table, rated: pa.Table) -> _Decided:
        """Each first receipt's columns joined with its later decision, its session and its
        rating; its final decision and TMF635 status (an index into :data:`STATUS`)."""
        n = cdrs.num_rows
        c = {name: cdrs[name].combine_chunks() if isinstance(cdrs[name], pa.ChunkedArray)
             else cdrs[name] for name in cdrs.column_names}
        node = np.asarray(c["node_id"].to_numpy(zero_copy_only=False), dtype=np.int64)
        for table, key in ((self.fates.later, "record_id"),
                           (self.fates.sessions, "charging_id"),
                           (ratings(rated), "charging_id")):
            ours = _key(node, c[key])
            if table.num_rows:
                theirs = _key(table["node_id"], table[key])
                order = np.argsort(theirs, kind="stable")
                pos = np.minimum(np.searchsorted(theirs[order], ours), order.size - 1)
                hit = theirs[order][pos] == ours
                idx = pa.array(order[pos], mask=~hit)
            else:
                idx = pa.nulls(n, pa.int64())
            for name in table.column_names:
                if name not in ("node_id", key):
                    c[name] = table[name].combine_chunks().take(idx) if table.num_rows \
                        else pa.nulls(n, table.schema.field(name).type)

        def num(name: str) -> npt.NDArray[Any]:
            return np.asarray(c[name].to_numpy(zero_copy_only=False))

        # the final decision on each record: a suspended record's later one, a part's
        # session's; then its TMF635 status
        states = ("guided", "rejected", "recycled", "received")
        state, later, sess = (_codes(c[k], states) for k in ("state", "l_state", "s_state"))
        use_later = (state == 2) & (later >= 0)
        use_sess = (state == 3) & (sess >= 0)
        final = np.where(use_later, later, np.where(use_sess, sess, state))
        reason = pc.if_else(pa.array(use_later), c["l_reason"],
                            pc.if_else(pa.array(use_sess), c["s_reason"], c["reason"]))
        rated_ok = (final == 0) & pc.is_valid(c["r_charge"]).to_numpy(zero_copy_only=False)
        billed = rated_ok & (_codes(c["r_channel"], ("invoice",)) == 0)
        rerated = _codes(c["r_state"], ("rerated",)) == 0
        status = np.where(billed, 0, np.where(rated_ok, np.where(rerated, 2, 1),
                                              np.array([3, 4, 5, 6])[np.maximum(final, 0)]))
        return _Decided(c, state, reason, rated_ok, billed, status)

    def statuses(self, cdrs: pa.Table, rated: pa.Table) -> npt.NDArray[np.int64]:
        """The TMF635 status of each first receipt in ``cdrs`` (an index into
        :data:`STATUS`), given the ``rated`` rows of their charging ids."""
        return self._decide(cdrs, rated).status

    def texts(self, cdrs: pa.Table, rows: npt.NDArray[np.int64], rated: pa.Table,
              before: str = "", after: str = "") -> pa.Array:
        """JSON of each first receipt in ``cdrs`` (``rows``: their rows in the table, for
        the ids of duplicates), given the ``rated`` rows of their charging ids; each text
        between ``before`` and ``after`` (separators, so a file is the texts end to end)."""
        d = self._decide(cdrs, rated)
        c, state, reason, rated_ok, billed, status = (d.c, d.state, d.reason, d.rated_ok,
                                                      d.billed, d.status)

        def num(name: str) -> npt.NDArray[Any]:
            return np.asarray(c[name].to_numpy(zero_copy_only=False))

        # a session's rating shows on its closing part; the other parts carry the status
        record = num("record_id")
        s_record = np.nan_to_num(num("s_record").astype(np.float64), nan=-1).astype(np.int64)
        show = rated_ok & ((state != 3) | (record == s_record))

        kind = num("kind").astype(np.int64)
        kind = np.where((kind >= 0) & (kind < 3), kind, 3)
        sub = num("sub").astype(np.int64)
        known = (sub >= 0) & (sub < len(self.msisdn))
        subi = np.where(known, sub, 0)
        node = num("node_id").astype(np.int64)
        nodes, node_idx = np.unique(node, return_inverse=True)
        node_txt = _text(pa.array(nodes))
        node_dash = _pick(_join(node_txt, "-"), node_idx)
        node_col = _pick(node_txt, node_idx)
        rid = _text(c["record_id"])
        reason_codes = _codes(reason, ("duplicate",))
        dup = reason_codes == 0
        dup_suffix = _sparse(dup, _join("-dup-", _text(pa.array(rows[dup]))))
        # records of unknown subscribers: no customer, their number written as it came
        odd = _sparse(~known, _join('"usageCharacteristic":[' + _char("msisdn", "string")
                                    + '"', _text(pa.array(sub[~known] + MSISDN_BASE)),
                                    '"},' + _char("recordingEntity", "integer")))
        parts = np.nan_to_num(num("s_parts").astype(np.float64)).astype(np.int64)
        assembled = show & (parts > 0)
        cause = np.clip(num("cause").astype(np.int64), 0, len(self.causes) - 1)
        charge = np.nan_to_num(num("r_charge").astype(np.float64))
        allow = np.nan_to_num(num("r_allow").astype(np.float64))
        tag = np.where(allow == 0, 0, np.where(charge == 0, 1, 2))
        value = _sparse(show, _text(pa.array(charge[show] / self.per)))
        pieces: list[Any] = [
            before + '{"id":"', node_dash, rid, dup_suffix, '","href":"' + self.base,
            node_dash, rid, dup_suffix, '","usageDate":"',
            *self.usage_clock.pieces(num("start")),
            _pick(self.kinds, kind), rid, " from recording entity ", node_col,
            '","status":"', _pick(self.status_kind, status * 4 + kind),
            _pick(self.party, subi, known), _pick(self.msisdn, subi, known), odd, node_col,
            "}," + _char("recordId", "integer"), rid,
            "}," + _char("durationSeconds", "integer"), _text(c["duration_s"]),
            "}," + _char("volumeBytes", "integer"), _text(c["volume_bytes"]),
            _pick(self.causes, cause), _text(c["charging_id"]),
            "}," + _char("recordSequenceNumber", "integer"), _text(c["seq"]), "}",
            _sparse(assembled, _join("," + _char("assembledFromParts", "integer"),
                                     _text(pa.array(parts[assembled])), "}")),
            _dict_pieces(reason, "," + _char("rejectReason", "string"), "}",
                         _codes(reason, ("",)) != 0),
            "],",
            _pick(self.billed, billed.astype(np.int64), show),
            *self.rating_clock.pieces(num("r_at").astype(np.float64), show),
            _dict_pieces(c["r_period"], "", ',"usageRatingTag":"', show),
            _pick(self.tags, tag, show), value, _pick(self.product, subi, show),
            _dict_pieces(c["r_offer"], "", ',"@referredType":"Product"}}],', show),
            '"@type":"Usage"}' + after,
        ]
        return pc.binary_join_element_wise(*pieces, "", null_handling="skip")


def account_of(subscriptions: Mapping[str, Any]) -> npt.NDArray[np.int64]:
    """Each line's account, indexed by line (from the ``subscriptions`` table columns)."""
    sub = np.asarray(subscriptions["sub"], dtype=np.int64)
    out = np.full(int(sub.max()) + 1 if sub.size else 0, -1, dtype=np.int64)
    out[sub] = np.asarray(subscriptions["account"], dtype=np.int64)
    return out
