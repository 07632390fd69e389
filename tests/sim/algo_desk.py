"""A deterministic trading desk for algo-order tests on a bare `Exchange` (frozen clock, no market).

Two internal accounts (the synthetic market's kind: unlimited balances, no events or history) quote
and trade so that a test sets the last price, the index and the mark exactly where it needs them.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from okxbot.sim.clock import Clock
from okxbot.sim.engine import Exchange

T0 = 1_700_000_000_000
SWAP = "BTC-USDT-SWAP"
SPOT = "BTC-USDT"
START = Decimal(61000)


def new_exchange() -> Exchange:
    return Exchange(Clock(frozen_ms=T0), seed=7)


class Desk:
    def __init__(self, ex: Exchange) -> None:
        self.ex = ex
        self.buyer = ex.create_account(internal=True)
        self.seller = ex.create_account(internal=True)
        self._quotes: list[tuple[str, str, str]] = []  # (uid, instId, ordId)

    def order(self, uid: str, inst_id: str, side: str, px: Decimal, sz: str) -> str:
        params: dict[str, Any] = {"instId": inst_id, "tdMode": "cross" if inst_id.endswith("SWAP") else "cash",
                                  "side": side, "ordType": "limit", "px": str(px), "sz": sz}  # fmt: skip
        result = self.ex.place_order(uid, params)
        assert result["sCode"] == "0", result
        return result["ordId"]

    def trade(self, inst_id: str, px: Decimal | str | int, sz: str = "1") -> None:
        """Print one trade at `px` (the last price) between the two internal accounts.

        The desk's quotes on the instrument go first (a sell at `px` would otherwise hit a higher bid).
        """
        price = Decimal(px)
        self.unquote(inst_id)
        self.order(self.buyer, inst_id, "buy", price, sz)
        self.order(self.seller, inst_id, "sell", price, sz)

    def unquote(self, inst_id: str) -> None:
        for uid, inst, ord_id in [q for q in self._quotes if q[1] == inst_id]:
            self.ex.cancel_order(uid, {"instId": inst, "ordId": ord_id})
            self._quotes.remove((uid, inst, ord_id))

    def quote(self, inst_id: str, px: Decimal | str | int, sz: str = "100000", spread: str = "0.1") -> None:
        """Rest a bid just under and an ask just over `px` (replacing this instrument's last quotes)."""
        price, gap = Decimal(px), Decimal(spread)
        self.unquote(inst_id)
        self._quotes.append((self.buyer, inst_id, self.order(self.buyer, inst_id, "buy", price - gap, sz)))
        self._quotes.append((self.seller, inst_id, self.order(self.seller, inst_id, "sell", price + gap, sz)))

    def move(self, px: Decimal | str | int) -> None:
        """The whole market at `px`: spot quoted around it (index = mark = px), swap quoted and traded."""
        with self.ex.batch():
            self.quote(SPOT, px, sz="1000")
            self.trade(SWAP, px)
            self.quote(SWAP, px)

    def move_spot(self, px: Decimal | str | int) -> None:
        """The spot pair trades at `px` and is quoted around it (the algos look once, at the end)."""
        with self.ex.batch():
            self.trade(SPOT, px)
            self.quote(SPOT, px, sz="10")


def swap_account(ex: Exchange, usdt: str = "100000", mode: str = "net_mode") -> str:
    uid = ex.create_account({"USDT": usdt})
    ex.force_account_level(uid, "2")
    if mode != "net_mode":
        ex.set_position_mode(uid, mode)
    return uid


def ok(result: dict[str, str]) -> str:
    assert result["sCode"] == "0", result
    return result.get("algoId") or result["ordId"]


def algo(ex: Exchange, uid: str, algo_id: str) -> dict[str, Any]:
    found = ex.get_algo(uid, algo_id)
    assert found is not None
    return found


def position(ex: Exchange, uid: str, inst_id: str = SWAP) -> Decimal:
    rows = [r for r in ex.positions(uid, {"instId": inst_id}) if r["pos"] != "0"]
    return Decimal(rows[0]["pos"]) if rows else Decimal(0)


def open_long(ex: Exchange, desk: Desk, uid: str, sz: str = "10", **extra: Any) -> str:
    desk.quote(SWAP, START)
    params = {"instId": SWAP, "tdMode": "cross", "side": "buy", "ordType": "market", "sz": sz, **extra}
    return ok(ex.place_order(uid, params))


def sl(sz: str, trigger: Any, **extra: Any) -> dict[str, Any]:
    """A sell stop-loss on the swap (market when triggered)."""
    return {"instId": SWAP, "tdMode": "cross", "side": "sell", "ordType": "conditional", "sz": sz,
            "slTriggerPx": str(trigger), "slOrdPx": "-1", **extra}  # fmt: skip
