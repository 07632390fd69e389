"""A simulator session recorded in lockstep with a live bot, for the parity tests.

The bot is the real `okxbot run` runner, trading on the simulator through real REST and WebSocket
(ccxt), its journal in SQLite. The simulator's market does not step on its own (`auto_step: false`)
and holds its public pushes (`holdPublic`): the session moves it one step at a time, and before the
next one waits until the bot has answered everything the previous one caused:

    1. step the market (POST /__sim__/step, or a price move): its fills reach the bot's orders
       channel at once;
    2. wait until the bot is quiet: no hook running or queued, no request in flight or in doubt,
       and its journal matches the engine's view of its orders and fills;
    3. release the public pushes (POST /__sim__/ws-flush) and wait until the bot has the engine's
       ticker and is quiet again.

That is the order of events the backtest replays (`okxbot.backtest.replay`), with a 1 ms latency:
the bot's requests land before the next market event because, live, they did. Time jumps
(`jump_clock`) move the simulator's clock and the bot's measured offset together, so a test can
cross minute boundaries (candles) in seconds.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

from okxbot.okx.models import Ticker
from okxbot.sim.server import RunningSim, start_sim
from okxbot.trading.runner import Runner
from tests.trading.botkit import new_key, runner

INST = "BTC-USDT"
SEED = 11
BALANCES = {"USDT": "100000", "BTC": "2"}
MOVING = frozenset({"intent", "sent", "unknown", "cancel_pending", "amend_pending"})
PATIENCE_S = 30.0


@dataclasses.dataclass
class Session:
    sim: RunningSim
    key: dict[str, Any]
    runner: Runner
    start_ms: int = 0
    stop_ms: int = 0
    live_hash: str = ""
    recording: Path | None = None


def parity_sim() -> RunningSim:
    sim = start_sim(host="127.0.0.1", port=0, seed=SEED, config={"auto_step": False})
    sim.admin("POST", "/__sim__/ws-config", {"holdPublic": True})
    return sim


def now_ms(sim: RunningSim) -> int:
    return int(sim.call(lambda: sim.ctx.clock.now_ms()))


def _engine_view(sim: RunningSim, uid: str) -> tuple[dict[str, tuple[str, Decimal]], int, dict[str, Any]]:
    def read() -> tuple[dict[str, tuple[str, Decimal]], int, dict[str, Any]]:
        ex = sim.ctx.exchange
        orders = {o["clOrdId"]: (o["state"], Decimal(o["accFillSz"])) for o in ex.all_orders(uid)}
        fills = len(ex.fills(uid, {"instType": "SPOT", "limit": "100"}))
        return orders, fills, ex.ticker(INST)

    return sim.call(read)


def quiet(session: Session, *, ticker: dict[str, Any] | None = None) -> bool:
    """The bot has answered everything: idle, nothing moving, its journal equal to the engine."""
    r = session.runner
    core = r.core
    if core is None or core.strategy is None or not core.idle():
        return False
    m = core.manager
    if len(m.doubts) or any(o.state in MOVING for o in m.open_orders()):
        return False
    orders, fills, _ = _engine_view(session.sim, session.key["uid"])
    assert r.journal is not None
    journal = {o.client_order_id: o for o in r.journal.orders()}
    for cid, (state, filled) in orders.items():
        mine = journal.get(cid)
        if mine is None or mine.state != state or mine.filled != filled:
            return False
    if fills != min(100, len(r.journal.fills())):
        return False
    if ticker is not None:  # the ticker released by the flush reached the bot
        seen = core._latest_ticker
        want = Ticker.from_okx(ticker, seen.symbol if seen else "BTC/USDT", "ws")
        if seen is None or dataclasses.replace(seen, ts=None) != dataclasses.replace(want, ts=None):
            return False
    return True


async def wait_quiet(
    session: Session, *, ticker: dict[str, Any] | None = None, also: Callable[[], bool] | None = None
) -> None:
    """Until `quiet` holds twice in a row (and `also`), checked every 20 ms, at most PATIENCE_S."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + PATIENCE_S
    streak = 0
    while streak < 2:
        ok = (also is None or also()) and quiet(session, ticker=ticker)
        streak = streak + 1 if ok else 0
        if loop.time() > deadline:
            raise AssertionError("the bot did not settle in time")
        await asyncio.sleep(0.02)


async def admin(sim: RunningSim, method: str, path: str, body: Any = None) -> dict[str, Any]:
    return await asyncio.to_thread(sim.admin, method, path, body)


async def step(session: Session, *, move_pct: str | None = None) -> None:
    """One market event in lockstep (one step, or one price move): private phase, then public."""
    if move_pct is not None:
        await admin(session.sim, "POST", "/__sim__/price", {"instId": INST, "movePct": move_pct})
    else:
        await admin(session.sim, "POST", "/__sim__/step", {"steps": 1})
    await wait_quiet(session)
    await wait_quiet(session, ticker=flush(session.sim))


def flush(sim: RunningSim) -> dict[str, Any]:
    """Release the public pushes (what POST /__sim__/ws-flush does) and return the ticker they
    carry, read in the same instant on the simulator's thread."""
    from okxbot.sim.ws import hub_of

    def go() -> dict[str, Any]:
        hub_of(sim.ctx).flush_public()
        return sim.ctx.exchange.ticker(INST)

    return sim.call(go)


def candle_polls(sim: RunningSim) -> int:
    return int(sim.call(lambda: sim.ctx.stats.by_path["/api/v5/market/candles"]))


async def jump_clock(session: Session, to_second_of_minute: int = 1) -> None:
    """Move the simulator's clock (and the bot's measured offset with it, in the same instant) to
    `to_second_of_minute` of the next minute; then wait for the bot's next candle poll."""
    sim, r = session.sim, session.runner
    assert r.client is not None
    polls = candle_polls(sim)
    now = now_ms(sim)
    target = (now // 60_000 + 1) * 60_000 + to_second_of_minute * 1000
    jump = target - now

    def shift() -> None:
        sim.ctx.clock.advance(jump)

    sim.call(shift)  # blocking: no task of the bot runs between the two moves
    clock = r.client.clock
    clock._last = dataclasses.replace(clock._last, offset_ms=clock._last.offset_ms + jump)
    await wait_quiet(session, also=lambda: candle_polls(sim) > polls + 1)


async def start(
    session_dir: Path, sim: RunningSim, config: dict[str, Any]
) -> tuple[Session, asyncio.Event, Any]:
    key = sim.admin(
        "POST", "/__sim__/keys", {"perm": "read_only,trade", "ip": "127.0.0.1", "balances": BALANCES}
    )
    sim.admin("POST", "/__sim__/record", {"instIds": [INST]})
    start_ms = now_ms(sim)
    r = runner(sim, key, config, session_dir)
    session = Session(sim, key, r, start_ms=start_ms)
    stop = asyncio.Event()
    task = asyncio.ensure_future(r.run(stop, None))
    await wait_quiet(session, also=lambda: r.core is not None and r.core._latest_ticker is not None)
    return session, stop, task


async def finish(session: Session, stop: asyncio.Event, task: Any, out: Path) -> None:
    session.stop_ms = now_ms(session.sim)
    stop.set()
    summary = await task
    session.live_hash = summary.parity_hash
    recording = await admin(session.sim, "DELETE", "/__sim__/record")
    session.recording = out / "session.json"
    session.recording.write_text(json.dumps(recording))


__all__ = ["Session", "finish", "jump_clock", "new_key", "parity_sim", "start", "step", "wait_quiet"]
