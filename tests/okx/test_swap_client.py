"""okxbot's swap client against the simulator over real HTTP: every pre-trade refusal sends nothing to
the order endpoints, OKX's mode errors are explained and never retried, TP/SL and trailing stops end up
on the exchange, positions close with reduce-only orders, leverage / funding / marks read exactly."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from okxbot.okx.algos import StopSpec, TrailingSpec
from okxbot.okx.client import OkxClient
from okxbot.okx.errors import (
    PARAM_HINTS,
    OkxInvalidOrder,
    OkxPermissionError,
    OkxSettingsRefused,
)
from okxbot.okx.ids import new_client_order_id
from okxbot.okx.order_entry import OrderIntent
from okxbot.sim.server import RunningSim
from tests.okx.simkit import client, hits
from tests.okx.swapdesk import LINEAR, Desk, futures_key, order_hits, still_sim

pytestmark = pytest.mark.timeout(180)
D = Decimal


@pytest.fixture(scope="module")
def sim() -> Iterator[RunningSim]:
    with still_sim(seed=5) as running:
        yield running


@pytest.fixture
async def desk(sim: RunningSim, tmp_path: Path) -> AsyncIterator[Desk]:
    sim.admin("POST", "/__sim__/reset-limits")
    maker = client(sim, futures_key(sim, {"USDT": "100000000", "BTC": "10000"}), tmp_path / "maker")
    async with maker:
        yield Desk(sim, maker)


@pytest.fixture
async def okx(sim: RunningSim, tmp_path: Path) -> AsyncIterator[OkxClient]:
    async with client(sim, futures_key(sim), tmp_path / "taker") as c:
        yield c


async def price(desk: Desk) -> D:
    return await desk.mark(LINEAR)


async def open_long(okx: OkxClient, desk: Desk, contracts: str, **kw: Any) -> Any:
    px = await price(desk)
    await desk.rest(LINEAR, "sell", contracts, str(px))
    plan = await okx.derivatives.prepare_order(LINEAR, "buy", contracts, "contracts", **kw)
    placed = await okx.derivatives.place_plan(plan)
    assert placed.order.state == "filled", placed
    return placed


# ---- refusals before anything is sent ------------------------------------------------------------


async def test_spot_mode_account_is_refused_locally_and_okxs_51010_is_explained(
    sim: RunningSim, tmp_path: Path
) -> None:
    async with client(sim, futures_key(sim, level="1"), tmp_path) as spot:
        before = order_hits(sim)
        with pytest.raises(OkxPermissionError) as err:
            await spot.derivatives.prepare_order(LINEAR, "buy", "1", "contracts")
        assert err.value.code == "51010" and err.value.local
        assert "Spot mode" in err.value.message and "Futures mode" in err.value.hint
        assert order_hits(sim) == before
        # sent anyway (a caller skipping the checks): OKX's answer, in plain words, sent once
        intent = OrderIntent(
            LINEAR, "BTC-USDT-SWAP", "buy", D(1), None, "market", new_client_order_id(), td_mode="cross"
        )
        with pytest.raises(OkxPermissionError) as err:
            await spot.place(intent)
        assert err.value.code == "51010" and not err.value.local
        assert "Futures mode (acctLv 2)" in err.value.hint
        assert order_hits(sim) == before + 1  # refused by OKX once, never retried


async def test_pos_side_must_match_the_position_mode(okx: OkxClient, desk: Desk, sim: RunningSim) -> None:
    before = order_hits(sim)
    with pytest.raises(OkxInvalidOrder) as err:
        await okx.derivatives.prepare_order(LINEAR, "buy", "1", "contracts", pos_side="long")
    assert err.value.code == "51000" and err.value.local and "net mode" in err.value.message
    assert (await okx.derivatives.set_position_mode("long_short_mode")).hedged
    with pytest.raises(OkxInvalidOrder) as err:
        await okx.derivatives.prepare_order(LINEAR, "buy", "1", "contracts")
    assert err.value.code == "51000" and "--pos-side long" in err.value.hint
    assert order_hits(sim) == before
    # OKX's own 51000 posSide (a caller bypassing the check) is explained and sent once
    intent = OrderIntent(
        LINEAR, "BTC-USDT-SWAP", "buy", D(1), None, "market", new_client_order_id(), td_mode="cross"
    )
    with pytest.raises(OkxInvalidOrder) as err:
        await okx.place(intent)
    assert err.value.code == "51000" and err.value.hint == PARAM_HINTS["posSide"]
    assert order_hits(sim) == before + 1
    # the right side goes through, and closing it takes the closing side of that posSide
    px = await price(desk)
    await desk.rest(LINEAR, "sell", "2", str(px))
    plan = await okx.derivatives.prepare_order(LINEAR, "buy", "2", "contracts", pos_side="long")
    assert plan.intent.body()["posSide"] == "long" and "reduceOnly" not in plan.intent.body()
    assert (await okx.derivatives.place_plan(plan)).order.state == "filled"
    [position] = await okx.derivatives.positions(LINEAR)
    assert (position.pos_side, position.contracts) == ("long", D(2))
    with pytest.raises(OkxInvalidOrder) as err:  # closing more than the long holds
        await okx.derivatives.prepare_order(LINEAR, "sell", "3", "contracts", pos_side="long")
    assert err.value.code == "51148"
    await desk.rest(LINEAR, "buy", "2", str(px))
    for intent in await okx.derivatives.close_intents(position):
        assert intent.body()["posSide"] == "long" and intent.side == "sell"
        assert (await okx.place(intent)).state == "filled"
    assert await okx.derivatives.positions(LINEAR) == []
    assert (await okx.derivatives.set_position_mode("net_mode")).position_mode == "net_mode"


async def test_reduce_only_needs_a_position_it_reduces(okx: OkxClient, desk: Desk, sim: RunningSim) -> None:
    before = order_hits(sim)
    with pytest.raises(OkxInvalidOrder) as err:
        await okx.derivatives.prepare_order(LINEAR, "sell", "1", "contracts", reduce_only=True)
    assert err.value.code == "51169" and err.value.local
    assert order_hits(sim) == before
    await open_long(okx, desk, "2")
    before = order_hits(sim)
    with pytest.raises(OkxInvalidOrder) as err:
        await okx.derivatives.prepare_order(LINEAR, "buy", "1", "contracts", reduce_only=True)
    assert err.value.code == "51170" and "increase" in err.value.message
    with pytest.raises(OkxInvalidOrder) as err:
        await okx.derivatives.prepare_order(LINEAR, "sell", "3", "contracts", reduce_only=True)
    assert err.value.code == "51148" and "at most 2" in err.value.hint
    with pytest.raises(OkxInvalidOrder) as err:
        await okx.derivatives.prepare_order(
            LINEAR, "sell", "1", "contracts", reduce_only=True, stop_loss=StopSpec(D("1000"))
        )
    assert err.value.code == "51100"
    assert order_hits(sim) == before
    px = await price(desk)
    await desk.rest(LINEAR, "buy", "1", str(px))
    plan = await okx.derivatives.prepare_order(LINEAR, "sell", "1", "contracts", reduce_only=True)
    assert plan.intent.body()["reduceOnly"] is True
    await okx.derivatives.place_plan(plan)
    [position] = await okx.derivatives.positions(LINEAR)
    assert position.contracts == D(1)


async def test_leverage_above_the_tier_of_the_resulting_position_is_refused(
    okx: OkxClient, sim: RunningSim
) -> None:
    tiers = await okx.derivatives.tiers(LINEAR)
    assert (tiers[0].max_leverage, tiers[0].max_size) == (D(125), D(3000))
    before_settings = hits(sim, "/api/v5/account/set-leverage")
    with pytest.raises(OkxSettingsRefused) as err:
        await okx.derivatives.set_leverage(LINEAR, "126")
    assert err.value.code == "59102" and err.value.local
    assert hits(sim, "/api/v5/account/set-leverage") == before_settings
    [setting] = await okx.derivatives.set_leverage(LINEAR, "125")
    assert setting.leverage == D(125)
    before = order_hits(sim)
    with pytest.raises(OkxInvalidOrder) as err:
        await okx.derivatives.prepare_order(LINEAR, "buy", "3000.01", "contracts", price="50000")
    assert err.value.code == "51004" and err.value.local
    assert "tier 2" in err.value.message and "100x" in err.value.hint
    assert order_hits(sim) == before
    # fractional leverage is OKX's too (ccxt refuses it: okxbot sends it raw)
    [setting] = await okx.derivatives.set_leverage(LINEAR, "2.5")
    assert setting.leverage == D("2.5")


async def test_an_order_whose_liquidation_would_be_too_close_is_refused(
    sim: RunningSim, desk: Desk, tmp_path: Path
) -> None:
    async with client(sim, futures_key(sim, {"USDT": "1000"}), tmp_path / "small") as small:
        await small.derivatives.set_leverage(LINEAR, "50", margin_mode="isolated")
        before = order_hits(sim)
        with pytest.raises(OkxInvalidOrder) as err:
            await small.derivatives.prepare_order(
                LINEAR, "buy", "1", "contracts", margin_mode="isolated", min_liq_distance=D("0.05")
            )
        assert err.value.code == "51004" and "liquidated at about" in err.value.message
        assert "5 %" in err.value.message
        assert order_hits(sim) == before
        # accepted without the check: the estimate made before the order is OKX's liqPx after it
        plan = await small.derivatives.prepare_order(LINEAR, "buy", "1", "contracts", margin_mode="isolated")
        await desk.rest(LINEAR, "sell", "1", str(plan.mark))
        await small.derivatives.place_plan(plan)
        [position] = await small.derivatives.positions(LINEAR)
        assert plan.estimated_liquidation is not None
        assert plan.estimated_liquidation == position.liquidation_price


async def test_okx_refusing_a_leverage_change_is_explained_and_not_retried(
    okx: OkxClient, sim: RunningSim
) -> None:
    below = ((await okx.derivatives.mark_price(LINEAR)).mark * D("0.99")).quantize(D("0.1"))
    plan = await okx.derivatives.prepare_order(LINEAR, "buy", "1", "contracts", price=below)
    await okx.derivatives.place_plan(plan)  # a resting order blocks leverage changes on OKX
    before = hits(sim, "/api/v5/account/set-leverage")
    with pytest.raises(OkxSettingsRefused) as err:
        await okx.derivatives.set_leverage(LINEAR, "7")
    assert err.value.code == "59000" and not err.value.local
    assert "cancel the orders" in err.value.hint
    assert hits(sim, "/api/v5/account/set-leverage") == before + 1
    # and the position-mode switch is refused before sending while the order is open
    before = hits(sim, "/api/v5/account/set-position-mode")
    with pytest.raises(OkxSettingsRefused) as err:
        await okx.derivatives.set_position_mode("long_short_mode")
    assert err.value.code == "59000" and err.value.local and "1 open order" in err.value.message
    assert hits(sim, "/api/v5/account/set-position-mode") == before
    await okx.cancel_all()


async def test_tp_and_sl_of_a_long_are_attached_and_close_it_on_the_exchange(
    okx: OkxClient, desk: Desk, sim: RunningSim
) -> None:
    px = await price(desk)
    sl, tp = (px * D("0.99")).quantize(D("0.1")), (px * D("1.1")).quantize(D("0.1"))
    placed = await open_long(okx, desk, "3", stop_loss=StopSpec(sl, None, "mark"), take_profit=StopSpec(tp))
    assert placed.order.filled == D(3)
    [oco] = [a for a in await okx.algos.pending(LINEAR) if a.order_type == "oco"]
    assert (oco.side, oco.size, oco.reduce_only) == ("sell", D(3), True)
    assert (oco.stop_loss_trigger, oco.stop_loss_trigger_type) == (sl, "mark")
    assert (oco.take_profit_trigger, oco.take_profit_trigger_type) == (tp, "last")
    # the mark falls through the stop: the exchange closes the position, no okxbot involved
    await desk.rest(LINEAR, "buy", "3", str((px * D("0.985")).quantize(D("0.1"))))
    sim.admin("POST", "/__sim__/mark", {"instId": "BTC-USDT-SWAP", "basis": "-0.02"})
    sim.admin("POST", "/__sim__/tick")
    try:
        assert await okx.derivatives.positions(LINEAR) == []
        [done] = [a for a in await okx.algos.history(LINEAR) if a.algo_id == oco.algo_id]
        assert (done.state, done.actual_side) == ("effective", "sl")
    finally:
        sim.admin("POST", "/__sim__/mark", {"instId": "BTC-USDT-SWAP", "basis": "0"})
        await desk.maker.cancel_all()


async def test_a_trailing_stop_follows_a_market_entry(okx: OkxClient, desk: Desk, sim: RunningSim) -> None:
    before = order_hits(sim)
    with pytest.raises(Exception, match="market entry"):
        await okx.derivatives.prepare_order(
            LINEAR, "buy", "1", "contracts", price="60000", trailing=TrailingSpec(D("0.02"))
        )
    assert order_hits(sim) == before
    placed = await open_long(okx, desk, "2", trailing=TrailingSpec(D("0.02")))
    assert placed.trailing is not None and placed.trailing_error is None
    trail = placed.trailing
    assert (trail.order_type, trail.side, trail.size, trail.callback_ratio) == (
        "move_order_stop",
        "sell",
        D(2),
        D("0.02"),
    )
    assert [a.algo_id for a in await okx.algos.pending(LINEAR)] == [trail.algo_id]
    canceled = await okx.algos.cancel_all()
    assert [(r.algo_id, r.ok) for r in canceled] == [(trail.algo_id, True)]
    assert await okx.algos.pending() == []


async def test_positions_funding_marks_and_watch(okx: OkxClient, desk: Desk) -> None:
    funding = await okx.derivatives.funding_rate(LINEAR)
    assert funding.interval_hours == D(8) and funding.max_rate == D("0.00375")
    every = await okx.derivatives.funding_rates()
    assert every[LINEAR].rate == funding.rate and every["BTC/USD:BTC"].inst_id == "BTC-USD-SWAP"
    assert list(await okx.derivatives.funding_rates(["ETH-USDT-SWAP"])) == ["ETH/USDT:USDT"]
    history = await okx.derivatives.funding_history(LINEAR, 3)
    assert len(history) == 3 and history[0].funding_time > history[1].funding_time
    candles = await okx.derivatives.mark_candles(LINEAR, "1m", 5)
    assert 1 <= len(candles) <= 5 and all(isinstance(c.close, Decimal) for c in candles)
    assert [c.ts for c in candles] == sorted((c.ts for c in candles), reverse=True)
    updates = okx.derivatives.watch_positions([LINEAR])
    first = asyncio.ensure_future(anext(updates))
    await asyncio.sleep(0)  # let the subscription start before the fill
    await open_long(okx, desk, "1")
    seen = await asyncio.wait_for(first, 30)
    while not any(p.contracts == D(1) for p in seen):
        seen = await asyncio.wait_for(anext(updates), 30)
    [position] = await okx.derivatives.positions(LINEAR)
    assert position.side == "long" and position.size == D(1)
    await updates.aclose()


@pytest.mark.parametrize(
    ("symbol", "side", "contracts", "margin", "lever", "balances"),
    [
        (LINEAR, "buy", "2", "isolated", "20", {"USDT": "5000"}),
        (LINEAR, "sell", "3", "isolated", "33", {"USDT": "5000"}),
        (LINEAR, "buy", "5", "cross", "50", {"USDT": "300"}),
        (LINEAR, "sell", "5", "cross", "50", {"USDT": "300"}),
        ("BTC/USD:BTC", "buy", "40", "isolated", "25", {"BTC": "1"}),
        ("BTC/USD:BTC", "sell", "40", "cross", "25", {"BTC": "0.01"}),
    ],
)
async def test_the_liquidation_estimate_is_okxs_liquidation_price(
    sim: RunningSim,
    desk: Desk,
    tmp_path: Path,
    symbol: str,
    side: str,
    contracts: str,
    margin: str,
    lever: str,
    balances: dict[str, str],
) -> None:
    """okxbot.okx.liquidation's formula, fed the position's entry, size and margin (cross: the settle
    currency's cross equity), gives the simulator's liqPx to the last digit."""
    async with client(sim, futures_key(sim, balances), tmp_path / "liq") as okx:
        await okx.derivatives.set_leverage(symbol, lever, margin_mode=margin)
        mark = await desk.mark(symbol)
        await desk.rest(symbol, "sell" if side == "buy" else "buy", contracts, str(mark))
        plan = await okx.derivatives.prepare_order(symbol, side, contracts, "contracts", margin_mode=margin)
        await okx.derivatives.place_plan(plan)
        [position] = await okx.derivatives.positions(symbol)
        assert position.liquidation_price is not None
        assert await okx.derivatives.liquidation_estimate(position) == position.liquidation_price
        # and the estimate made before the order (fill at the mark) was that price already
        assert plan.estimated_liquidation == position.liquidation_price
        for intent in await okx.derivatives.close_intents(position):
            await desk.rest(symbol, "sell" if intent.side == "buy" else "buy", str(intent.amount), str(mark))
            await okx.place(intent)
        assert await okx.derivatives.positions(symbol) == []
