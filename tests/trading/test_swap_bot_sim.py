"""A perpetual-swap bot on the simulator: swap orders with exchange-side stops, journal, hooks."""

from __future__ import annotations

import asyncio
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

from okxbot.sim.server import RunningSim
from okxbot.trading.swap_journal import SwapJournal
from tests.trading.botkit import runner, wait_for
from tests.trading.swapbot import SWAP_ID, exchange_position, futures_key, live_algos, mark, swap_config


def test_a_long_with_an_attached_stop_is_journaled_and_protected_on_the_exchange(
    sim: RunningSim, tmp_path: Path
) -> None:
    key = futures_key(sim)
    r = runner(sim, key, swap_config(tmp_path), tmp_path)

    async def go() -> None:
        stop = asyncio.Event()
        task = asyncio.ensure_future(r.run(stop))
        await wait_for(lambda: r.core is not None and r.core.swaps is not None and r.strategy is not None, 20)
        assert r.core is not None and r.core.swaps is not None
        swaps = r.core.swaps
        px = mark(sim)
        sl = (px * Decimal("0.97")).quantize(Decimal("0.1"))
        # 0.02 BTC in base units = 2 contracts of 0.01 BTC: converted exactly, sent in contracts
        order = await swaps.place("buy", Decimal("0.02"), unit="base", stop_loss=sl)
        assert order is not None, r.core.manager.stats.errors
        await wait_for(lambda: exchange_position(sim, key) == Decimal(2), 15)
        sent = sim.admin("GET", f"/__sim__/orders?uid={key['uid']}")["orders"]
        mine = next(o for o in sent if o["clOrdId"] == order.client_order_id)
        assert mine["sz"] == "2" and mine["tdMode"] == "cross" and mine["posSide"] == "net"
        algos = live_algos(sim, key)
        assert (
            len(algos) == 1 and algos[0]["slTriggerPx"] == str(sl) and algos[0]["slTriggerPxType"] == "mark"
        )
        journal = SwapJournal(r.journal.engine, "perp")  # type: ignore[union-attr]
        fields = journal.order_fields(order.client_order_id)
        assert fields is not None and fields.pos_side == "net" and fields.td_mode == "cross"
        assert fields.attach_algo_client_id == algos[0]["algoClOrdId"]
        await wait_for(lambda: journal.algo(algos[0]["algoClOrdId"]).state == "live", 15)  # type: ignore[union-attr]
        await wait_for(lambda: journal.positions("BTC/USDT:USDT").get("net") == Decimal(2), 15)
        await wait_for(lambda: r.ws_orders_up, 15)  # the orders channel reports swap orders too
        assert await swaps.exchange_matches_journal()
        # the strategy saw the position change (on_position)
        await wait_for(lambda: any(p and p[0].contracts == 2 for p in r.strategy.positions_seen), 15)  # type: ignore[union-attr]
        stop.set()
        summary = await task
        assert summary.reconciled

    asyncio.run(go())
    assert SWAP_ID


def test_funding_and_a_stop_that_fires_reach_the_hooks_and_the_journal(
    sim: RunningSim, tmp_path: Path
) -> None:
    key = futures_key(sim)
    sim.admin("POST", "/__sim__/mark", {"instId": SWAP_ID, "basis": "0"})
    r = runner(sim, key, swap_config(tmp_path), tmp_path)

    async def go() -> None:
        stop = asyncio.Event()
        task = asyncio.ensure_future(r.run(stop))
        await wait_for(lambda: r.core is not None and r.core.swaps is not None and r.strategy is not None, 20)
        assert r.core is not None and r.core.swaps is not None and r.journal is not None
        swaps, strategy = r.core.swaps, r.strategy
        sl = (mark(sim) * Decimal("0.98")).quantize(Decimal("0.1"))
        assert await swaps.place("buy", Decimal("3"), stop_loss=sl) is not None
        await wait_for(lambda: exchange_position(sim, key) == 3 and len(live_algos(sim, key)) == 1, 15)
        # a funding settlement of the long: paid (rate > 0), journaled once, on_funding called
        sim.admin("POST", "/__sim__/funding", {"instId": SWAP_ID, "rate": "0.0005", "settle": True})
        await wait_for(lambda: len(strategy.funding_seen) == 1, 15)  # type: ignore[union-attr]
        payment = strategy.funding_seen[0]  # type: ignore[union-attr]
        assert payment.amount < 0
        journal = SwapJournal(r.journal.engine, "perp")
        assert [p.bill_id for p in journal.funding()] == [payment.bill_id]
        # the price falls through the stop: OKX closes the position, the bot journals the stop's order
        sim.admin("POST", "/__sim__/price", {"instId": "BTC-USDT", "movePct": "-4"})
        await wait_for(lambda: exchange_position(sim, key) == 0, 15)
        await wait_for(lambda: swaps.position() == 0, 15)
        algo = journal.algos()[0]
        await wait_for(lambda: journal.algo(algo.algo_client_id).state == "effective", 15)  # type: ignore[union-attr]
        await wait_for(lambda: any(p == [] or p[0].contracts == 0 for p in strategy.positions_seen), 15)  # type: ignore[union-attr]
        assert not r.core.manager.foreign  # the stop's order is the bot's, not someone else's
        stop.set()
        summary = await task
        assert summary.reconciled
        # PnL in USDT (contracts valued at 0.01 BTC each): 3 contracts stopped about 2 % lower
        assert Decimal(-100) < summary.pnl < 0 and summary.fees > 0

    try:
        asyncio.run(go())
    finally:
        sim.admin("POST", "/__sim__/funding", {"instId": SWAP_ID, "rate": None})
        sim.admin("POST", "/__sim__/mark", {"instId": SWAP_ID, "basis": None})


def test_long_short_mode_orders_carry_their_pos_side_and_close_each_side(
    sim: RunningSim, tmp_path: Path
) -> None:
    key = futures_key(sim, mode="long_short_mode")
    r = runner(sim, key, swap_config(tmp_path, name="hedged"), tmp_path)

    async def go() -> None:
        stop = asyncio.Event()
        task = asyncio.ensure_future(r.run(stop))
        await wait_for(lambda: r.core is not None and r.core.swaps is not None and r.strategy is not None, 20)
        assert r.core is not None and r.core.swaps is not None
        swaps, px = r.core.swaps, mark(sim)
        long_ = await swaps.place(
            "buy",
            Decimal("1"),
            stop_loss=(px * Decimal("0.97")).quantize(Decimal("0.1")),
            take_profit=(px * Decimal("1.05")).quantize(Decimal("0.1")),
        )
        short = await swaps.place(
            "sell", Decimal("2"), stop_loss=(px * Decimal("1.03")).quantize(Decimal("0.1"))
        )
        assert long_ is not None and short is not None, r.core.manager.stats.errors
        await wait_for(lambda: swaps.position("long") == 1 and swaps.position("short") == 2, 15)
        sent = {o["clOrdId"]: o for o in sim.admin("GET", f"/__sim__/orders?uid={key['uid']}")["orders"]}
        assert sent[long_.client_order_id]["posSide"] == "long"
        assert sent[short.client_order_id]["posSide"] == "short"
        assert sorted((a["posSide"], a["ordType"]) for a in live_algos(sim, key)) == [
            ("long", "oco"),  # stop-loss and take-profit: one OCO, both legs on the mark price
            ("short", "conditional"),
        ]
        oco = next(a for a in live_algos(sim, key) if a["ordType"] == "oco")
        assert oco["tpTriggerPxType"] == "mark" and Decimal(oco["tpTriggerPx"]) > px > Decimal(
            oco["slTriggerPx"]
        )
        await swaps.refresh()
        assert {p.pos_side: p.contracts for p in swaps.positions} == {"long": 1, "short": 2}
        closes = await swaps.close_position()
        assert len(closes) == 2 and all(c is not None for c in closes)
        closing = {o["clOrdId"]: o for o in sim.admin("GET", f"/__sim__/orders?uid={key['uid']}")["orders"]}
        assert {closing[c.client_order_id]["posSide"] for c in closes if c} == {"long", "short"}
        assert all(closing[c.client_order_id]["reduceOnly"] == "false" for c in closes if c)
        await wait_for(lambda: exchange_position(sim, key) == 0, 15)
        await wait_for(lambda: live_algos(sim, key) == [], 15)  # both stops were orphans: canceled
        stop.set()
        assert (await task).reconciled

    asyncio.run(go())


def test_a_spot_bot_refuses_swap_arguments_and_sends_nothing(sim: RunningSim, tmp_path: Path) -> None:
    from tests.trading.botkit import new_key

    key = new_key(sim)
    config = {"name": "spot", "symbol": "BTC/USDT", "strategy": "recorder.py", "run": {"dead_man": False}}
    swap_config(tmp_path)  # writes the strategy file
    r = runner(sim, key, config, tmp_path)

    async def go() -> None:
        stop = asyncio.Event()
        task = asyncio.ensure_future(r.run(stop))
        await wait_for(lambda: r.core is not None and r.strategy is not None, 20)
        assert r.strategy is not None and r.manager is not None
        assert await r.strategy.ctx.place("buy", Decimal("0.001"), stop_loss=Decimal("1000")) is None
        assert any("apply to perpetual swaps" in e for e in r.manager.stats.errors)
        refused = r.manager.stats.refused
        assert await r.strategy.ctx.place("buy", Decimal("0.001"), trailing=Decimal("0.02")) is None
        assert r.manager.stats.refused == refused + 1 and "trailing" in r.manager.stats.errors[-1]
        assert r.strategy.ctx.positions() == [] and r.strategy.ctx.mark() is None
        stop.set()
        summary = await task
        assert summary.orders_placed == 0

    asyncio.run(go())


def test_a_liquidation_is_journaled_and_the_positions_still_match(sim: RunningSim, tmp_path: Path) -> None:
    key = futures_key(sim)
    sim.admin("POST", "/__sim__/mark", {"instId": SWAP_ID, "basis": "0"})
    risk = {"max_leverage": "10", "min_liquidation_distance_pct": "0", "require_stop": False}
    config = swap_config(tmp_path, risk=risk, swap={"leverage": "10", "margin_mode": "isolated"}, name="liq")
    r = runner(sim, key, config, tmp_path)

    async def go() -> None:
        stop = asyncio.Event()
        task = asyncio.ensure_future(r.run(stop))
        await wait_for(lambda: r.core is not None and r.core.swaps is not None and r.strategy is not None, 20)
        assert r.core is not None and r.core.swaps is not None
        swaps = r.core.swaps
        assert await swaps.place("buy", Decimal("5")) is not None, r.core.manager.stats.errors
        await wait_for(lambda: swaps.position() == 5, 15)
        before = sim.admin("POST", "/__sim__/price", {"instId": "BTC-USDT", "movePct": "0"})["px"]
        sim.admin("POST", "/__sim__/price", {"instId": "BTC-USDT", "movePct": "-15"})  # 10x isolated: gone
        sim.admin("POST", "/__sim__/tick")
        await wait_for(lambda: exchange_position(sim, key) == 0, 15)
        await wait_for(lambda: swaps.position() == 0, 15)  # the liquidation order is journaled as the bot's
        assert any("liquidated by OKX" in e for e in r.core.manager.stats.errors)
        assert not r.core.manager.foreign
        sim.admin("POST", "/__sim__/price", {"instId": "BTC-USDT", "px": before})
        stop.set()
        assert (await task).reconciled

    try:
        asyncio.run(go())
    finally:
        sim.admin("POST", "/__sim__/mark", {"instId": SWAP_ID, "basis": None})


def test_a_liquidation_while_no_bot_runs_is_found_at_restart(sim: RunningSim, tmp_path: Path) -> None:
    key = futures_key(sim)
    sim.admin("POST", "/__sim__/mark", {"instId": SWAP_ID, "basis": "0"})
    risk = {"max_leverage": "10", "min_liquidation_distance_pct": "0", "require_stop": False}
    config = swap_config(tmp_path, risk=risk, swap={"leverage": "10", "margin_mode": "isolated"}, name="liq2")

    async def session(act: Any) -> Any:
        r = runner(sim, key, config, tmp_path)
        stop = asyncio.Event()
        task = asyncio.ensure_future(r.run(stop))
        await wait_for(lambda: r.core is not None and r.core.swaps is not None and r.strategy is not None, 20)
        await act(r)
        stop.set()
        return r, await task

    async def open_long(r: Any) -> None:
        assert await r.core.swaps.place("buy", Decimal("4")) is not None
        await wait_for(lambda: r.core.swaps.position() == 4, 15)

    async def nothing(r: Any) -> None:
        await wait_for(lambda: r.core.swaps.position() == 0, 15)

    before = sim.admin("POST", "/__sim__/price", {"instId": "BTC-USDT", "movePct": "0"})["px"]
    try:
        asyncio.run(session(open_long))
        sim.admin("POST", "/__sim__/price", {"instId": "BTC-USDT", "movePct": "-15"})
        sim.admin("POST", "/__sim__/tick")
        deadline = time.monotonic() + 15
        while exchange_position(sim, key) != 0:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        sim.admin("POST", "/__sim__/price", {"instId": "BTC-USDT", "px": before})
        r, summary = asyncio.run(session(nothing))
        assert any("liquidated by OKX" in e for e in r.manager.stats.errors)
        assert summary.reconciled  # journal positions = the exchange's (flat)
    finally:
        sim.admin("POST", "/__sim__/mark", {"instId": SWAP_ID, "basis": None})
