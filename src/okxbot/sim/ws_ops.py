"""Order entry over the /private socket (reference §5.7): the same engine calls as REST, the same buckets.

    -> {"id":"2","op":"order","args":[{...one REST order...}]}
    <- {"id":"2","op":"order","code":"0","msg":"","data":[{...per-order result...}],"inTime":..,"outTime":..}

Per-order failures travel in `data[].sCode` with top-level code "1" (all failed) or "2" (some failed);
a malformed request gets code 60013 "Invalid args" and empty data; a rate-limit breach gets the REST
code (50011 / 50061) because the buckets are the REST ones (`Limiter.charge_ws`).

Injected faults (`faults`, path "/ws/v5/private", optionally one `op`) answer with their code and
empty data, or not at all (`timeout`); place / cancel / amend ops may still execute later
(`okxbot.sim.asynchrony`), after passing every check now. Cancels and amends go through
`ctx.asynchrony`, which may acknowledge them before they take effect.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from okxbot.sim.auth import ApiKey
from okxbot.sim.context import SimContext
from okxbot.sim.faults import WS_PATH, Fault
from okxbot.sim.wire import SimError, now_us

OPS = frozenset(
    {
        "order",
        "batch-orders",
        "cancel-order",
        "batch-cancel-orders",
        "amend-order",
        "batch-amend-orders",
        "mass-cancel",
    }
)
SINGLE = frozenset({"order", "cancel-order", "amend-order", "mass-cancel"})
EXP_TIME_OPS = frozenset({"order", "batch-orders", "amend-order", "batch-amend-orders"})  # OKX docs
MAX_BATCH = 20


def _answer(req_id: str, op: str, code: str, msg: str, data: list[Any], in_time: str) -> dict[str, Any]:
    return {
        "id": req_id,
        "op": op,
        "code": code,
        "msg": msg,
        "data": data,
        "inTime": in_time,
        "outTime": now_us(),
    }


def _batch_code(results: list[Mapping[str, Any]]) -> str:
    failed = sum(1 for r in results if r.get("sCode") != "0")
    if results and failed == len(results):
        return "1"
    return "2" if failed else "0"


@dataclass
class _Ready:
    """An op that passed every check and only waits for the engine."""

    uid: str
    op: str
    req_id: str
    args: list[dict[str, Any]]
    exp_time_ms: int | None


def run_op(ctx: SimContext, key: ApiKey, message: Mapping[str, Any]) -> dict[str, Any] | None:
    """Execute one trading op for `key`'s account and return the answer to send (None: send nothing)."""
    in_time = now_us()
    op = str(message.get("op"))
    fault = ctx.faults.take(WS_PATH, op)
    if fault is not None:
        return _faulted(ctx, key, message, fault, in_time)
    ready = _prepare(ctx, key, message, in_time)
    if isinstance(ready, _Ready):
        return _execute(ctx, ready, in_time)
    return ready


def _faulted(
    ctx: SimContext, key: ApiKey, message: Mapping[str, Any], fault: Fault, in_time: str
) -> dict[str, Any] | None:
    op = str(message.get("op"))
    delay = ctx.asynchrony.late_delay_ms(fault) if op != "mass-cancel" else None
    if delay is not None:
        ready = _prepare(ctx, key, message, in_time)
        if isinstance(ready, _Ready):
            ctx.asynchrony.later(delay, functools.partial(_execute, ctx, ready, in_time), ready.exp_time_ms)
    if fault.kind == "timeout":
        return None
    err = SimError(fault.kind)
    return _answer(str(message.get("id") or ""), op, err.code, err.msg, [], in_time)


def _prepare(
    ctx: SimContext, key: ApiKey, message: Mapping[str, Any], in_time: str
) -> _Ready | dict[str, Any]:
    """The op ready to run, or the answer refusing it."""
    op = str(message.get("op"))
    req_id = str(message.get("id") or "")
    args = message.get("args")
    if (
        not req_id
        or not isinstance(args, list)
        or not args
        or not all(isinstance(a, dict) for a in args)
        or (op in SINGLE and len(args) != 1)
        or len(args) > MAX_BATCH
    ):
        return _answer(req_id, op, "60013", "Invalid args", [], in_time)
    if "trade" not in key.perm:
        err = SimError("50120")
        return _answer(req_id, op, err.code, err.msg, [], in_time)
    exp_time = str(message.get("expTime") or "")
    if exp_time:
        if not (exp_time.isascii() and exp_time.isdigit()):
            return _answer(req_id, op, "60013", "Invalid args", [], in_time)
        if ctx.clock.now_ms() > int(exp_time):
            # Expired requests are refused per order, like REST's expTime (sCode 50102).
            data = [_expired(a) for a in args]
            return _answer(req_id, op, "1", "", data, in_time)
    args = [_with_inst_id(ctx, a) for a in args]
    try:
        inst_ids = [str(a.get("instId") or "") for a in args]
        ctx.limiter.charge_ws(key.uid, op, inst_ids, arrival=int(in_time))
    except SimError as err:
        return _answer(req_id, op, err.code, err.msg, [], in_time)
    exp_time_ms = int(exp_time) if exp_time and op in EXP_TIME_OPS else None
    return _Ready(key.uid, op, req_id, args, exp_time_ms)


def _execute(ctx: SimContext, ready: _Ready, in_time: str) -> dict[str, Any]:
    uid, op, req_id, args = ready.uid, ready.op, ready.req_id, ready.args
    if op == "mass-cancel":
        return _mass_cancel(ctx, uid, req_id, args[0], in_time)
    if op in ("order", "batch-orders"):
        results = [ctx.exchange.place_order(uid, a) for a in args]
    elif op in ("cancel-order", "batch-cancel-orders"):
        results = [ctx.asynchrony.cancel_order(uid, a) for a in args]
    else:
        results = [ctx.asynchrony.amend_order(uid, a) for a in args]
    return _answer(req_id, op, _batch_code(results), "", results, in_time)


def _with_inst_id(ctx: SimContext, arg: dict[str, Any]) -> dict[str, Any]:
    """OKX's WS trading accepts `instIdCode` (an integer, as ccxt sends it) in place of `instId`."""
    code = arg.get("instIdCode")
    if code is None or arg.get("instId"):
        return arg
    by_code = {str(inst.inst_id_code): inst.inst_id for inst in ctx.exchange.instruments}
    # An unknown code becomes an instId that does not exist, which the engine answers with 51001.
    return {**arg, "instId": by_code.get(str(code), f"instIdCode:{code}")}


def _expired(arg: Mapping[str, Any]) -> dict[str, str]:
    return {
        "clOrdId": str(arg.get("clOrdId") or ""),
        "ordId": str(arg.get("ordId") or ""),
        "tag": str(arg.get("tag") or ""),
        "ts": now_us()[:-3],
        "sCode": "50102",
        "sMsg": "Timestamp request expired",
    }


def _mass_cancel(
    ctx: SimContext, uid: str, req_id: str, arg: Mapping[str, Any], in_time: str
) -> dict[str, Any]:
    # OKX's mass-cancel targets option MMP orders; on this spot simulator it cancels the pending orders
    # of the spot instrument named by instFamily, as the REST endpoint does.
    inst_type = str(arg.get("instType") or "")
    family = str(arg.get("instFamily") or "")
    if inst_type not in ("SPOT", "OPTION") or not family:
        return _answer(req_id, "mass-cancel", "60013", "Invalid args", [], in_time)
    if inst_type == "SPOT":
        if ctx.exchange.instrument(family) is None:
            return _answer(req_id, "mass-cancel", "60013", "Invalid args", [], in_time)
        ctx.exchange.cancel_all(uid, inst_id=family, source="1")
    return _answer(req_id, "mass-cancel", "0", "", [{"result": True}], in_time)
