"""The simulator's recorder holds the whole market: replayed into a fresh engine, the recording gives
the very book, trades and candles the simulator has (admin API: /__sim__/record, /__sim__/step)."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest

from okxbot.backtest.loop import VirtualClock
from okxbot.backtest.recorded import RecordedMarket, instrument_of
from okxbot.sim.engine import Exchange
from okxbot.sim.instruments import InstrumentSet
from okxbot.sim.server import start_sim

INST = "BTC-USDT"


def _state(ex: Exchange) -> dict[str, Any]:
    return {
        "bids": ex.book(INST).levels("bids", 400),
        "asks": ex.book(INST).levels("asks", 400),
        "trades": [(t["px"], t["sz"], t["side"], t["ts"]) for t in ex.trades(INST, 500)],
        "candles": ex.candles(INST, "1m", limit=300),
        "ref": ex.reference_price(INST),
    }


def test_a_recording_replays_into_the_same_market() -> None:
    with start_sim(seed=5, config={"auto_step": False}) as sim:
        started = sim.admin("POST", "/__sim__/record", {"instIds": [INST]})
        assert started["instIds"] == [INST]
        for i in range(40):
            if i % 10 == 9:
                sim.admin("POST", "/__sim__/price", {"instId": INST, "movePct": "-0.2" if i < 20 else "0.3"})
            else:
                assert sim.admin("POST", "/__sim__/step", {"steps": 2})["steps"] >= 2
        so_far = sim.admin("GET", "/__sim__/record")
        recording = sim.admin("DELETE", "/__sim__/record")
        live = sim.call(lambda: _state(sim.ctx.exchange))
        with pytest.raises(RuntimeError, match="no recording is running"):
            sim.admin("GET", "/__sim__/record")
    assert len(so_far["events"]) == len(recording["events"]) == 76  # 72 steps + 4 price moves
    recording = json.loads(json.dumps(recording))  # as a file holds it
    clock = VirtualClock(recording["startMs"])
    engine = Exchange(clock, InstrumentSet([instrument_of(recording, INST)]), seed=5)  # type: ignore[arg-type]
    market = RecordedMarket(engine, recording, INST, clock)
    while market.next_ms() < 1 << 62:
        clock.us = market.next_ms() * 1000
        market.apply()
    replayed = _state(engine)
    assert replayed["bids"] == live["bids"] and replayed["asks"] == live["asks"]
    # each trade, in order; stamped with its operation's start (the live engine read its clock again
    # a few microseconds later, so the live stamp may be a millisecond on)
    assert [t[:3] for t in replayed["trades"]] == [t[:3] for t in live["trades"]] and len(live["trades"]) > 20
    assert all(
        0 <= int(a[3]) - int(b[3]) <= 5 for a, b in zip(live["trades"], replayed["trades"], strict=True)
    )
    assert replayed["candles"] == live["candles"]
    assert replayed["ref"] == Decimal(live["ref"])


def test_recording_refuses_what_it_could_not_replay() -> None:
    with start_sim(seed=5, config={"auto_step": False}) as sim:
        key = sim.admin("POST", "/__sim__/keys", {"balances": {"USDT": "1000"}})
        assert key["uid"]
        with pytest.raises(RuntimeError, match="instIds must be a list"):
            sim.admin("POST", "/__sim__/record", {"instIds": "BTC-USDT"})
        with pytest.raises(RuntimeError, match="unknown instrument"):
            sim.admin("POST", "/__sim__/record", {"instIds": ["NOPE-USDT"]})
