"""The test-only admin API under `/__sim__/` (behind `admin_gate`: loopback peers and loopback Host
names only, and `Content-Type: application/json` on every POST, with or without a body).

    POST /__sim__/accounts      {"balances": {"USDT": "100000"}, "demo": false} -> {"uid"}
    POST /__sim__/keys          {"uid"?, "balances"?, "perm", "ip", "label", "demo"} -> key fields
    POST /__sim__/price         {"instId", "px"} or {"instId", "movePct"}
    POST /__sim__/clock         {"offsetMs": 40000}
    POST /__sim__/faults        {"path", "count", "kind", "delayMs"?}
    GET  /__sim__/stats         request counts per path and per uid
    GET  /__sim__/orders?uid=U  every order of an account, any state
    POST /__sim__/reset-limits
Answers are plain JSON objects (not the OKX envelope); errors are `{"error": "..."}` with HTTP 400.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from decimal import Decimal, InvalidOperation
from typing import Any

from aiohttp import web

from okxbot.sim.admin_gate import AdminInputError, read_object, refusal
from okxbot.sim.context import CTX, SimContext
from okxbot.sim.faults import REST_KINDS, Fault
from okxbot.sim.wire import dumps


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
        ("GET", "stats", _stats),
        ("GET", "orders", _orders),
        ("POST", "reset-limits", _reset_limits),
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
    if path.startswith("/api/") and kind not in REST_KINDS:
        raise AdminError(f"kind must be one of {', '.join(REST_KINDS)}")
    try:
        count = int(body.get("count", 1))
        delay_ms = int(body.get("delayMs", 0))
    except (TypeError, ValueError):
        raise AdminError("count and delayMs must be integers") from None
    try:
        ctx.faults.add(Fault(path=path, kind=kind, count=count, delay_ms=delay_ms))
    except ValueError as err:
        raise AdminError(str(err)) from None
    return {"pending": [vars(f) for f in ctx.faults.pending()]}


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
