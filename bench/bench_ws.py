"""WebSocket `books` throughput: incremental book updates per second over ONE connection.

The simulator runs as in tests (aiohttp on its own thread) with its synthetic market off, so that
every book change comes from the benchmark: a producer on the simulator's loop changes the BTC-USDT
book (place / cancel / taking order) and flushes the `books` stream after every change, so every
change becomes one update with its own seqId and CRC32 checksum over the merged top 25. The client
runs in a SEPARATE process (its work must not eat the server's core): it merges every update into
its own 400-level book and recomputes the checksum of each, failing on any mismatch or seqId gap.
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import random
import time
import zlib
from bisect import bisect_left
from decimal import Decimal
from typing import Any

from rich.console import Console
from rich.table import Table

UPDATES = 20_000
RESTING_ORDERS = 3_000
GOAL_PER_S = 5_000
MID = Decimal("43000")
TICK = Decimal("0.1")


class _Side:
    """One side of the client's book: price string -> size string, plus prices kept sorted."""

    def __init__(self, descending: bool) -> None:
        self.sign = -1.0 if descending else 1.0
        self.sizes: dict[str, str] = {}
        self.keys: list[float] = []  # sign * price, ascending: best first
        self.prices: list[str] = []

    def set(self, px: str, sz: str) -> None:
        key = self.sign * float(px)
        if sz == "0":
            if self.sizes.pop(px, None) is not None:
                i = bisect_left(self.keys, key)
                del self.keys[i]
                del self.prices[i]
            return
        if px not in self.sizes:
            i = bisect_left(self.keys, key)
            self.keys.insert(i, key)
            self.prices.insert(i, px)
        self.sizes[px] = sz

    def top(self, n: int) -> list[tuple[str, str]]:
        return [(px, self.sizes[px]) for px in self.prices[:n]]


def _checksum(bids: list[tuple[str, str]], asks: list[tuple[str, str]]) -> int:
    parts: list[str] = []
    for i in range(25):
        if i < len(bids):
            parts += bids[i]
        if i < len(asks):
            parts += asks[i]
    value = zlib.crc32(":".join(parts).encode())
    return value - (1 << 32) if value >= (1 << 31) else value


async def _consume(url: str, updates: int, ready: Any) -> dict[str, Any]:
    import aiohttp

    bids, asks = _Side(descending=True), _Side(descending=False)
    seq = None
    received = 0
    started = 0.0
    busy = 0.0  # time spent decoding, merging and checking, as opposed to waiting for the socket
    async with aiohttp.ClientSession() as session, session.ws_connect(url, max_msg_size=1 << 24) as ws:
        await ws.send_str(
            json.dumps({"op": "subscribe", "args": [{"channel": "books", "instId": "BTC-USDT"}]})
        )
        async for message in ws:
            began = time.perf_counter()
            body = json.loads(message.data)
            if "data" not in body:
                continue
            data = body["data"][0]
            if body["action"] == "snapshot":
                for row in data["bids"]:
                    bids.set(row[0], row[1])
                for row in data["asks"]:
                    asks.set(row[0], row[1])
                ready.set()
            else:
                if data["prevSeqId"] != seq:
                    raise RuntimeError(f"seqId gap: {data['prevSeqId']} after {seq}")
                if received == 0:
                    started = time.perf_counter()
                for row in data["bids"]:
                    bids.set(row[0], row[1])
                for row in data["asks"]:
                    asks.set(row[0], row[1])
                received += 1
            seq = data["seqId"]
            if _checksum(bids.top(25), asks.top(25)) != data["checksum"]:
                raise RuntimeError(f"checksum mismatch at seqId {seq}")
            if received:
                busy += time.perf_counter() - began
            if received >= updates:
                break
    elapsed = time.perf_counter() - started
    return {
        "updates": received,
        "elapsed": elapsed,
        "busy": busy,
        "depth": (len(bids.sizes), len(asks.sizes)),
    }


def _client(url: str, updates: int, ready: Any, results: Any) -> None:
    results.put(asyncio.run(_consume(url, updates, ready)))


class _Producer:
    """Changes the book and flushes the stream, on the simulator's loop thread."""

    def __init__(self, sim: Any, seed: int = 1) -> None:
        exchange = sim.ctx.exchange
        self.exchange = exchange
        self.rng = random.Random(seed)
        self.maker = exchange.create_account({}, internal=True)
        self.taker = exchange.create_account({}, internal=True)
        self.live: list[str] = []
        self.diff_seconds = 0.0
        self.change_seconds = 0.0
        self.waits = 0

    def place(self) -> None:
        side = self.rng.choice(("buy", "sell"))
        ticks = self.rng.randint(1, 700)
        px = MID - ticks * TICK if side == "buy" else MID + ticks * TICK
        sz = str(Decimal(self.rng.randint(1, 4000)) / 10000)
        params = {
            "instId": "BTC-USDT",
            "tdMode": "cash",
            "side": side,
            "ordType": "limit",
            "px": str(px),
            "sz": sz,
        }
        result = self.exchange.place_order(self.maker, params)
        if result["sCode"] == "0":
            self.live.append(result["ordId"])

    def change(self) -> None:
        roll = self.rng.random()
        if roll < 0.5 or len(self.live) < RESTING_ORDERS:
            self.place()
        elif roll < 0.95:
            ord_id = self.live.pop(self.rng.randrange(len(self.live)))
            self.exchange.cancel_order(self.maker, {"instId": "BTC-USDT", "ordId": ord_id})
        else:
            side = self.rng.choice(("buy", "sell"))
            px = MID + 60 * TICK if side == "buy" else MID - 60 * TICK
            params = {"instId": "BTC-USDT", "tdMode": "cash", "side": side, "ordType": "ioc", "px": str(px)}
            self.exchange.place_order(self.taker, {**params, "sz": "0.05"})

    async def run(self, hub: Any, updates: int) -> None:
        stream = hub.streams["BTC-USDT"]
        sessions = hub.public[("books", "BTC-USDT")]
        goal = stream.seq_id + updates
        while stream.seq_id < goal:
            began = time.perf_counter()
            self.change()
            changed = time.perf_counter()
            hub.flush_books()
            self.change_seconds += changed - began
            self.diff_seconds += time.perf_counter() - changed
            # Let the connection's writer run; hold back while the client is behind.
            await asyncio.sleep(0)
            while any(s.backlog > 200 for s in sessions):
                self.waits += 1
                await asyncio.sleep(0.001)


def main() -> None:
    from okxbot.sim.server import start_sim
    from okxbot.sim.ws import hub_of

    sim = start_sim(seed=1, config={"market": False})
    try:
        producer = sim.call(lambda: _Producer(sim))
        sim.call(lambda: [producer.place() for _ in range(RESTING_ORDERS)])
        context = multiprocessing.get_context("spawn")
        ready, results = context.Event(), context.Queue()
        client = context.Process(target=_client, args=(sim.ws + "/public", UPDATES, ready, results))
        client.start()
        if not ready.wait(30):
            raise RuntimeError("the benchmark client did not receive its snapshot")
        hub = hub_of(sim.ctx)
        done = sim.call(lambda: asyncio.ensure_future(producer.run(hub, UPDATES)))
        outcome = results.get(timeout=300)
        client.join(30)
        while not done.done():
            time.sleep(0.01)
        depth = sim.call(lambda: (sim.ctx.exchange.book("BTC-USDT").depth("bids"), len(producer.live)))
    finally:
        sim.stop()
    rate = outcome["updates"] / outcome["elapsed"]
    table = Table(title="WebSocket books channel: one connection, checksum on every update")
    table.add_column("measure")
    table.add_column("value", justify="right")
    table.add_row(
        "updates carried (each merged + checksum-verified by the client)", f"{outcome['updates']:,}"
    )
    table.add_row("book levels per side held by the client", f"{outcome['depth'][0]} / {outcome['depth'][1]}")
    table.add_row("resting orders / bid levels in the simulator", f"{depth[1]:,} / {depth[0]}")
    table.add_row("updates per second over one connection", f"{rate:,.0f}")
    table.add_row("goal", f">= {GOAL_PER_S:,} / s ({'met' if rate >= GOAL_PER_S else 'NOT met'})")
    per_update = 1e6 / UPDATES
    table.add_row(
        "server: book change in the engine, per update", f"{producer.change_seconds * per_update:,.0f} µs"
    )
    table.add_row(
        "server: diff + checksum + JSON + queue, per update", f"{producer.diff_seconds * per_update:,.0f} µs"
    )
    table.add_row(
        "client: decode + merge + checksum check, per update", f"{outcome['busy'] * per_update:,.0f} µs"
    )
    table.add_row("times the server waited for a client 200 updates behind", f"{producer.waits:,}")
    Console().print(table)


if __name__ == "__main__":
    main()
