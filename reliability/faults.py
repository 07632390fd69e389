"""Faults: order intents from a running bot while ~30% of its requests meet an injected fault.

REST faults come from the simulator's fault injection (dropped after execution, delayed beyond the
client timeout, 50013, 50001, HTTP 500); 50011 bursts from a second program spending the same key's
order buckets; WebSocket connections dropped and stalled and a corrupted book update. Afterwards the
journal is audited against the simulator's own records.
"""

from __future__ import annotations

import asyncio
import random
import tempfile
from collections import Counter
from decimal import Decimal
from pathlib import Path

from okxbot.okx.client import ClientConfig, OkxClient
from okxbot.okx.errors import OkxError
from okxbot.sim.server import RunningSim
from reliability.bot import SYMBOLS, Bot, audit
from reliability.checks import Check, Sizes
from reliability.env import credentials, new_key, scratch_home

SECTION = "faults"
PATHS = {
    "place": "/api/v5/trade/order",
    "amend": "/api/v5/trade/amend-order",
    "cancel": "/api/v5/trade/cancel-order",
}
REST_KINDS = ("drop", "delay", "50013", "50001", "http500")
WS_KINDS = ("ws-drop", "ws-stall", "bad-checksum")
TIMEOUT_MS = 1000


def _inject(sim: RunningSim, kind: str, path: str, symbol: str) -> bool:
    """Arm one fault; False when it cannot apply now (no books subscriber while a stream reconnects)."""
    try:
        _arm(sim, kind, path, symbol)
    except RuntimeError as err:
        if "subscribe first" in str(err):
            return False
        raise
    return True


def _arm(sim: RunningSim, kind: str, path: str, symbol: str) -> None:
    if kind in REST_KINDS:
        body: dict[str, object] = {"path": path, "count": 1, "kind": kind}
        if kind == "delay":
            body["delayMs"] = TIMEOUT_MS + 700  # beyond the client's timeout
        sim.admin("POST", "/__sim__/faults", body)
    elif kind == "ws-drop":
        sim.admin("POST", "/__sim__/ws-faults", {"kind": "drop"})
    elif kind == "ws-stall":
        sim.admin("POST", "/__sim__/ws-faults", {"kind": "stall", "durationMs": 1500})
    elif kind == "bad-checksum":
        sim.admin("POST", "/__sim__/ws-faults", {"kind": "bad-checksum", "instId": symbol.replace("/", "-")})


async def _burst(other: OkxClient, inst_id: str, size: int = 70) -> int:
    """A second program on the same key spends the instrument's order bucket (60 / 2 s).

    Its orders are below the minimum size, so they use the bucket without creating orders."""
    body = {
        "instId": inst_id,
        "tdMode": "cash",
        "side": "buy",
        "ordType": "limit",
        "px": "1",
        "sz": "0.00000001",
    }

    async def one() -> bool:
        try:
            await other.raw.privatePostTradeOrder(dict(body))
        except Exception as exc:  # its own failures (50011 among them) are the point, not a problem
            return "50011" in str(exc)
        return False

    return sum(await asyncio.gather(*(one() for _ in range(size))))


async def _lane(
    bot: Bot,
    sim: RunningSim,
    symbol: str,
    intents: int,
    rate: float,
    rng: random.Random,
    other: OkxClient,
    tally: Counter[str],
    ws: bool,
) -> None:
    kinds = REST_KINDS + ("50011",) + (WS_KINDS if ws else ())
    manager = bot.managers[symbol]
    for n in range(intents):
        if n % 15 == 0:
            await bot.refresh_mids()
            try:
                await manager.poll_fills()  # fills are listed 100 at a time: keep up with them
            except OkxError as err:
                bot.errors.append(str(err))
        has_open = any(o.state in ("live", "partially_filled") for o in manager.open_orders())
        roll = rng.random()
        op = "place" if roll < 0.55 or not has_open else ("amend" if roll < 0.8 else "cancel")
        if rng.random() < rate:
            kind = rng.choice(kinds)
            if kind == "50011":
                tally[kind] += 1
                tally["50011 answers to the second program"] += await _burst(other, symbol.replace("/", "-"))
            elif await asyncio.to_thread(_inject, sim, kind, PATHS[op], symbol):
                tally[kind] += 1
        await bot.step(op, symbol)


async def _run(sim: RunningSim, sizes: Sizes, ws: bool, seed: int) -> list[Check]:
    label = "WebSocket up" if ws else "WebSocket down (REST only)"
    key = new_key(sim)
    tally: Counter[str] = Counter()
    with tempfile.TemporaryDirectory(prefix="okxbot-rel-faults-") as tmp, scratch_home("faults"):
        journal_url = f"sqlite:///{Path(tmp) / 'journal.sqlite'}"
        ws_url = None if ws else "ws://127.0.0.1:9/ws/v5"  # nothing listens there: the WebSocket is down
        config = ClientConfig(
            rest_url=sim.rest,
            ws_url=ws_url,
            timeout_ms=TIMEOUT_MS,
            exp_time_ms=1500,
            disk_cache=False,
            max_place_attempts=4,
        )
        other_config = ClientConfig(rest_url=sim.rest, disk_cache=False, rate_limit=False, max_rate_retries=0)
        async with (
            OkxClient(config, credentials(key)) as client,
            OkxClient(other_config, credentials(key)) as other,
        ):
            await other.load_markets()
            stream_failures = 0
            for symbol in SYMBOLS:
                try:
                    await client.stream_ticker(symbol)
                    await client.stream_order_book(symbol)
                except OkxError:
                    stream_failures += 1
            bot = await Bot.start(client, journal_url, "faults", seed)
            rng = random.Random(seed)
            per_lane = sizes.intents // len(SYMBOLS)
            await asyncio.gather(
                *(
                    _lane(
                        bot,
                        sim,
                        symbol,
                        per_lane,
                        sizes.fault_rate,
                        random.Random(rng.random()),
                        other,
                        tally,
                        ws,
                    )
                    for symbol in SYMBOLS
                )
            )
            faults = sum(v for k, v in tally.items() if not k.startswith("50011 answers"))
            # faults armed but never met by a request are not counted as met
            unmet = sim.call(lambda: sum(f.count for f in sim.ctx.faults.pending()))
            sim.call(sim.ctx.faults.clear)
            faults -= unmet
            await asyncio.sleep(1.8)  # let the last delayed answers (client timeout + 0.7 s) arrive
            await bot.settle()
            unrecovered = await _books_recovered(client, sim) if ws else 0
            result = audit(sim, key["uid"], [m.journal for m in bot.managers.values()])
            bot.close()
    ops = ", ".join(f"{k} {v}" for k, v in sorted(bot.ops.items()))
    injected = ", ".join(f"{k} {v}" for k, v in sorted(tally.items()))
    rows = [
        Check(SECTION, f"{label}: order intents ({ops})", sum(bot.ops.values()), False),
        Check(SECTION, f"{label}: faults injected", faults, False, injected),
        Check(
            SECTION,
            f"{label}: orders on the exchange / fills",
            result.exchange_orders,
            False,
            f"{result.fills_exchange} fills",
        ),
        Check(SECTION, f"{label}: duplicate orders (one intent placed twice)", result.duplicates, True),
        Check(
            SECTION,
            f"{label}: intents without a final known state",
            result.unresolved,
            True,
            "; ".join(result.examples[:3]),
        ),
        Check(
            SECTION,
            f"{label}: journal != exchange (orders)",
            result.state_mismatches + result.missing_in_journal,
            True,
            "; ".join(result.examples[:3]),
        ),
        Check(
            SECTION,
            f"{label}: journal != exchange (fills)",
            result.fill_mismatches,
            True,
            "; ".join(e for e in result.examples if e.startswith("fills")),
        ),
    ]
    if ws:
        rows.append(
            Check(
                SECTION,
                f"{label}: book streams not recovered / wrong after WS faults",
                unrecovered + stream_failures,
                True,
            )
        )
    else:
        rows.append(Check(SECTION, f"{label}: streams refused (REST fallback used)", stream_failures, False))
    return rows


async def _books_recovered(client: OkxClient, sim: RunningSim, attempts: int = 20) -> int:
    """Streams that are not alive again, or whose top 5 levels differ from the exchange's book.

    The market moves every 100 ms, so a comparison is retried; only a book that never matches counts."""
    wrong = 0
    for symbol in SYMBOLS:
        inst_id = symbol.replace("/", "-")
        for _ in range(attempts):
            if client._stream_alive("book", symbol):
                book = (client.raw.orderbooks or {}).get(symbol)
                ours = None
                if book is not None:
                    ours = (
                        [(Decimal(repr(p)), Decimal(repr(s))) for p, s, *_ in book["bids"][:5]],
                        [(Decimal(repr(p)), Decimal(repr(s))) for p, s, *_ in book["asks"][:5]],
                    )

                def theirs(inst: str = inst_id) -> tuple[list[tuple[Decimal, Decimal]], ...]:
                    b = sim.ctx.exchange.book(inst)
                    return tuple(
                        [(Decimal(px), Decimal(sz)) for px, sz, _n in b.levels(side, 5)]
                        for side in ("bids", "asks")
                    )

                if ours is not None and tuple(ours) == sim.call(theirs):
                    break
            await asyncio.sleep(0.25)
        else:
            wrong += 1
    return wrong


def run(sim: RunningSim, sizes: Sizes) -> list[Check]:
    rows = asyncio.run(_run(sim, sizes, ws=True, seed=11))
    return rows + asyncio.run(_run(sim, sizes, ws=False, seed=12))
