"""`okxbot panic` on an account trading perpetual swaps: every algo order is canceled (they fire on their
own), `--close-positions` closes every position with reduce-only market orders and says what it did for
each, and the report carries the algo orders and positions."""

from __future__ import annotations

import asyncio
import csv
import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from okxbot.cli.main import app
from okxbot.okx.algos import StopSpec, TrailingSpec
from okxbot.okx.client import ClientConfig, OkxClient
from okxbot.okx.ids import new_client_order_id
from okxbot.okx.order_entry import OrderIntent
from okxbot.sim.server import RunningSim
from tests.homes import private_home
from tests.okx.swapdesk import futures_key, still_sim
from tests.test_panic import add_profile, creds

pytestmark = pytest.mark.timeout(240)
D = Decimal
runner = CliRunner()


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    return private_home(tmp_path, monkeypatch, "panic swap test master password")


@pytest.fixture(scope="module")
def sim() -> Iterator[RunningSim]:
    with still_sim(seed=13) as running:
        yield running


def run(coro: Any) -> Any:
    return asyncio.run(coro)


async def rest(maker: OkxClient, symbol: str, side: str, contracts: str) -> None:
    spec = await maker.derivatives.contract(symbol)
    mark = (await maker.derivatives.mark_price(symbol)).mark
    intent = OrderIntent(
        spec.symbol, spec.inst_id, side, D(contracts), mark, "limit", new_client_order_id(), td_mode="cross"
    )
    assert (await maker.place(intent)).state == "live"


def trade_swaps(sim: RunningSim, key: dict[str, Any], maker_key: dict[str, Any]) -> dict[str, Any]:
    """The account: a cross long with an attached TP/SL, an isolated short with a trailing stop, and a
    resting limit order; the maker then quotes both ways so the positions can be closed."""

    async def go() -> dict[str, Any]:
        cfg = ClientConfig(rest_url=sim.rest, ws_url=sim.ws, disk_cache=False)
        async with OkxClient(cfg, creds(key)) as okx, OkxClient(cfg, creds(maker_key)) as maker:
            d = okx.derivatives
            await rest(maker, "BTC/USDT:USDT", "sell", "3")
            mark = (await d.mark_price("BTC/USDT:USDT")).mark
            sl, tp = (mark * D("0.9")).quantize(D("0.1")), (mark * D("1.1")).quantize(D("0.1"))
            plan = await d.prepare_order(
                "BTC/USDT:USDT", "buy", "0.03", "base", stop_loss=StopSpec(sl), take_profit=StopSpec(tp)
            )
            assert (await d.place_plan(plan)).order.state == "filled"
            await rest(maker, "ETH/USDT:USDT", "buy", "5")
            plan = await d.prepare_order(
                "ETH/USDT:USDT",
                "sell",
                "5",
                "contracts",
                margin_mode="isolated",
                trailing=TrailingSpec(D("0.03")),
            )
            placed = await d.place_plan(plan)
            assert placed.trailing is not None
            below = (mark * D("0.99")).quantize(D("0.1"))
            resting = await d.prepare_order("BTC/USDT:USDT", "buy", "1", "contracts", price=below)
            await d.place_plan(resting)
            assert len(await okx.algos.pending()) == 2
            assert len(await d.positions()) == 2
            await rest(maker, "BTC/USDT:USDT", "buy", "3")
            await rest(maker, "ETH/USDT:USDT", "sell", "5")
            return {"algos": sorted(a.algo_id for a in await okx.algos.pending())}

    return run(go())


def state_of(sim: RunningSim, key: dict[str, Any]) -> tuple[list[Any], list[Any], list[Any]]:
    async def go() -> tuple[list[Any], list[Any], list[Any]]:
        cfg = ClientConfig(rest_url=sim.rest, disk_cache=False)
        async with OkxClient(cfg, creds(key)) as okx:
            return await okx.derivatives.positions(), await okx.algos.pending(), await okx.fetch_open_orders()

    return run(go())


def test_panic_cancels_algo_orders_and_closes_every_position(sim: RunningSim) -> None:
    key = futures_key(sim, {"USDT": "100000"})
    maker = futures_key(sim, {"USDT": "100000000", "BTC": "1000"})
    before = trade_swaps(sim, key, maker)
    add_profile(runner, "swapper", key, sim)

    result = runner.invoke(
        app, ["panic", "--profile", "swapper", "--sim", sim.rest, "--close-positions", "--json"]
    )
    assert result.exit_code == 0, result.output
    outcome = json.loads(result.stdout)
    assert outcome["not_done"] == []
    assert outcome["algos_canceled"] == 2 and outcome["canceled"] == 1
    assert "canceled 2 algo order(s) (TP/SL, trailing, trigger) on every instrument" in outcome["done"]
    closed = {(c["symbol"], c["side"], c["contracts"], c["margin_mode"]) for c in outcome["positions_closed"]}
    assert closed == {("BTC/USDT:USDT", "long", "3", "cross"), ("ETH/USDT:USDT", "short", "5", "isolated")}
    for record in outcome["positions_closed"]:
        [order] = record["orders"]
        assert order["state"] == "filled" and order["filled"] == record["contracts"]
    said = [line for line in outcome["done"] if line.startswith("closed ")]
    assert any(
        "closed long 3 contracts of BTC/USDT:USDT (cross): reduce-only market sell of 3" in s for s in said
    )
    assert any(
        "closed short 5 contracts of ETH/USDT:USDT (isolated): reduce-only market buy of 5" in s for s in said
    )
    assert state_of(sim, key) == ([], [], [])

    report = Path(outcome["report_dir"])
    with (report / "algo_orders.csv").open() as handle:
        algos = {r["algoId"]: r for r in csv.DictReader(handle)}
    assert sorted(algos) == before["algos"]
    assert {r["ordType"] for r in algos.values()} == {"oco", "move_order_stop"}
    with (report / "positions.csv").open() as handle:
        assert sorted(r["instId"] for r in csv.DictReader(handle)) == ["BTC-USDT-SWAP", "ETH-USDT-SWAP"]
    with (report / "positions_history.csv").open() as handle:
        assert len(list(csv.DictReader(handle))) == 2
    with (report / "orders.csv").open() as handle:
        flags = {r["clOrdId"]: r["placedByOkxbot"] for r in csv.DictReader(handle) if r["instType"] == "SWAP"}
    # panic's closing orders are journaled (bot "panic") like every okxbot order; the test's setup went
    # around the journal, so those are flagged
    closing = {o["client_order_id"] for c in outcome["positions_closed"] for o in c["orders"]}
    assert len(closing) == 2 and {flags[c] for c in closing} == {"yes"}
    assert sorted(flags[c] for c in set(flags) - closing) == ["NO - FLAGGED"] * 3


def test_without_close_positions_they_stay_and_a_read_only_key_says_what_it_could_not_do(
    sim: RunningSim,
) -> None:
    key = futures_key(sim, {"USDT": "100000"})
    maker = futures_key(sim, {"USDT": "100000000", "BTC": "1000"})
    trade_swaps(sim, key, maker)
    reader = sim.admin("POST", "/__sim__/keys", {"uid": key["uid"], "perm": "read_only"})
    add_profile(runner, "reader", reader, sim)
    result = runner.invoke(
        app, ["panic", "--profile", "reader", "--sim", sim.rest, "--close-positions", "--json"]
    )
    assert result.exit_code == 1
    outcome = json.loads(result.stdout)
    assert any("1 open order(s) and 2 algo order(s): the key is read-only" in s for s in outcome["not_done"])
    assert any("could not close the 2 position(s): the key is read-only" in s for s in outcome["not_done"])
    positions, algos, _ = state_of(sim, key)
    assert len(positions) == 2 and len(algos) == 2

    add_profile(runner, "trader", key, sim)
    result = runner.invoke(app, ["panic", "--profile", "trader", "--sim", sim.rest, "--json"])
    assert result.exit_code == 0, result.output
    outcome = json.loads(result.stdout)
    assert outcome["algos_canceled"] == 2 and outcome["positions_closed"] == []
    positions, algos, orders = state_of(sim, key)
    assert len(positions) == 2 and algos == [] and orders == []
