"""The `/api/v5/...` endpoints of the simulator (reference §3), registered into `rest.ENDPOINTS`.

Each function gets a `rest.Call` and returns the `data` list (or a whole response when the answer
carries per-item results). Parameters arrive as strings (GET) or decoded JSON (POST); python-okx
sends `""` for parameters it does not use, so an empty string counts as absent everywhere.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from okxbot.sim import history as _history  # noqa: F401 (registers candles, history-candles, history-trades)
from okxbot.sim.context import SimContext
from okxbot.sim.filters import count_param, is_digits
from okxbot.sim.instruments import fmt
from okxbot.sim.rest import Call, endpoint
from okxbot.sim.wire import SimError, batch_response

INST_TYPES = ("SPOT", "MARGIN", "SWAP", "FUTURES", "OPTION")
MAX_BATCH = 20
# cancel-all-after: 0 disables, otherwise 10..120 seconds (OKX docs).
DEAD_MAN_RANGE = (10, 120)


# -- parameter helpers -------------------------------------------------------------------------


def _opt(params: dict[str, Any], name: str) -> str:
    value = params.get(name)
    if value is None or value == "":
        return ""
    if not isinstance(value, str):
        raise SimError("51000", name)
    return value


def _req(params: dict[str, Any], name: str) -> str:
    value = _opt(params, name)
    if not value:
        raise SimError("50014", name)
    return value


def _count(params: dict[str, Any], name: str, default: int, maximum: int) -> int:
    return count_param(_opt(params, name), name, default=default, maximum=maximum)


def _inst_id(call: Call) -> str:
    inst_id = _req(call.params, "instId")
    if call.ctx.exchange.instrument(inst_id) is None:
        raise SimError("51001")
    return inst_id


def _inst_type(params: dict[str, Any], required: bool) -> str:
    inst_type = _req(params, "instType") if required else _opt(params, "instType")
    if inst_type and inst_type not in INST_TYPES:
        raise SimError("51000", "instType")
    return inst_type


def _batch(call: Call) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = call.params
    if not items:
        raise SimError("50014", "request")
    if len(items) > MAX_BATCH:
        raise SimError("51111", MAX_BATCH)
    return items


# -- public ------------------------------------------------------------------------------------


@endpoint("GET", "/api/v5/public/time")
def public_time(call: Call) -> list[Any]:
    return [{"ts": str(call.ctx.clock.now_ms())}]


@endpoint("GET", "/api/v5/system/status")
def system_status(call: Call) -> list[Any]:
    # No planned maintenance: OKX answers an empty list.
    return []


@endpoint("GET", "/api/v5/public/instruments")
def public_instruments(call: Call) -> list[Any]:
    inst_type = _inst_type(call.params, required=True)
    if inst_type == "OPTION" and not (_opt(call.params, "instFamily") or _opt(call.params, "uly")):
        raise SimError("50015", "instFamily", "uly")
    # The simulator lists SPOT pairs and SWAP contracts; no MARGIN pairs, FUTURES or OPTIONS.
    inst_id = _opt(call.params, "instId")
    family = _opt(call.params, "instFamily") or _opt(call.params, "uly")
    return [
        inst.to_wire()
        for inst in call.ctx.exchange.instruments.of_type(inst_type)
        if (not inst_id or inst.inst_id == inst_id) and (not family or inst.uly == family)
    ]


@endpoint("GET", "/api/v5/market/ticker")
def market_ticker(call: Call) -> list[Any]:
    return [call.ctx.exchange.ticker(_inst_id(call))]


@endpoint("GET", "/api/v5/market/tickers")
def market_tickers(call: Call) -> list[Any]:
    inst_type = _inst_type(call.params, required=True)
    family = _opt(call.params, "instFamily") or _opt(call.params, "uly")
    return [
        t for t in call.ctx.exchange.tickers(inst_type) if not family or t["instId"].startswith(family + "-")
    ]


@endpoint("GET", "/api/v5/market/books")
def market_books(call: Call) -> list[Any]:
    inst_id = _inst_id(call)
    return [call.ctx.exchange.books(inst_id, _count(call.params, "sz", 1, 400))]


@endpoint("GET", "/api/v5/market/books-full")
def market_books_full(call: Call) -> list[Any]:
    # Up to 5000 levels a side; a level is [px, sz, number of orders] (no deprecated "0" here).
    inst_id = _inst_id(call)
    book = call.ctx.exchange.books(inst_id, _count(call.params, "sz", 1, 5000))
    return [
        {
            **book,
            "asks": [[px, sz, n] for px, sz, _, n in book["asks"]],
            "bids": [[px, sz, n] for px, sz, _, n in book["bids"]],
        }
    ]


@endpoint("GET", "/api/v5/market/trades")
def market_trades(call: Call) -> list[Any]:
    inst_id = _inst_id(call)
    return call.ctx.exchange.trades(inst_id, _count(call.params, "limit", 100, 500))


# -- account and funding -------------------------------------------------------------------------


@endpoint("GET", "/api/v5/account/balance", perm="read_only")
def account_balance(call: Call) -> list[Any]:
    ccys = [c for c in _opt(call.params, "ccy").split(",") if c]
    if len(ccys) > 20:
        raise SimError("50025", "ccy", 20)
    return [call.ctx.exchange.balances(call.uid, ccys or None)]


@endpoint("GET", "/api/v5/account/config", perm="read_only")
def account_config(call: Call) -> list[Any]:
    key = call.key
    assert key is not None
    main_uid = call.ctx.subaccounts.master_of(key.uid)  # a sub-account's key names its master
    acct_lv, pos_mode = call.ctx.exchange.account_settings(key.uid)
    return [
        {
            "acctLv": acct_lv,
            "acctStpMode": "cancel_maker",
            "autoLoan": False,
            "ctIsoMode": "automatic",
            "enableSpotBorrow": False,
            "greeksType": "PA",
            "ip": key.ip_string(),
            "kycLv": "2",
            "label": key.label,
            "level": "Lv1",
            "levelTmp": "",
            "liquidationGear": "-1",
            "mainUid": main_uid,
            "mgnIsoMode": "automatic",
            "opAuth": "0",
            "perm": key.perm_string(),
            "posMode": pos_mode,
            "roleType": "0",
            "spotBorrowAutoRepay": False,
            "spotOffsetType": "",
            "spotRoleType": "0",
            "spotTraderInsts": [],
            "traderInsts": [],
            "type": "0" if main_uid == key.uid else "1",  # 1: standard sub-account
            "uid": key.uid,
        }
    ]


@endpoint("GET", "/api/v5/account/bills", perm="read_only")
def account_bills(call: Call) -> list[Any]:
    _inst_type(call.params, required=False)
    return call.ctx.exchange.bills(call.uid, call.params)


@endpoint("GET", "/api/v5/account/bills-archive", perm="read_only")
def account_bills_archive(call: Call) -> list[Any]:
    # OKX keeps 3 months here; the simulator's engine keeps bills 7 days, so both views agree.
    return account_bills(call)


@endpoint("GET", "/api/v5/account/trade-fee", perm="read_only")
def account_trade_fee(call: Call) -> list[Any]:
    inst_type = _inst_type(call.params, required=True)
    if inst_type not in ("SPOT", "SWAP"):
        raise SimError("51000", "instType")
    maker, taker = call.ctx.exchange.fee_rates(inst_type)
    # OKX reports fee rates as negative numbers (a charge); swaps fill the U (USDT-margined) fields too.
    swap = inst_type == "SWAP"
    return [
        {
            "category": "1",
            "delivery": "",
            "exercise": "",
            "instType": inst_type,
            "level": "Lv1",
            "maker": fmt(-maker),
            "makerU": fmt(-maker) if swap else "",
            "makerUSDC": fmt(-maker) if swap else "",
            "taker": fmt(-taker),
            "takerU": fmt(-taker) if swap else "",
            "takerUSDC": fmt(-taker) if swap else "",
            "ts": str(call.ctx.clock.now_ms()),
        }
    ]


# -- trading -------------------------------------------------------------------------------------


def _place(call: Call, items: list[dict[str, Any]]) -> web.Response:
    exchange = call.ctx.exchange
    return batch_response([exchange.place_order(call.uid, item) for item in items], call.in_time)


@endpoint("POST", "/api/v5/trade/order", perm="trade", exp_time=True, late=True)
def trade_place_order(call: Call) -> web.Response:
    return _place(call, [call.params])


@endpoint("POST", "/api/v5/trade/batch-orders", perm="trade", body="array", exp_time=True, late=True)
def trade_batch_orders(call: Call) -> web.Response:
    return _place(call, _batch(call))


# Cancels and amends go through `ctx.asynchrony`: with a cancel / amend lag it acknowledges now and
# changes the order later; without one it is the engine's own call.


@endpoint("POST", "/api/v5/trade/cancel-order", perm="trade", late=True)
def trade_cancel_order(call: Call) -> web.Response:
    return batch_response([call.ctx.asynchrony.cancel_order(call.uid, call.params)], call.in_time)


@endpoint("POST", "/api/v5/trade/cancel-batch-orders", perm="trade", body="array", late=True)
def trade_cancel_batch_orders(call: Call) -> web.Response:
    asynchrony = call.ctx.asynchrony
    return batch_response([asynchrony.cancel_order(call.uid, item) for item in _batch(call)], call.in_time)


@endpoint("POST", "/api/v5/trade/amend-order", perm="trade", exp_time=True, late=True)
def trade_amend_order(call: Call) -> web.Response:
    return batch_response([call.ctx.asynchrony.amend_order(call.uid, call.params)], call.in_time)


@endpoint("POST", "/api/v5/trade/amend-batch-orders", perm="trade", body="array", exp_time=True, late=True)
def trade_amend_batch_orders(call: Call) -> web.Response:
    asynchrony = call.ctx.asynchrony
    return batch_response([asynchrony.amend_order(call.uid, item) for item in _batch(call)], call.in_time)


@endpoint("GET", "/api/v5/trade/order", perm="read_only")
def trade_get_order(call: Call) -> list[Any]:
    inst_id = _inst_id(call)
    ord_id = _opt(call.params, "ordId")
    cl_ord_id = _opt(call.params, "clOrdId")
    if not ord_id and not cl_ord_id:
        raise SimError("51003")
    order = call.ctx.exchange.get_order(call.uid, inst_id, ord_id=ord_id or None, cl_ord_id=cl_ord_id or None)
    # Read lag: an order the query side has not seen yet "does not exist".
    if order is None or call.ctx.asynchrony.read_lag.order_hidden(order["ordId"]):
        raise SimError("51603")
    return [order]


def _known_inst_filter(call: Call) -> None:
    inst_id = _opt(call.params, "instId")
    if inst_id and call.ctx.exchange.instrument(inst_id) is None:
        raise SimError("51001")


@endpoint("GET", "/api/v5/trade/orders-pending", perm="read_only")
def trade_orders_pending(call: Call) -> list[Any]:
    _inst_type(call.params, required=False)
    _known_inst_filter(call)
    lag = call.ctx.asynchrony.read_lag
    return call.ctx.exchange.pending_orders(call.uid, call.params, visible=lag.order_visible)


@endpoint("GET", "/api/v5/trade/orders-history", perm="read_only")
def trade_orders_history(call: Call) -> list[Any]:
    _inst_type(call.params, required=True)
    _known_inst_filter(call)
    lag = call.ctx.asynchrony.read_lag
    return call.ctx.exchange.order_history(call.uid, call.params, visible=lag.order_visible)


@endpoint("GET", "/api/v5/trade/orders-history-archive", perm="read_only")
def trade_orders_history_archive(call: Call) -> list[Any]:
    # OKX keeps 3 months here; the simulator keeps completed orders 7 days (as orders-history).
    return trade_orders_history(call)


@endpoint("GET", "/api/v5/trade/fills", perm="read_only")
def trade_fills(call: Call) -> list[Any]:
    _inst_type(call.params, required=False)
    _known_inst_filter(call)
    lag = call.ctx.asynchrony.read_lag
    return call.ctx.exchange.fills(call.uid, call.params, visible=lag.fill_visible)


@endpoint("GET", "/api/v5/trade/fills-history", perm="read_only")
def trade_fills_history(call: Call) -> list[Any]:
    # OKX keeps 3 months here; the simulator's engine keeps fills 3 days, so both views agree.
    _inst_type(call.params, required=True)
    _known_inst_filter(call)
    lag = call.ctx.asynchrony.read_lag
    return call.ctx.exchange.fills(call.uid, call.params, visible=lag.fill_visible)


@endpoint("POST", "/api/v5/trade/mass-cancel", perm="trade")
def trade_mass_cancel(call: Call) -> list[Any]:
    # OKX offers mass-cancel for option MMP orders; on this spot-only simulator it cancels the
    # account's pending orders of the instrument named by instFamily (a spot instId).
    inst_type = _inst_type(call.params, required=True)
    family = _req(call.params, "instFamily")
    if inst_type not in ("SPOT", "OPTION"):
        raise SimError("51000", "instType")
    if inst_type == "SPOT":
        if call.ctx.exchange.instrument(family) is None:
            raise SimError("51000", "instFamily")
        call.ctx.exchange.cancel_all(call.uid, inst_id=family, source="1")
    return [{"result": True}]


@endpoint("POST", "/api/v5/trade/cancel-all-after", perm="trade")
def trade_cancel_all_after(call: Call) -> list[Any]:
    raw = call.params.get("timeOut")
    if raw is None or raw == "":
        raise SimError("50014", "timeOut")
    text = str(raw)
    if isinstance(raw, bool) or not is_digits(text):
        raise SimError("51000", "timeOut")
    seconds = int(text)
    if seconds != 0 and not DEAD_MAN_RANGE[0] <= seconds <= DEAD_MAN_RANGE[1]:
        raise SimError("51000", "timeOut")
    tag = _opt(call.params, "tag")
    now = call.ctx.clock.now_ms()
    switch = (call.uid, tag)
    if seconds == 0:
        call.ctx.dead_man.pop(switch, None)
        trigger = "0"
    else:
        deadline = now + seconds * 1000
        call.ctx.dead_man[switch] = deadline
        trigger = str(deadline)
    return [{"triggerTime": trigger, "tag": tag, "ts": str(now)}]


def fire_dead_man_switches(ctx: SimContext) -> None:
    """Cancel every order of each account whose cancel-all-after deadline has passed (cancelSource 20)."""
    if not ctx.dead_man:
        return
    now = ctx.clock.now_ms()
    expired = [switch for switch, deadline in ctx.dead_man.items() if deadline <= now]
    for switch in expired:
        del ctx.dead_man[switch]
        uid, tag = switch
        # A tagged switch covers the orders placed with that tag only.
        ctx.exchange.cancel_all(uid, source="20", tag=tag or None)


@endpoint("GET", "/api/v5/trade/account-rate-limit", perm="read_only")
def trade_account_rate_limit(call: Call) -> list[Any]:
    return [
        {
            "accRateLimit": "1000",
            "fillRatio": "",
            "mainFillRatio": "",
            "nextAccRateLimit": "",
            "ts": str(call.ctx.clock.now_ms()),
        }
    ]
