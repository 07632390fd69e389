"""The swap risk rules on a running bot: each refusal names the rule and why, and sends nothing."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from okxbot.sim.server import RunningSim
from okxbot.trading.runner import Runner
from okxbot.trading.swap_manager import SwapManager
from tests.trading.botkit import runner, wait_for
from tests.trading.swapbot import SWAP_ID, exchange_position, futures_key, mark, swap_config


def run_with(sim: RunningSim, key: dict[str, Any], config: dict[str, Any], tmp: Path,
             body: Callable[[Runner, SwapManager], Awaitable[None]]) -> None:  # fmt: skip
    r = runner(sim, key, config, tmp)

    async def go() -> None:
        stop = asyncio.Event()
        task = asyncio.ensure_future(r.run(stop))
        try:
            await wait_for(
                lambda: r.core is not None and r.core.swaps is not None and r.strategy is not None, 20
            )
            assert r.core is not None and r.core.swaps is not None
            await r.core.swaps.refresh()
            await body(r, r.core.swaps)
        finally:
            stop.set()
            await task

    asyncio.run(go())


def orders_on_exchange(sim: RunningSim, key: dict[str, Any]) -> int:
    return len(sim.admin("GET", f"/__sim__/orders?uid={key['uid']}")["orders"])


def stop_below(sim: RunningSim) -> Decimal:
    return (mark(sim) * Decimal("0.97")).quantize(Decimal("0.1"))


CASES = {
    # rule: (risk settings, swap settings, what the order is, the words of the refusal)
    "max_leverage": ({"max_leverage": "2"}, {"leverage": None}, "words", "trades at 10x on the exchange"),
    "min_liquidation_distance": (
        {"min_liquidation_distance_pct": "40"},
        {"margin_mode": "isolated"},
        "stop",
        "from the mark",
    ),
    "max_position_notional": (
        {"max_position_notional": "100"},
        {},
        "stop",
        "above max_position_notional 100",
    ),
    "max_funding_per_day": ({"max_funding_per_day": "0.5"}, {}, "stop", "above max_funding_per_day 0.5"),
    "require_stop": ({}, {}, "no stop", "without an exchange-side stop"),
}


@pytest.mark.parametrize("rule", sorted(CASES))
def test_each_swap_rule_refuses_with_its_reason_and_sends_nothing(
    sim: RunningSim, tmp_path: Path, rule: str
) -> None:
    risk, swap, kind, words = CASES[rule]
    key = futures_key(sim)
    swap_settings = {k: v for k, v in swap.items() if v is not None}
    config = swap_config(tmp_path, risk=risk, swap=swap_settings)
    if swap.get("leverage", "x") is None:
        config["swap"].pop("leverage")
    if rule == "max_funding_per_day":
        sim.admin("POST", "/__sim__/funding", {"instId": SWAP_ID, "rate": "0.003"})

    async def body(r: Runner, swaps: SwapManager) -> None:
        before = orders_on_exchange(sim, key)
        stop = None if kind == "no stop" else stop_below(sim)
        order = await swaps.place("buy", Decimal("2"), stop_loss=stop)
        assert order is None
        assert r.manager is not None
        assert any(f"[{rule}]" in e and words in e for e in r.manager.stats.errors), r.manager.stats.errors
        assert orders_on_exchange(sim, key) == before  # nothing sent
        assert exchange_position(sim, key) == 0

    try:
        run_with(sim, key, config, tmp_path, body)
    finally:
        if rule == "max_funding_per_day":
            sim.admin("POST", "/__sim__/funding", {"instId": SWAP_ID, "rate": None})


def test_rules_pass_what_they_allow_and_a_close_needs_no_stop(sim: RunningSim, tmp_path: Path) -> None:
    key = futures_key(sim)
    config = swap_config(tmp_path, risk={"require_stop": False})

    async def body(r: Runner, swaps: SwapManager) -> None:
        # require_stop = false: an unprotected long is allowed
        assert await swaps.place("buy", Decimal("1")) is not None
        await wait_for(lambda: exchange_position(sim, key) == 1, 15)
        await wait_for(lambda: swaps.position() == 1, 15)
        # with require_stop on again, adding 1 with its own stop still leaves 1 of 2 unprotected: refused
        swaps.config.risk.__dict__["require_stop"] = True
        before = orders_on_exchange(sim, key)
        assert await swaps.place("buy", Decimal("1"), stop_loss=stop_below(sim)) is None
        assert (
            r.manager is not None
            and "[require_stop] the order would leave 1 of the 2" in r.manager.stats.errors[-1]
        )
        assert orders_on_exchange(sim, key) == before
        # closing (reduce-only) is always allowed, whatever the rules
        swaps.config.risk.__dict__["max_position_notional"] = Decimal("1")
        closed = await swaps.close_position()
        assert closed and closed[0] is not None
        await wait_for(lambda: exchange_position(sim, key) == 0, 15)

    run_with(sim, key, config, tmp_path, body)
