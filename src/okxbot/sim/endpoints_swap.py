"""The `/api/v5/...` endpoints of perpetual swaps (reference: okx-v5-derivatives-algo-data.md §2),
registered into `rest.ENDPOINTS` like `okxbot.sim.endpoints` (their rate limits: `okxbot.sim.limits`).

Public: mark price, funding rate and its history, position tiers, price limit, mark-price and index
candles (with the deep past, `okxbot.sim.price_history`), index tickers, open interest, underlyings,
contract / coin conversion. Private: positions, positions history, leverage (set / info), position mode,
account level, maximum order sizes, closing a whole position and moving isolated margin
(`okxbot.sim.position_actions`). Numbers may arrive as JSON numbers (ccxt sends `lever` as one).
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from okxbot.sim.contracts import convert_contract_coin
from okxbot.sim.endpoints import _count, _opt, _req
from okxbot.sim.filters import is_digits, param_str
from okxbot.sim.instruments import fmt
from okxbot.sim.price_history import price_candles
from okxbot.sim.rest import Call, endpoint
from okxbot.sim.tape import BARS
from okxbot.sim.wire import SimError


def _swap_id(call: Call) -> str:
    inst_id = _req(call.params, "instId")
    inst = call.ctx.exchange.instrument(inst_id)
    if inst is None:
        raise SimError("51001")
    if not inst.is_swap:
        raise SimError("51000", "instId")
    return inst_id


def _ms(params: dict[str, Any], name: str) -> int | None:
    """A timestamp (or fundingTime) parameter in milliseconds."""
    raw = _opt(params, name)
    if not raw:
        return None
    if not is_digits(raw):
        raise SimError("51000", name)
    return int(raw)


def _ids(raw: str, most: int, name: str) -> list[str]:
    ids = [i for i in raw.split(",") if i]
    if len(ids) > most:
        raise SimError("50025", name, most)
    return ids


# -- public --------------------------------------------------------------------------------------


@endpoint("GET", "/api/v5/public/mark-price")
def public_mark_price(call: Call) -> list[Any]:
    ex = call.ctx.exchange
    inst_id, family = _opt(call.params, "instId"), _opt(call.params, "instFamily")
    # OKX documents instType as required; ccxt's fetchMarkPrice sends only instId, which OKX answers.
    inst = ex.instrument(inst_id) if inst_id else None
    inst_type = _opt(call.params, "instType") or (inst.inst_type if inst is not None else "")
    if not inst_type:
        raise SimError("50014", "instType")
    if inst_type not in ("MARGIN", "SWAP", "FUTURES", "OPTION"):
        raise SimError("51000", "instType")
    now = str(call.ctx.clock.now_ms())
    rows = []
    for inst in ex.instruments.of_type(inst_type):
        if (inst_id and inst.inst_id != inst_id) or (family and inst.uly != family):
            continue
        rows.append(
            {
                "instId": inst.inst_id,
                "instType": inst_type,
                "markPx": fmt(ex.mark_price(inst.inst_id)),
                "ts": now,
            }
        )
    if inst_id and not rows and ex.instrument(inst_id) is None:
        raise SimError("51001")
    return rows


@endpoint("GET", "/api/v5/public/funding-rate")
def public_funding_rate(call: Call) -> list[Any]:
    inst_id = _req(call.params, "instId")
    ex = call.ctx.exchange
    if inst_id == "ANY":
        return [ex.funding_rate(i.inst_id) for i in ex.instruments.of_type("SWAP")]
    return [ex.funding_rate(_swap_id(call))]


@endpoint("GET", "/api/v5/public/funding-rate-history")
def public_funding_rate_history(call: Call) -> list[Any]:
    inst_id = _swap_id(call)
    limit = _count(call.params, "limit", 400, 400)
    after, before = _ms(call.params, "after"), _ms(call.params, "before")
    return call.ctx.exchange.funding_history(inst_id, after=after, before=before, limit=limit)


@endpoint("GET", "/api/v5/public/position-tiers")
def public_position_tiers(call: Call) -> list[Any]:
    inst_type = _req(call.params, "instType")
    td_mode = _req(call.params, "tdMode")
    if inst_type not in ("MARGIN", "SWAP", "FUTURES", "OPTION"):
        raise SimError("51000", "instType")
    if td_mode not in ("cross", "isolated"):
        raise SimError("51000", "tdMode")
    if inst_type != "SWAP":
        return []  # the simulator lists no margin pairs, futures or options
    families = _ids(_opt(call.params, "instFamily") or _opt(call.params, "uly"), 5, "instFamily")
    if not families:
        raise SimError("50014", "instFamily")
    tier = _opt(call.params, "tier")
    ex = call.ctx.exchange
    rows = []
    for family in families:
        swaps = [i for i in ex.instruments.of_type("SWAP") if i.uly == family]
        if not swaps:
            raise SimError("51000", "instFamily")
        rows.extend(t for t in ex.position_tiers(swaps[0].inst_id) if not tier or t["tier"] == tier)
    return rows


@endpoint("GET", "/api/v5/public/open-interest")
def public_open_interest(call: Call) -> list[Any]:
    return call.ctx.exchange.swap_queries.open_interest(call.params, call.ctx.clock.now_ms())


@endpoint("GET", "/api/v5/public/convert-contract-coin")
def public_convert_contract_coin(call: Call) -> list[Any]:
    params = call.params
    inst = call.ctx.exchange.swap(_swap_id(call))
    kind = _opt(params, "type") or "1"
    unit = _opt(params, "unit") or "coin"
    op_type = _opt(params, "opType") or "close"
    if kind not in ("1", "2"):
        raise SimError("51000", "type")
    if unit not in ("coin", "usds") or (unit == "usds" and inst.inverse):
        raise SimError("51000", "unit")
    if op_type not in ("open", "close"):
        raise SimError("51000", "opType")
    sz = _positive(_req(params, "sz"), "sz")
    px_text = _opt(params, "px")
    px = _positive(px_text, "px") if px_text else None
    try:
        converted = convert_contract_coin(inst, kind, sz, px, unit, op_type)
    except ValueError:
        raise SimError("50014", "px") from None
    return [{"instId": inst.inst_id, "px": px_text, "sz": fmt(converted), "type": kind, "unit": unit}]


def _positive(text: str, name: str) -> Decimal:
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise SimError("51000", name) from None
    if not number.is_finite() or number <= 0:
        raise SimError("51000", name)
    return number


@endpoint("GET", "/api/v5/public/underlying")
def public_underlying(call: Call) -> list[Any]:
    inst_type = _req(call.params, "instType")
    if inst_type not in ("SWAP", "FUTURES", "OPTION"):
        raise SimError("51000", "instType")
    families = sorted({i.uly for i in call.ctx.exchange.instruments.of_type(inst_type)})
    return [families]


@endpoint("GET", "/api/v5/public/price-limit")
def public_price_limit(call: Call) -> list[Any]:
    inst_id = _req(call.params, "instId")
    ex = call.ctx.exchange
    inst = ex.instrument(inst_id)
    if inst is None:
        raise SimError("51001")
    buy, sell = ex.price_limit(inst_id)
    return [{"buyLmt": fmt(buy), "enabled": True, "instId": inst_id, "instType": inst.inst_type, "sellLmt": fmt(sell),
             "ts": str(call.ctx.clock.now_ms())}]  # fmt: skip


def _price_candles(call: Call, kind: str, recent: bool) -> list[Any]:
    params = call.params
    inst_id = _req(params, "instId")
    bar = _opt(params, "bar") or "1m"
    if bar not in BARS:
        raise SimError("51000", "bar")
    limit = _count(params, "limit", 100, 100)
    after, before = _ms(params, "after"), _ms(params, "before")
    ex = call.ctx.exchange
    if kind == "mark":
        inst = ex.swap(_swap_id(call))
        tape, spot_id = ex.marks.mark_tapes[inst.inst_id], ex.marks.source(inst.uly)
    else:
        found = ex.marks.index_tapes.get(inst_id)
        if found is None:
            raise SimError("51001")
        tape, spot_id = found, ex.marks.source(inst_id)
    return price_candles(call.ctx, tape, spot_id, bar, after, before, limit, recent)


@endpoint("GET", "/api/v5/market/mark-price-candles")
def market_mark_price_candles(call: Call) -> list[Any]:
    return _price_candles(call, "mark", recent=True)


@endpoint("GET", "/api/v5/market/history-mark-price-candles")
def market_history_mark_price_candles(call: Call) -> list[Any]:
    return _price_candles(call, "mark", recent=False)


@endpoint("GET", "/api/v5/market/index-candles")
def market_index_candles(call: Call) -> list[Any]:
    return _price_candles(call, "index", recent=True)


@endpoint("GET", "/api/v5/market/history-index-candles")
def market_history_index_candles(call: Call) -> list[Any]:
    return _price_candles(call, "index", recent=False)


@endpoint("GET", "/api/v5/market/index-tickers")
def market_index_tickers(call: Call) -> list[Any]:
    quote, inst_id = _opt(call.params, "quoteCcy"), _opt(call.params, "instId")
    if not quote and not inst_id:
        raise SimError("50015", "quoteCcy", "instId")
    ex = call.ctx.exchange
    ids = [
        i for i in ex.index_ids() if (not inst_id or i == inst_id) and (not quote or i.endswith("-" + quote))
    ]
    if inst_id and not ids:
        raise SimError("51001")
    return [ex.index_ticker(i) for i in ids]


# -- account ----------------------------------------------------------------------------------------


@endpoint("GET", "/api/v5/account/positions", perm="read_only")
def account_positions(call: Call) -> list[Any]:
    return call.ctx.exchange.positions(call.uid, call.params)


@endpoint("GET", "/api/v5/account/positions-history", perm="read_only")
def account_positions_history(call: Call) -> list[Any]:
    return call.ctx.exchange.positions_history(call.uid, call.params)


@endpoint("GET", "/api/v5/account/leverage-info", perm="read_only")
def account_leverage_info(call: Call) -> list[Any]:
    mgn_mode = _req(call.params, "mgnMode")
    if _opt(call.params, "ccy") and not _opt(call.params, "instId"):
        raise SimError("54000")
    inst_ids = _ids(_req(call.params, "instId"), 20, "instId")
    return call.ctx.exchange.leverage_info(call.uid, inst_ids, mgn_mode)


@endpoint("GET", "/api/v5/account/max-size", perm="read_only")
def account_max_size(call: Call) -> list[Any]:
    return call.ctx.exchange.max_size(call.uid, call.params)


@endpoint("GET", "/api/v5/account/max-avail-size", perm="read_only")
def account_max_avail_size(call: Call) -> list[Any]:
    return call.ctx.exchange.max_avail_size(call.uid, call.params)


@endpoint("POST", "/api/v5/account/set-leverage", perm="trade")
def account_set_leverage(call: Call) -> list[Any]:
    return call.ctx.exchange.set_leverage(call.uid, call.params)


@endpoint("POST", "/api/v5/account/set-position-mode", perm="trade")
def account_set_position_mode(call: Call) -> list[Any]:
    mode = param_str(call.params.get("posMode"))
    if not mode:
        raise SimError("50014", "posMode")
    return call.ctx.exchange.set_position_mode(call.uid, mode)


@endpoint("POST", "/api/v5/account/set-account-level", perm="trade")
def account_set_account_level(call: Call) -> list[Any]:
    level = param_str(call.params.get("acctLv"))
    if not level:
        raise SimError("50014", "acctLv")
    return call.ctx.exchange.set_account_level(call.uid, level)


@endpoint("GET", "/api/v5/account/set-account-switch-precheck", perm="read_only")
def account_switch_precheck(call: Call) -> list[Any]:
    return call.ctx.exchange.derivs.switch_precheck(call.uid, _req(call.params, "acctLv"))


@endpoint("POST", "/api/v5/account/position/margin-balance", perm="trade")
def account_margin_balance(call: Call) -> list[Any]:
    return call.ctx.exchange.position_actions.adjust_margin(call.uid, call.params)


@endpoint("POST", "/api/v5/trade/close-position", perm="trade", late=True)
def trade_close_position(call: Call) -> list[Any]:
    return call.ctx.exchange.position_actions.close(call.uid, call.params)
