"""When an algo order fires, and what it does then (the algo book's trigger half).

`Triggers.evaluate()` looks at every live algo once per check of the book: trigger orders and
TP/SL legs against their price stream (`last`: every trade the instrument printed since the algo
last looked, in order, and the last price once when the algo is new; `index` / `mark`: the current
price, computed once per instrument per look), trailing stops against the trades (activation, then
the extreme and the callback). `fire()` places the algo's order through `OrderEntry.place` like a
client's (market for ordPx -1, else limit), with algoId / algoClOrdId / source, and ends the algo
`effective` or `order_failed` (failCode = the refused order's sCode).
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

from okxbot.sim.accounts import Account
from okxbot.sim.algo_model import CANCELED, EFFECTIVE, ORDER_FAILED, SOURCE, Algo, Leg
from okxbot.sim.contracts import value
from okxbot.sim.instruments import Instrument, floor_to, fmt
from okxbot.sim.order import Order
from okxbot.sim.order_entry import MARKET_BUFFER

if TYPE_CHECKING:
    from okxbot.sim.algos import AlgoBook


class Triggers:
    def __init__(self, book: AlgoBook) -> None:
        self.book = book
        self.clock = book.clock
        self.ledger = book.ledger
        self.entry = book.entry
        self.checks = book.checks
        self.markets = book.markets
        self.derivs = book.derivs
        self._prices: dict[tuple[str, str], Decimal] = {}

    def evaluate(self) -> bool:
        fired = False
        self._prices.clear()  # index / mark once per instrument per look (the loop looks again after a fire)
        for inst_id, live in list(self.book.by_inst.items()):
            if not live:
                continue
            inst = self.markets.instruments[inst_id]
            algos = list(live.values())
            since = min(a.seen_trade for a in algos)
            trades = self._trades_after(inst_id, since)
            newest = trades[-1][0] if trades else since
            last = self.markets.last_px(inst_id)
            for algo in algos:
                if not algo.live:
                    continue
                samples = [last] if algo.fresh else []
                samples.extend(px for tid, px in trades if tid > algo.seen_trade)
                algo.seen_trade = max(algo.seen_trade, newest)
                algo.fresh = False
                hit = self._hit(algo, inst, samples)
                if hit is not None:
                    self.fire(algo, *hit)
                    fired = True
        return fired

    def _trades_after(self, inst_id: str, since: int) -> list[tuple[int, Decimal]]:
        out = []
        for t in self.markets.tapes[inst_id].trades:  # newest first
            tid = int(t["tradeId"])
            if tid <= since:
                break
            out.append((tid, Decimal(t["px"])))
        out.reverse()
        return out

    def _stream(self, inst: Instrument, kind: str, last_samples: list[Decimal]) -> list[Decimal]:
        if kind == "last":
            return last_samples
        key = (inst.inst_id, kind)
        px = self._prices.get(key)
        if px is None:
            px = self._prices[key] = self.checks.price(inst, kind)
        return [px]

    def _hit(
        self, algo: Algo, inst: Instrument, last_samples: list[Decimal]
    ) -> tuple[str, Leg | None] | None:
        if algo.ord_type == "move_order_stop":
            return ("", None) if self._trail(algo, last_samples) else None
        if algo.ord_type == "trigger":
            trig = algo.trigger
            assert trig is not None
            for px in self._stream(inst, trig.px_type, last_samples):
                if algo.trigger_dir == 0 or (px - trig.trigger_px) * algo.trigger_dir >= 0:
                    return ("", trig)
            return None
        for name, lg in algo.active_legs():
            rises = (name == "tp") == (algo.side == "sell")  # sell TP / buy SL fire on a rise
            for px in self._stream(inst, lg.px_type, last_samples):
                if (rises and px >= lg.trigger_px) or (not rises and px <= lg.trigger_px):
                    return (name, lg)
        return None

    @staticmethod
    def _trail(algo: Algo, samples: list[Decimal]) -> bool:
        sell = algo.side == "sell"
        for px in samples:
            if not algo.activated:
                assert algo.active_px is not None
                if (sell and px >= algo.active_px) or (not sell and px <= algo.active_px):
                    algo.activated, algo.extreme = True, px
                continue
            assert algo.extreme is not None
            algo.extreme = max(algo.extreme, px) if sell else min(algo.extreme, px)
            trigger = algo.move_trigger_px()
            assert trigger is not None
            if (sell and px <= trigger) or (not sell and px >= trigger):
                return True
        return False

    def fire(self, algo: Algo, leg_name: str, lg: Leg | None) -> None:
        acct = self.ledger.account(algo.uid)
        inst = algo.inst
        sz = algo.sz
        if algo.close_fraction:
            p = self.derivs.find(acct, inst, algo.td_mode, algo.pos_side)
            if p is None or not p.pos:
                self.book.end(algo, CANCELED)
                return
            sz = algo.sz = p.size  # OKX's history shows a close-all algo's sz as what it closed
        ord_px = lg.ord_px if lg is not None else None
        if algo.ord_type == "trigger":
            sz = self._fit_trigger_size(acct, algo, sz, ord_px)
        params: dict[str, Any] = {
            "instId": inst.inst_id, "tdMode": algo.td_mode, "side": algo.side, "sz": fmt(sz), "tag": algo.tag,
            "ordType": "market" if ord_px is None else "limit",
        }  # fmt: skip
        if ord_px is not None:
            params["px"] = fmt(ord_px)
        if inst.is_swap:
            params["posSide"] = algo.pos_side
            params["reduceOnly"] = "true" if (algo.reduce_only or algo.close_fraction) else "false"
        elif ord_px is None:
            params["tgtCcy"] = algo.tgt_ccy or "base_ccy"

        def origin(order: Order) -> None:
            order.algo_id, order.algo_cl_ord_id, order.source = (
                algo.algo_id,
                algo.algo_cl_ord_id,
                SOURCE[algo.ord_type],
            )

        # Retire first: the child's own flush must not find this algo live and fire it twice. The
        # TP limit orders of a firing stop-loss go first (OKX cancelSource 36), so that the stop's
        # reduce-only order has the whole position to close.
        self.book.retire(algo, EFFECTIVE)
        for order in algo.linked:
            if order.pending:
                self.entry.matcher.remove_resting(order, "36")
        res = self.entry.place(algo.uid, params, origin=origin)
        if res["sCode"] == "51008" and algo.ord_type == "trigger" and inst.is_swap:
            smaller = self._affordable_contracts(acct, algo, ord_px)
            if smaller is not None and smaller < sz:
                sz, params["sz"] = smaller, fmt(smaller)
                res = self.entry.place(algo.uid, params, origin=origin)
        now = self.clock.now_ms()
        algo.trigger_time = str(now)
        algo.u_time = now
        if res["sCode"] == "0":
            algo.state = EFFECTIVE
            algo.ord_ids.append(res["ordId"])
            algo.actual_sz = fmt(sz)
            algo.actual_px = fmt(ord_px) if ord_px is not None else ""
            algo.actual_side = leg_name
            child = acct.visible.get(res["ordId"])
            if algo.attach and child is not None:
                self.book.attachments.attach_to_child(acct, algo, child)
        else:
            algo.state = ORDER_FAILED
            algo.fail_code = res["sCode"]
        self.book.emit(algo)

    def _fit_trigger_size(self, acct: Account, algo: Algo, sz: Decimal, ord_px: Decimal | None) -> Decimal:
        """OKX: a trigger order larger than the balance is placed for what the balance allows (spot)."""
        inst = algo.inst
        if inst.is_swap:
            return sz
        if algo.side == "sell":
            avail = acct.bal(inst.base_ccy).avail
        else:
            px = ord_px
            if px is None:
                ask = self.markets.books[inst.inst_id].best_px("asks") or self.markets.last_px(inst.inst_id)
                px = ask * MARKET_BUFFER
            avail = acct.bal(inst.quote_ccy).avail / px
        fitted = floor_to(min(sz, avail), inst.lot_sz)
        return fitted if fitted > 0 else sz

    def _affordable_contracts(self, acct: Account, algo: Algo, ord_px: Decimal | None) -> Decimal | None:
        inst = algo.inst
        lever = algo.lever or self.checks.margin.lever(acct, inst, algo.td_mode, algo.pos_side)
        px = ord_px or self.checks.marks.price_limits(inst)[0 if algo.side == "buy" else 1]
        per_contract = value(inst, Decimal(1), px) / lever
        if per_contract <= 0:
            return None
        fitted = floor_to(self.derivs.available(acct, inst.settle_ccy) / per_contract, inst.lot_sz)
        return fitted if fitted >= inst.min_sz else None
