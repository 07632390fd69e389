"""The test-only admin API under `/__sim__/` (behind `admin_gate`: loopback peers and loopback Host
names only, and `Content-Type: application/json` on every POST, with or without a body).

    POST /__sim__/accounts      {"balances": {"USDT": "100000"}, "demo": false} -> {"uid"}
    POST /__sim__/keys          {"uid"?, "balances"?, "perm", "ip", "label", "demo"} -> key fields
    POST /__sim__/price         {"instId", "px"} or {"instId", "movePct"}
    POST /__sim__/clock         {"offsetMs": 40000}
    POST /__sim__/faults        {"path", "count", "kind", "delayMs"?, "lateMs"?, "op"?}
    GET  /__sim__/realism       the asynchrony settings, scheduled late work ("pending"), hidden reads
    POST /__sim__/realism       {"lateExecMs"?, "lateExecShare"?, "cancelLagMs"?, "amendLagMs"?,
                                 "readLagMs"?, "fixedLags"?} -> the same as GET
    GET  /__sim__/stats         request counts per path and per uid
    GET  /__sim__/orders?uid=U  every order of an account, any state
    POST /__sim__/reset-limits
    POST /__sim__/history       {"pageCap"?, "instId"?, "missing"?, "duplicates"?, "reset"?} (`history`)
    POST /__sim__/deposits      {"uid", "ccy", "amt", "state"?: "2", "type"?: "4", "from"?, "txId"?, "ts"?}
    POST /__sim__/withdrawals   {"uid", "ccy", "amt", "toAddr", "state"?: "2", "dest"?: "4", "chain"?,
                                 "fee"?, "clientId"?, "txId"?, "ts"?}  or  {"uid", "wdId", "state"}
    POST /__sim__/step          {"steps"?: 1} -> {"steps", "ms"}: step the synthetic market now (with
                                 `SimConfig(auto_step=False)` nothing else moves it)
    POST /__sim__/record        {"instIds": ["BTC-USDT"]} -> {"startMs", "instIds"}: record the market's
                                 own flow from now (okxbot.sim.recorder); replaces a running recording
    GET  /__sim__/record        the recording so far;  DELETE /__sim__/record: stop, and return it
    POST /__sim__/subaccounts   {"uid": master uid, "subAcct", "label"?} -> the list row (made "on the
                                 website": no API rule applies but the name's)
    GET  /__sim__/subaccounts?uid=MASTER   every sub-account of a master, with its keys (no secrets)
    POST /__sim__/subaccount-config {"apiCreate"?: true, "maxKeys"?: 50, "maxSubaccounts"?: 1000}
Every account made by /__sim__/accounts or /__sim__/keys is a main (master) account; /__sim__/keys with
the uid of a sub-account makes a key for it "by hand" (any permission, withdraw included).
Answers are plain JSON objects (not the OKX envelope); errors are `{"error": "..."}` with HTTP 400.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from decimal import Decimal, InvalidOperation
from typing import Any

from aiohttp import web

from okxbot.sim.admin_gate import AdminInputError, read_object, refusal
from okxbot.sim.context import CTX, SimContext
from okxbot.sim.faults import Fault
from okxbot.sim.filters import ParamError
from okxbot.sim.funding_account import FundingError
from okxbot.sim.wire import dumps
from okxbot.sim.ws_ops import OPS


class AdminError(Exception):
    """Bad admin input; the message says what to fix."""


Handler = Callable[[SimContext, dict[str, Any], web.Request], Any]


def register(router: web.UrlDispatcher) -> None:
    for method, name, fn in (
        ("POST", "accounts", _accounts),
        ("POST", "keys", _keys),
        ("POST", "price", _price),
        ("POST", "clock", _clock),
        ("POST", "faults", _faults),
        ("GET", "realism", _realism),
        ("POST", "realism", _realism),
        ("GET", "stats", _stats),
        ("GET", "orders", _orders),
        ("POST", "reset-limits", _reset_limits),
        ("POST", "history", _history),
        ("POST", "deposits", _deposits),
        ("POST", "withdrawals", _withdrawals),
        ("POST", "step", _step),
        ("POST", "record", _record),
        ("GET", "record", _record),
        ("DELETE", "record", _record),
        ("POST", "subaccounts", _subaccounts_create),
        ("GET", "subaccounts", _subaccounts_list),
        ("POST", "subaccount-config", _subaccount_config),
    ):
        router.add_route(method, f"/__sim__/{name}", _wrap(fn))


def _wrap(fn: Handler) -> Callable[[web.Request], Awaitable[web.Response]]:
    async def handle(request: web.Request) -> web.Response:
        refused = refusal(request)
        if refused is not None:
            return refused
        payload: dict[str, Any] = dict(request.query)
        try:
            payload.update(await read_object(request))
        except AdminInputError as err:
            return _json({"error": str(err)}, 400)
        try:
            return _json(fn(request.app[CTX], payload, request), 200)
        except AdminError as err:
            return _json({"error": str(err)}, 400)

    return handle


def _history(ctx: SimContext, body: dict[str, Any], request: web.Request) -> Any:
    from okxbot.sim.history import admin_history

    try:
        return admin_history(ctx, body)
    except ValueError as err:
        raise AdminError(str(err)) from None


def _json(body: Any, status: int) -> web.Response:
    return web.Response(body=dumps(body), status=status, content_type="application/json")


def _decimal(value: Any, what: str) -> Decimal:
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise AdminError(f"{what} must be a decimal number, got {value!r}") from None
    if not number.is_finite():
        raise AdminError(f"{what} must be finite, got {value!r}")
    return number


def _balances(raw: Any) -> dict[str, Decimal]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise AdminError('balances must be an object like {"USDT": "100000"}')
    result = {}
    for ccy, amount in raw.items():
        value = _decimal(amount, f"balance of {ccy}")
        if value < 0:
            raise AdminError(f"balance of {ccy} must be >= 0")
        result[str(ccy).upper()] = value
    return result


def _bool(value: Any, what: str) -> bool:
    if isinstance(value, bool):
        return value
    if value in ("true", "1", 1):
        return True
    if value in ("false", "0", 0, None):
        return False
    raise AdminError(f"{what} must be true or false")


def _accounts(ctx: SimContext, body: dict[str, Any], request: web.Request) -> dict[str, Any]:
    uid = ctx.exchange.create_account(_balances(body.get("balances")), demo=_bool(body.get("demo"), "demo"))
    return {"uid": uid}


def _keys(ctx: SimContext, body: dict[str, Any], request: web.Request) -> dict[str, Any]:
    demo = _bool(body.get("demo"), "demo")
    uid = body.get("uid")
    if uid is None:
        uid = ctx.exchange.create_account(_balances(body.get("balances")), demo=demo)
    elif not ctx.exchange.has_account(str(uid)):
        raise AdminError(f"no account with uid {uid!r}; create one with POST /__sim__/accounts")
    try:
        key = ctx.keystore.create(
            str(uid),
            perm=str(body.get("perm", "read_only,trade")),
            ip=str(body.get("ip", "127.0.0.1")),
            label=str(body.get("label", "")),
            demo=demo,
        )
    except ValueError as err:
        raise AdminError(str(err)) from None
    return key.wire()


def _price(ctx: SimContext, body: dict[str, Any], request: web.Request) -> dict[str, Any]:
    inst_id = str(body.get("instId", ""))
    if ctx.exchange.instrument(inst_id) is None:
        raise AdminError(f"unknown instId {inst_id!r}")
    if ctx.market is None:
        raise AdminError("this simulator runs without a synthetic market; prices move only by trading")
    if "px" in body:
        px = _decimal(body["px"], "px")
        if px <= 0:
            raise AdminError("px must be > 0")
    elif "movePct" in body:
        px = None
        pct = _decimal(body["movePct"], "movePct")
        if pct <= -100:
            raise AdminError("movePct must be > -100")
    else:
        raise AdminError('give "px" (jump to a price) or "movePct" (move by a percentage)')
    if px is not None:
        ctx.market.jump(inst_id, px)
    else:
        ctx.market.move_pct(inst_id, pct)
    return {"instId": inst_id, "px": str(ctx.market.fair_price(inst_id))}


def _clock(ctx: SimContext, body: dict[str, Any], request: web.Request) -> dict[str, Any]:
    try:
        offset = int(body.get("offsetMs", 0))
    except (TypeError, ValueError):
        raise AdminError("offsetMs must be an integer number of milliseconds") from None
    ctx.clock.set_offset(offset)
    return {"offsetMs": offset, "ts": str(ctx.clock.now_ms())}


def _faults(ctx: SimContext, body: dict[str, Any], request: web.Request) -> dict[str, Any]:
    path = str(body.get("path", ""))
    kind = str(body.get("kind", ""))
    if not path.startswith("/"):
        raise AdminError('path must be a request path such as "/api/v5/trade/order"')
    try:
        count = int(body.get("count", 1))
        delay_ms = int(body.get("delayMs", 0))
        late_ms = None if body.get("lateMs") is None else int(body["lateMs"])
    except (TypeError, ValueError):
        raise AdminError("count, delayMs and lateMs must be integers") from None
    op = str(body.get("op", ""))
    if op and op not in OPS:
        raise AdminError(f"op must be one of {', '.join(sorted(OPS))} (or absent for every trading op)")
    fault = Fault(path=path, kind=kind, count=count, delay_ms=delay_ms, late_ms=late_ms, op=op)
    try:
        ctx.faults.add(fault)
    except ValueError as err:
        raise AdminError(str(err)) from None
    return {"pending": [vars(f) for f in ctx.faults.pending()]}


def _realism(ctx: SimContext, body: dict[str, Any], request: web.Request) -> dict[str, Any]:
    if request.method == "POST":
        try:
            ctx.asynchrony.configure(body)
        except ValueError as err:
            raise AdminError(str(err)) from None
    return ctx.asynchrony.wire()


def _stats(ctx: SimContext, body: dict[str, Any], request: web.Request) -> dict[str, Any]:
    return ctx.stats.wire()


def _orders(ctx: SimContext, body: dict[str, Any], request: web.Request) -> dict[str, Any]:
    uid = str(body.get("uid", ""))
    if not ctx.exchange.has_account(uid):
        raise AdminError(f"no account with uid {uid!r}")
    return {"uid": uid, "orders": ctx.exchange.all_orders(uid)}


def _reset_limits(ctx: SimContext, body: dict[str, Any], request: web.Request) -> dict[str, Any]:
    ctx.limiter.reset()
    return {"reset": True}


def _funding_target(ctx: SimContext, body: dict[str, Any]) -> tuple[str, str]:
    uid = str(body.get("uid", ""))
    if not ctx.exchange.has_account(uid):
        raise AdminError(f"no account with uid {uid!r}; create one with POST /__sim__/accounts")
    ccy = str(body.get("ccy", "")).upper()
    if "wdId" not in body and ccy not in ctx.exchange.currencies():
        raise AdminError(f"ccy must be one of {', '.join(sorted(ctx.exchange.currencies()))}, got {ccy!r}")
    return uid, ccy


def _ts(body: dict[str, Any]) -> int | None:
    if body.get("ts") in (None, ""):
        return None
    try:
        return int(str(body["ts"]))
    except ValueError:
        raise AdminError("ts must be a time in ms since the epoch") from None


def _deposits(ctx: SimContext, body: dict[str, Any], request: web.Request) -> dict[str, Any]:
    """A deposit lands in the account's funding account (credited when its state is 1 or 2)."""
    uid, ccy = _funding_target(ctx, body)
    try:
        deposit = ctx.funding.deposit(
            uid,
            ccy,
            _decimal(body.get("amt"), "amt"),
            state=str(body.get("state", "2")),
            dep_type=str(body.get("type", "4")),
            sender=str(body.get("from", "")),
            tx_id=str(body.get("txId", "")),
            ts=_ts(body),
        )
    except ValueError as err:
        raise AdminError(str(err)) from None
    return deposit.wire()


def _withdrawals(ctx: SimContext, body: dict[str, Any], request: web.Request) -> dict[str, Any]:
    """A withdrawal from the funding account (e.g. made with a leaked key), or a new state for one."""
    uid, ccy = _funding_target(ctx, body)
    state = str(body.get("state", "2"))
    try:
        if "wdId" in body:
            withdrawal = ctx.funding.set_withdrawal_state(
                uid, str(body["wdId"]), state, tx_id=str(body.get("txId", ""))
            )
        else:
            to_addr = str(body.get("toAddr", ""))
            if not to_addr:
                raise AdminError("toAddr is required: the address (or account) the money went to")
            withdrawal = ctx.funding.withdraw(
                uid,
                ccy,
                _decimal(body.get("amt"), "amt"),
                to_addr,
                dest=str(body.get("dest", "4")),
                chain=str(body.get("chain", "")),
                fee=_decimal(body.get("fee", "0"), "fee"),
                client_id=str(body.get("clientId", "")),
                state=state,
                tx_id=str(body.get("txId", "")),
                ts=_ts(body),
            )
    except FundingError as err:
        held = ctx.funding.balances(uid, [ccy])
        have = held[0]["availBal"] if held else "0"
        raise AdminError(
            f"{err.msg} (funding account holds {have} {ccy}; add some with POST /__sim__/deposits)"
            if err.code == "58350"
            else err.msg
        ) from None
    except ValueError as err:
        raise AdminError(str(err)) from None
    return withdrawal.wire()


def _step(ctx: SimContext, body: dict[str, Any], request: web.Request) -> dict[str, Any]:
    if ctx.market is None:
        raise AdminError("this simulator runs without its synthetic market (market = false): nothing to step")
    steps = body.get("steps", 1)
    if isinstance(steps, str) and steps.isdigit():
        steps = int(steps)
    if not isinstance(steps, int) or isinstance(steps, bool) or not 1 <= steps <= 10_000:
        raise AdminError(f"steps must be an integer from 1 to 10000, got {steps!r}")
    for _ in range(steps):
        ctx.market.step()
    return {"steps": ctx.market.steps, "ms": ctx.clock.now_ms()}


def _record(ctx: SimContext, body: dict[str, Any], request: web.Request) -> dict[str, Any]:
    from okxbot.sim.recorder import RecordingRefused, recording_of, start_recording, stop_recording

    market = ctx.market
    if market is None:
        raise AdminError(
            "this simulator runs without its synthetic market (market = false): nothing to record"
        )
    if request.method == "POST":
        inst_ids = body.get("instIds")
        if not isinstance(inst_ids, list) or not inst_ids or not all(isinstance(i, str) for i in inst_ids):
            raise AdminError('instIds must be a list of instruments, e.g. {"instIds": ["BTC-USDT"]}')
        stop_recording(market)
        try:
            recorder = start_recording(market, ctx.exchange, inst_ids, ctx.seed)
        except RecordingRefused as err:
            raise AdminError(str(err)) from None
        return {"startMs": recorder.start_ms, "instIds": recorder.inst_ids}
    recorder = stop_recording(market) if request.method == "DELETE" else recording_of(market)
    if recorder is None:
        raise AdminError("no recording is running: start one with POST /__sim__/record")
    return dict(recorder.wire(ctx.clock.now_ms()))


def _master_uid(ctx: SimContext, body: dict[str, Any]) -> str:
    uid = str(body.get("uid", ""))
    if not ctx.exchange.has_account(uid):
        raise AdminError(f"no account with uid {uid!r}; create one with POST /__sim__/keys")
    if ctx.subaccounts.is_sub(uid):
        raise AdminError(f"uid {uid} is a sub-account; give the uid of its master account")
    return uid


def _subaccounts_create(ctx: SimContext, body: dict[str, Any], request: web.Request) -> dict[str, Any]:
    """A sub-account made on the website (no API restriction applies; the name rules do)."""
    master = _master_uid(ctx, body)
    name = str(body.get("subAcct", ""))
    try:
        ctx.subaccounts.check_new(master, name)
        uid = ctx.exchange.create_account({}, demo=ctx.exchange.is_demo(master))
        sub = ctx.subaccounts.add(master, name, uid, str(body.get("label", "")), ctx.clock.now_ms())
    except ParamError as err:
        raise AdminError(f"{err.code} {err.msg} (names: 6-20 letters and digits, with both)") from None
    return sub.wire()


def _subaccounts_list(ctx: SimContext, body: dict[str, Any], request: web.Request) -> dict[str, Any]:
    master = _master_uid(ctx, body)
    rows = []
    for sub in ctx.subaccounts.of_master(master):
        keys = [
            {
                "apiKey": k.api_key,
                "label": k.label,
                "perm": k.perm_string(),
                "ip": k.ip_string(),
                "ts": str(k.ts),
            }
            for k in ctx.keystore.of_uid(sub.uid)
        ]
        rows.append(sub.wire() | {"keys": keys})
    return {"uid": master, "subaccounts": rows}


def _subaccount_config(ctx: SimContext, body: dict[str, Any], request: web.Request) -> dict[str, Any]:
    subs = ctx.subaccounts
    if "apiCreate" in body:
        subs.api_create = _bool(body["apiCreate"], "apiCreate")
    for name, attr in (("maxKeys", "max_keys"), ("maxSubaccounts", "max_subaccounts")):
        if name in body:
            value = body[name]
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise AdminError(f"{name} must be a whole number >= 1")
            setattr(subs, attr, value)
    return {"apiCreate": subs.api_create, "maxKeys": subs.max_keys, "maxSubaccounts": subs.max_subaccounts}
