"""Helpers for the swap engine tests: an exchange with a pinned index, futures-mode accounts, trades."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from okxbot.sim.clock import Clock
from okxbot.sim.engine import Exchange

T0 = 1_700_000_000_000  # 2023-11-14T22:13:20Z
BTC = "BTC-USDT-SWAP"  # linear: ctVal 0.01 BTC, settle USDT
INV = "BTC-USD-SWAP"  # inverse: ctVal 100 USD, settle BTC
D = Decimal


def pinned_exchange(index: str = "60000") -> Exchange:
    """No synthetic market: the BTC index is the spot's last price, and marks equal their index."""
    ex = Exchange(Clock(frozen_ms=T0), seed=7)
    set_index(ex, index)
    for inst in ex.instruments.of_type("SWAP"):
        ex.marks.set_basis(inst.inst_id, D(0))
    return ex


def set_index(ex: Exchange, px: str) -> None:
    ex.set_last_price("BTC-USDT", D(px))


def futures_account(ex: Exchange, **balances: str) -> str:
    uid = ex.create_account(balances or {"USDT": "100000"})
    ex.force_account_level(uid, "2")
    return uid


def swap_order(inst_id: str, side: str, sz: str, px: str | None = None, **extra: Any) -> dict[str, Any]:
    params: dict[str, Any] = {"instId": inst_id, "tdMode": "cross", "side": side, "sz": sz}
    params["ordType"] = "limit" if px is not None else "market"
    if px is not None:
        params["px"] = px
    params.update(extra)
    return params


def place(ex: Exchange, uid: str, params: dict[str, Any], code: str = "0") -> dict[str, str]:
    result = ex.place_order(uid, params)
    assert result["sCode"] == code, result
    return result


def trade(
    ex: Exchange, maker: str, taker: str, inst_id: str, side: str, sz: str, px: str, **taker_extra: Any
) -> str:
    """`taker` buys or sells `sz` contracts at `px` from a resting order of `maker`; returns the ordId."""
    opposite = "sell" if side == "buy" else "buy"
    place(ex, maker, swap_order(inst_id, opposite, sz, px, **_maker_side(ex, maker, opposite)))
    return place(ex, taker, swap_order(inst_id, side, sz, px, **taker_extra))["ordId"]


def _maker_side(ex: Exchange, maker: str, side: str) -> dict[str, str]:
    _, pos_mode = ex.account_settings(maker)
    return {"posSide": "long" if side == "buy" else "short"} if pos_mode == "long_short_mode" else {}


def position(
    ex: Exchange, uid: str, inst_id: str = BTC, pos_side: str = "net", mgn_mode: str = "cross"
) -> dict[str, Any]:
    rows = [
        r
        for r in ex.positions(uid, {"instId": inst_id})
        if r["posSide"] == pos_side and r["mgnMode"] == mgn_mode
    ]
    assert len(rows) == 1, rows
    return rows[0]


def detail(ex: Exchange, uid: str, ccy: str = "USDT") -> dict[str, Any]:
    return next(d for d in ex.balances(uid)["details"] if d["ccy"] == ccy)


def cash(ex: Exchange, uid: str, ccy: str = "USDT") -> Decimal:
    return D(detail(ex, uid, ccy)["cashBal"])
