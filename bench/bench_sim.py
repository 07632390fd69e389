"""Simulator REST throughput: signed order placements per second.

The simulator runs as it does in tests (aiohttp on its own thread, market stepping every 100 ms); the
load comes from a SEPARATE process that signs every request itself over several keep-alive
connections, so that the client's work does not eat the server's core. Orders are limit buys far
below the market: they rest, so each one goes through validation, freezing and the book. Enough
accounts x instruments are used that OKX's per-instrument limit (60 / 2 s) never caps the run.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import multiprocessing
import statistics
import time
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from rich.console import Console
from rich.table import Table

ACCOUNTS = 24
CONNECTIONS = 16
WARMUP_S = 1.0
DURATION_S = 5.0


def _iso_now() -> str:
    now = datetime.now(UTC)
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"


def _headers(key: dict[str, Any], method: str, path: str, body: bytes) -> dict[str, str]:
    ts = _iso_now()
    message = ts.encode() + method.encode() + path.encode() + body
    signature = base64.b64encode(
        hmac.new(key["secretKey"].encode(), message, hashlib.sha256).digest()
    ).decode()
    return {
        "OK-ACCESS-KEY": key["apiKey"],
        "OK-ACCESS-PASSPHRASE": key["passphrase"],
        "OK-ACCESS-TIMESTAMP": ts,
        "OK-ACCESS-SIGN": signature,
        "Content-Type": "application/json",
    }


async def _load(rest: str, keys: list[dict[str, Any]], orders: list[dict[str, str]]) -> dict[str, Any]:
    import aiohttp

    pairs = [(key, order) for key in keys for order in orders]
    latencies: list[float] = []
    counts = {"ok": 0, "rejected": 0}
    measuring = False
    stop = False
    cursor = 0

    async def worker(session: aiohttp.ClientSession) -> None:
        nonlocal cursor
        path = "/api/v5/trade/order"
        while not stop:
            key, order = pairs[cursor % len(pairs)]
            cursor += 1
            body = json.dumps(order).encode()
            started = time.perf_counter()
            async with session.post(
                rest + path, data=body, headers=_headers(key, "POST", path, body)
            ) as resp:
                answer = await resp.json(content_type=None)
            if measuring:
                latencies.append(time.perf_counter() - started)
                ok = answer.get("code") == "0"
                counts["ok" if ok else "rejected"] += 1
                if not ok and counts["rejected"] == 1:
                    counts["first_rejection"] = answer

    connector = aiohttp.TCPConnector(limit=CONNECTIONS)
    async with aiohttp.ClientSession(connector=connector) as session:
        tasks = [asyncio.create_task(worker(session)) for _ in range(CONNECTIONS)]
        await asyncio.sleep(WARMUP_S)
        measuring = True
        started = time.perf_counter()
        await asyncio.sleep(DURATION_S)
        measuring = False
        elapsed = time.perf_counter() - started
        stop = True
        await asyncio.gather(*tasks)
    return {"elapsed": elapsed, "latencies": latencies, **counts}


def _generator(rest: str, keys: list[dict[str, Any]], orders: list[dict[str, str]], out: Any) -> None:
    out.put(asyncio.run(_load(rest, keys, orders)))


def _resting_orders(rest: str) -> list[dict[str, str]]:
    import httpx

    from okxbot.sim.instruments import DEFAULT_INSTRUMENTS, floor_to, fmt

    orders = []
    for inst in DEFAULT_INSTRUMENTS:
        bid = httpx.get(f"{rest}/api/v5/market/ticker?instId={inst.inst_id}").json()["data"][0]["bidPx"]
        px = floor_to(Decimal(bid) * Decimal("0.85"), inst.tick_sz)
        # Smallest size that is a lot multiple, >= minSz and worth a few USDT at most.
        orders.append(
            {"instId": inst.inst_id, "tdMode": "cash", "side": "buy", "ordType": "limit", "px": fmt(px),
             "sz": fmt(inst.min_sz)}
        )  # fmt: skip
    return orders


def measure() -> dict[str, Any]:
    from okxbot.sim.server import start_sim

    with start_sim(seed=3) as sim:
        keys = [
            sim.admin(
                "POST",
                "/__sim__/keys",
                {"balances": {"USDT": "100000000", "USDC": "100000000", "BTC": "100"}},
            )
            for _ in range(ACCOUNTS)
        ]
        orders = _resting_orders(sim.rest)
        ctx = multiprocessing.get_context("spawn")
        out = ctx.Queue()
        generator = ctx.Process(target=_generator, args=(sim.rest, keys, orders, out))
        # CPU time of the server's thread: on a shared machine wall-clock rates swing with other load,
        # orders per CPU-second of the server thread is what one dedicated core would sustain.
        cpu_before = sim.call(time.thread_time)
        requests_before = sim.ctx.stats.by_path["/api/v5/trade/order"]
        generator.start()
        result = out.get(timeout=120)
        generator.join(timeout=30)
        result["server_cpu_s"] = sim.call(time.thread_time) - cpu_before
        result["requests"] = sim.ctx.stats.by_path["/api/v5/trade/order"] - requests_before
        placed = sum(len(sim.admin("GET", f"/__sim__/orders?uid={k['uid']}")["orders"]) for k in keys)
    result["placed_total"] = placed
    return result


def main() -> None:
    result = measure()
    latencies = sorted(result["latencies"])
    rate = result["ok"] / result["elapsed"]
    table = Table(title="okxbot.sim REST: signed order placements (limit orders that rest)")
    table.add_column("measure")
    table.add_column("value", justify="right")
    table.add_row("load generator", f"separate process, {CONNECTIONS} keep-alive connections")
    table.add_row("accounts x instruments", f"{ACCOUNTS} x {len(_instrument_ids())}")
    table.add_row("window", f"{result['elapsed']:.2f} s after {WARMUP_S:.0f} s warm-up")
    table.add_row("orders accepted", f"{result['ok']:,}")
    table.add_row("orders rejected", f"{result['rejected']:,}")
    table.add_row("placements / s (wall clock)", f"{rate:,.0f}")
    table.add_row("server thread CPU", f"{result['server_cpu_s']:.2f} s for {result['requests']:,} requests")
    table.add_row("placements / server CPU-second", f"{result['requests'] / result['server_cpu_s']:,.0f}")
    table.add_row("goal", ">= 1,500 / s")
    if latencies:
        table.add_row("latency p50", f"{statistics.median(latencies) * 1000:.1f} ms")
        table.add_row("latency p99", f"{latencies[int(len(latencies) * 0.99) - 1] * 1000:.1f} ms")
    if "first_rejection" in result:
        table.add_row(
            "first rejection",
            json.dumps(
                result["first_rejection"]["data"][0]
                if result["first_rejection"].get("data")
                else result["first_rejection"]
            )[:200],
        )
    Console().print(table)


def _instrument_ids() -> list[str]:
    from okxbot.sim.instruments import DEFAULT_INSTRUMENTS

    return [i.inst_id for i in DEFAULT_INSTRUMENTS]


if __name__ == "__main__":
    main()
