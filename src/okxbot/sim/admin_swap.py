"""Admin hooks for perpetual swaps under `/__sim__/` (loopback only, like `okxbot.sim.admin`).

POST /__sim__/account-level {"uid", "acctLv": "2", "levels"?: ["1", "2"]}
        # what OKX's web does: switch the account mode without the API's checks; "levels" sets the
        # modes the account may then switch to by API (others answer 51070)
POST /__sim__/mark      {"instId", "basis"?: "0.001" | null, "premium"?: "0.0005"}
        # basis: mark = index * (1 + basis) (null: back to the sampled premium);
        # premium: the synthetic market quotes the swap at index * (1 + premium) (drives funding)
POST /__sim__/funding   {"instId", "rate"?: "0.0001" | null, "settle"?: true}
        # pin (or unpin) the funding rate; settle: the coming settlement happens now
        -> {"instId", "fundingRate", "settled": {"fundingTime", "rate"} | null, "fundingTime"}
POST /__sim__/tick      run the exchange's tick now (marks, due funding, liquidations)
GET  /__sim__/positions?uid=U   every position of the account (closed ones too) and its history
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from aiohttp import web

from okxbot.sim.admin import AdminError, _bool, _decimal, _wrap
from okxbot.sim.context import SimContext
from okxbot.sim.instruments import fmt


def register(router: web.UrlDispatcher) -> None:
    for method, name, fn in (
        ("POST", "account-level", _account_level),
        ("POST", "mark", _mark),
        ("POST", "funding", _funding),
        ("POST", "tick", _tick),
        ("GET", "positions", _positions),
        ("POST", "swap-rules", _swap_rules),
    ):
        router.add_route(method, f"/__sim__/{name}", _wrap(fn))


def _uid(ctx: SimContext, body: dict[str, Any]) -> str:
    uid = str(body.get("uid", ""))
    if not ctx.exchange.has_account(uid):
        raise AdminError(f"no account with uid {uid!r}; create one with POST /__sim__/accounts")
    return uid


def _swap_id(ctx: SimContext, body: dict[str, Any]) -> str:
    inst_id = str(body.get("instId", ""))
    inst = ctx.exchange.instrument(inst_id)
    if inst is None or not inst.is_swap:
        swaps = ", ".join(i.inst_id for i in ctx.exchange.instruments.of_type("SWAP"))
        raise AdminError(f"instId must be a perpetual swap ({swaps}), got {inst_id!r}")
    return inst_id


def _account_level(ctx: SimContext, body: dict[str, Any], request: web.Request) -> dict[str, Any]:
    uid = _uid(ctx, body)
    level = str(body.get("acctLv", ""))
    if level not in ("1", "2"):
        raise AdminError(
            'acctLv must be "1" (Spot mode) or "2" (Futures mode); modes 3 and 4 are not simulated'
        )
    levels = body.get("levels")
    if levels is not None:
        if not isinstance(levels, list) or not all(str(v) in ("1", "2", "3", "4") for v in levels):
            raise AdminError('levels must be a list of account modes, e.g. ["1", "2"]')
        ctx.exchange.allow_account_levels(uid, [str(v) for v in levels])
    ctx.exchange.force_account_level(uid, level)
    acct_lv, pos_mode = ctx.exchange.account_settings(uid)
    return {"uid": uid, "acctLv": acct_lv, "posMode": pos_mode}


def _optional_decimal(body: dict[str, Any], name: str) -> Decimal | None:
    raw = body.get(name)
    return None if raw is None else _decimal(raw, name)


def _mark(ctx: SimContext, body: dict[str, Any], request: web.Request) -> dict[str, Any]:
    inst_id = _swap_id(ctx, body)
    if "basis" not in body and "premium" not in body:
        raise AdminError('give "basis" (mark = index * (1 + basis), null to unfix) and/or "premium"')
    if "basis" in body:
        ctx.exchange.marks.set_basis(inst_id, _optional_decimal(body, "basis"))
    if "premium" in body:
        premium = _optional_decimal(body, "premium") or Decimal(0)
        if ctx.market is None:
            raise AdminError("this simulator runs without a synthetic market; nothing quotes the swap")
        ctx.market.set_premium(inst_id, premium)
    ex = ctx.exchange
    inst = ex.markets.inst(inst_id)
    return {"instId": inst_id, "markPx": str(ex.mark_price(inst_id)), "idxPx": str(ex.marks.index_of(inst))}


def _funding(ctx: SimContext, body: dict[str, Any], request: web.Request) -> dict[str, Any]:
    inst_id = _swap_id(ctx, body)
    ex = ctx.exchange
    if "rate" in body:
        ex.funding.pin(inst_id, _optional_decimal(body, "rate"))
    settled = None
    if _bool(body.get("settle"), "settle"):
        funding_time = ex.funding.state(inst_id).funding_time
        rate = ex.settle_funding(inst_id)
        settled = {"fundingTime": str(funding_time), "rate": fmt(rate)}
    wire = ex.funding_rate(inst_id)
    return {"instId": inst_id, "fundingRate": wire["fundingRate"], "fundingTime": wire["fundingTime"],
            "settled": settled}  # fmt: skip


def _tick(ctx: SimContext, body: dict[str, Any], request: web.Request) -> dict[str, Any]:
    closed_before = len(ctx.exchange.liquidator.recent)
    ctx.exchange.tick()
    return {"liquidations": len(ctx.exchange.liquidator.recent) - closed_before}


def _positions(ctx: SimContext, body: dict[str, Any], request: web.Request) -> dict[str, Any]:
    uid = _uid(ctx, body)
    ex = ctx.exchange
    acct = ex.ledger.account(uid)
    return {
        "uid": uid,
        "positions": ex.position_rows(uid, [p.pos_id for p in acct.positions.values()]),
        "history": ex.positions_history(uid, {}),
    }


def _swap_rules(ctx: SimContext, body: dict[str, Any], request: web.Request) -> dict[str, Any]:
    rules = ctx.exchange.rules
    flags = {
        "liquidationFeeInRatio": "liquidation_fee_in_ratio",
        "leverageBlockedByAnyOrder": "leverage_blocked_by_any_order",
        "positionModeBlockedBySpotOrders": "position_mode_blocked_by_spot_orders",
    }
    unknown = set(body) - set(flags) - {"priceBand"}
    if unknown:
        raise AdminError(f"unknown swap rule(s) {sorted(unknown)}; known: {sorted([*flags, 'priceBand'])}")
    for name, attr in flags.items():
        if name in body:
            setattr(rules, attr, _bool(body[name], name))
    if "priceBand" in body:
        band = _decimal(body["priceBand"], "priceBand")
        if not Decimal(0) < band < Decimal(1):
            raise AdminError("priceBand must be a fraction between 0 and 1, e.g. 0.02")
        rules.price_band = band
    return rules.wire()
