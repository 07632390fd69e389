"""Issue 14 §2's test that matters most, with a real process: okxbot's client, in a process of its own,
opens a 10x long with a stop attached on the exchange and keeps watching its position; the process is
SIGKILLed (no goodbye: its sockets are cut by the kernel); the price is moved through the stop by the
admin API; the exchange closes the position at the stop with no okxbot running."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from okxbot.sim.server import RunningSim, start_sim
from tests.sim.algo_http import Rest, algo_events, futures_key

pytestmark = pytest.mark.timeout(120)
REPO = Path(__file__).resolve().parents[2]
D = Decimal

# The "bot": okxbot's own client (OkxClient.derivatives), the way a strategy process holds it.
BOT = r"""
import asyncio, json, sys
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace
from okxbot.okx.algos import StopSpec
from tests.okx.simkit import client

async def main() -> None:
    args = json.loads(sys.argv[1])
    sim = SimpleNamespace(rest=args["rest"], ws=args["ws"])
    async with client(sim, args["key"], Path(args["cache"])) as okx:
        await okx.derivatives.set_leverage("BTC/USDT:USDT", Decimal(10), margin_mode="cross")
        plan = await okx.derivatives.prepare_order(
            "BTC/USDT:USDT", "buy", "20", "contracts", stop_loss=StopSpec(Decimal(args["stop"]))
        )
        placed = await okx.derivatives.place_plan(plan)
        updates = okx.derivatives.watch_positions(["BTC/USDT:USDT"])
        seen = await anext(updates)  # connected and subscribed: a live bot
        print(json.dumps({"ordId": placed.order.order_id, "state": placed.order.state,
                          "positions": len(seen)}), flush=True)
        await asyncio.Event().wait()  # runs until killed

asyncio.run(main())
"""


@pytest.fixture(scope="module")
def sim() -> Iterator[RunningSim]:
    with start_sim(seed=37) as running:
        yield running


def test_a_sigkilled_bots_long_is_closed_by_the_exchange_at_its_stop(sim: RunningSim, tmp_path: Path) -> None:
    key = futures_key(sim, usdt="10000")
    rest = Rest(sim, key)
    stop = (rest.last("BTC-USDT-SWAP") * D("0.99")).quantize(D("0.1"))
    args = {"rest": sim.rest, "ws": sim.ws, "key": key, "cache": str(tmp_path), "stop": str(stop)}
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    bot = subprocess.Popen(
        [sys.executable, "-c", BOT, json.dumps(args)], cwd=REPO, env=env, stdout=subprocess.PIPE, text=True
    )
    try:
        assert bot.stdout is not None
        ready = json.loads(bot.stdout.readline())  # blocks until the bot has traded and is watching
        assert ready["state"] == "filled"
        assert sum(sim.admin("GET", "/__sim__/ws-stats")["connections"].values()) >= 1
        bot.send_signal(signal.SIGKILL)
        assert bot.wait(timeout=30) == -signal.SIGKILL
    finally:
        if bot.poll() is None:
            bot.kill()
            bot.wait()

    (position,) = rest.get("account/positions", instId="BTC-USDT-SWAP")["data"]
    assert (position["pos"], position["lever"], position["mgnMode"]) == ("20", "10", "cross")
    (protect,) = rest.get("trade/orders-algo-pending", ordType="conditional,oco")["data"]
    assert (D(protect["slTriggerPx"]), protect["sz"], protect["side"]) == (stop, "20", "sell")
    with algo_events(sim) as wait:
        sim.admin("POST", "/__sim__/price", {"instId": "BTC-USDT", "movePct": "-3"})
        fired = wait(lambda e: e.data["algoId"] == protect["algoId"] and e.data["state"] != "live", 30).data
    assert (fired["state"], fired["actualSide"], fired["actualSz"]) == ("effective", "sl", "20")
    (close,) = rest.get("trade/order", instId="BTC-USDT-SWAP", ordId=fired["ordId"])["data"]
    assert (close["state"], close["reduceOnly"], close["accFillSz"]) == ("filled", "true", "20")
    assert D(close["avgPx"]) <= stop  # a market order sent at the stop
    assert [p["pos"] for p in rest.get("account/positions", instId="BTC-USDT-SWAP")["data"]] == ["0"]
    (row,) = rest.get("account/positions-history", instId="BTC-USDT-SWAP")["data"]
    assert (row["type"], row["closeTotalPos"], row["direction"]) == ("2", "20", "long")
    assert (
        ready["ordId"]
        == rest.get("trade/order", instId="BTC-USDT-SWAP", ordId=ready["ordId"])["data"][0]["ordId"]
    )
