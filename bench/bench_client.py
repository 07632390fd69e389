"""The OKX client's costs: CLI start-up, clock correction, order latency, caches.

- `okxbot --help`: wall time of a fresh process (the target is < 0.3 s; ccxt is not imported);
- clock: the offset measured against a simulator whose clock runs 40 s ahead, and its error;
- orders: `OkxClient.create_order` latency on the simulator (validation without the balance
  request, POST, state read-back), and the requests each order costs;
- caches: markets cold vs from the disk cache; 20 identical concurrent ticker calls -> requests sent.
"""

from __future__ import annotations

import asyncio
import statistics
import subprocess
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

SKEW_MS = 40_000
ORDERS = 40


def _help_seconds(runs: int = 7) -> list[float]:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "okxbot", "--help"], capture_output=True, check=True)
        times.append(time.perf_counter() - start)
    return times


async def _client_figures(sim: Any, cache: Path) -> dict[str, str]:
    from okxbot.okx.client import ClientConfig, OkxClient
    from okxbot.vault.secret import Credentials, Secret

    key = sim.admin("POST", "/__sim__/keys", {"balances": {"USDT": "1000000"}, "perm": "read_only,trade"})
    creds = Credentials(Secret(key["apiKey"]), Secret(key["secretKey"]), Secret(key["passphrase"]))
    figures: dict[str, str] = {}

    def hits(path: str) -> int:
        return int(sim.admin("GET", "/__sim__/stats")["paths"].get(path, 0))

    sim.admin("POST", "/__sim__/clock", {"offsetMs": SKEW_MS})
    try:
        async with OkxClient(ClientConfig(rest_url=sim.rest, cache_dir=cache / "a"), creds) as okx:
            sync = await okx.sync_clock()
            figures["clock offset (sim 40 s ahead)"] = f"{sync.offset_ms} ms"
            figures["clock error / round trip"] = f"{sync.offset_ms - SKEW_MS:+d} ms / {sync.rtt_ms} ms"

            start = time.perf_counter()
            await okx.load_markets()
            figures["markets, cold"] = f"{(time.perf_counter() - start) * 1000:.1f} ms"

            symbols = ["BTC/USDT", "ETH/USDT", "SOL/USDT", "XRP/USDT", "DOGE/USDT"]
            symbols = [s for s in symbols if s in okx.raw.markets] or ["BTC/USDT"]
            prices = {s: (await okx.fetch_ticker(s)).last for s in symbols}
            latencies = []
            before = hits("/api/v5/trade/order")
            for i in range(ORDERS):
                symbol = symbols[i % len(symbols)]
                rules = await okx.rules(symbol)
                price = (prices[symbol] * Decimal("0.9")).quantize(rules.tick_size)
                amount = max(rules.min_size, rules.lot_size)
                start = time.perf_counter()
                await okx.create_order(symbol, "buy", amount, price, check_funds=False)
                latencies.append(time.perf_counter() - start)
            per_order = (hits("/api/v5/trade/order") - before) / ORDERS
            latencies.sort()
            figures["create_order p50 / p95"] = (
                f"{statistics.median(latencies) * 1000:.1f} / {latencies[int(len(latencies) * 0.95)] * 1000:.1f} ms"
            )
            figures["requests per order (POST + read-back)"] = f"{per_order:.1f}"
            await okx.cancel_all()

            before = hits("/api/v5/market/ticker")
            await asyncio.gather(*(okx.fetch_ticker("BTC/USDT") for _ in range(20)))
            figures["20 concurrent identical tickers -> requests"] = str(
                hits("/api/v5/market/ticker") - before
            )
    finally:
        sim.admin("POST", "/__sim__/clock", {"offsetMs": 0})

    async with OkxClient(ClientConfig(rest_url=sim.rest, cache_dir=cache / "a"), None) as warm:
        start = time.perf_counter()
        await warm.load_markets()
        figures["markets, from disk cache"] = f"{(time.perf_counter() - start) * 1000:.1f} ms"
    return figures


def main() -> None:
    from okxbot.sim.server import start_sim

    console = Console()
    table = Table(title="OKX client (okxbot.okx.client) against the simulator")
    table.add_column("measure")
    table.add_column("value", justify="right")

    helps = _help_seconds()
    table.add_row("okxbot --help, median of 7 (target < 0.3 s)", f"{statistics.median(helps):.3f} s")
    sim = start_sim(seed=11)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for name, value in asyncio.run(_client_figures(sim, Path(tmp))).items():
                table.add_row(name, value)
    finally:
        sim.stop()
    console.print(table)


if __name__ == "__main__":
    main()
