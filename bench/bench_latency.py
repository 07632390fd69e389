"""Tick-to-order latency of the grid, from the wire to the wire.

A real runner trades a grid against the simulator running in its own process, on the event loop
`okxbot run` uses (uvloop). Each round cancels the bot's outermost order, so its level is empty;
the next `tickers` frame the simulator pushes makes the grid refill it. The clock starts when that
frame's bytes come out of the WebSocket (before aiohttp parses the frame and ccxt decodes its
JSON) and stops when the transport has written the POST /api/v5/trade/order that carries the
refill: through ccxt.pro's parsing, the runner's dispatch, the strategy, the risk guard and funds
check, the journal's write-ahead commit (SQLite, WAL), the rate limiter, signing and the order lane
(okx.order_lane: the request written on a kept-alive connection, not through ccxt and aiohttp). The
timestamps are the ones `okxbot run`'s status view shows (okxbot.okx.wire, okxbot.trading.latency);
this benchmark only reads them. Goal: p99 < 2 ms, median < 1 ms. A control row times a fixed CPU
task in the same process between rounds: a tail the stages share with it is the machine's.
`--rounds N` (or OKXBOT_BENCH_LATENCY_ROUNDS; default 1000, ~8 rounds/s, paced by the simulator's
ticker pushes; 60 checks the benchmark in ~20 s).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
import timeit
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import httpx
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from bench.simproc import SimProcess, sim_process
from okxbot.cli.target import Target
from okxbot.okx.client import ClientConfig
from okxbot.okx.wire import WireProbe, _TimedReader, _TimedTransport
from okxbot.trading import eventloop
from okxbot.trading.config import BotConfig
from okxbot.trading.latency import STAGES, LatencyLog
from okxbot.trading.orders import OrderManager
from okxbot.trading.runner import Runner
from okxbot.vault.secret import Credentials, Secret

ROUNDS = int(os.environ.get("OKXBOT_BENCH_LATENCY_ROUNDS", "1000"))  # p99: the 10th-worst of 1,000


def _mid(sim: SimProcess) -> Decimal:
    with httpx.Client(base_url=sim.rest) as http:
        tick = http.get("/api/v5/market/ticker", params={"instId": "BTC-USDT"}).json()["data"][0]
    return (Decimal(tick["bidPx"]) + Decimal(tick["askPx"])) / 2


async def _wait(predicate: Callable[[], bool], seconds: float) -> None:
    """Poll the bot's plain state (no event to wait on) until `predicate` holds."""
    async with asyncio.timeout(seconds):
        while not predicate():  # noqa: ASYNC110 - polls plain state
            await asyncio.sleep(0.001)


def _fixed_work() -> int:
    """The noise control's task: the same CPU work every time (~0.1 ms on a quiet core)."""
    t0 = time.perf_counter_ns()
    total = Decimal(0)
    for i in range(300):
        total += Decimal(i) * Decimal("1.0001")
    return time.perf_counter_ns() - t0


async def _measure(
    sim: SimProcess, data_dir: Path, progress: Progress, rounds: int
) -> tuple[LatencyLog, list[int]]:
    key = sim.admin(
        "POST",
        "/__sim__/keys",
        {"perm": "read_only,trade", "ip": "127.0.0.1", "balances": {"USDT": "1000000", "BTC": "20"}},
    )
    creds = Credentials(Secret(key["apiKey"]), Secret(key["secretKey"]), Secret(key["passphrase"]))
    px = _mid(sim).quantize(Decimal("0.1"))
    step = (px * Decimal("0.004")).quantize(Decimal("0.1"))  # wide: the market does not fill it
    bot = BotConfig.model_validate(
        {
            "name": "bench-grid",
            "symbol": "BTC/USDT",
            "strategy": "grid",
            "grid": {"lower": str(px - 5 * step), "upper": str(px + 5 * step), "levels": 11, "size": "0.001"},
            "risk": {"max_orders_per_minute": 100000, "price_band_pct": "20"},
            "run": {"dead_man": False, "poll_seconds": 60},
        }
    )
    runner = Runner(
        bot,
        Target(creds, None, False, sim.rest, "trade", True),
        config_path=data_dir / "b.toml",
        data_dir=data_dir,
        client_config=ClientConfig(rest_url=sim.rest, disk_cache=False),
    )
    stop = asyncio.Event()
    task = asyncio.ensure_future(runner.run(stop, None))
    await _wait(lambda: runner.manager is not None and _resting(runner.manager) >= 10, 30)
    assert runner.manager is not None and runner.strategy is not None
    manager = runner.manager
    bar = progress.add_task("orders refilled by a ticker frame", total=rounds)
    control: list[int] = []
    for _ in range(rounds):
        # the outermost level: far from the mid, so the grid always quotes it again
        resting = [o for o in manager.open_orders() if o.state in ("live", "partially_filled")]
        victim = min(resting, key=lambda o: o.price or px)
        await manager.cancel(victim.client_order_id)
        await runner.core.queue.join()  # the strategy has seen the cancel: its level is empty
        runner.strategy.retry_after = 0.0  # type: ignore[attr-defined]
        placed = manager.stats.placed
        await _wait(lambda placed=placed: manager.stats.placed > placed, 10)
        await _wait(lambda: _resting(manager) >= 10, 10)
        control.append(_fixed_work())
        progress.advance(bar)
    stop.set()
    await task
    return manager.latency, control


def _resting(manager: OrderManager) -> int:
    """The bot's orders on the book (acknowledged; not in flight, not being canceled)."""
    return sum(o.state in ("live", "partially_filled") for o in manager.open_orders())


def _probe_overhead_us() -> tuple[float, float]:
    """What the always-on hooks cost (µs): per received chunk with one message, per socket write."""

    class Reader:
        def __init__(self, buffer: list[tuple[object, int]]) -> None:
            self.buffer = buffer

        def feed_data(self, data: bytes) -> tuple[bool, bytes]:
            self.buffer.append((data, 0))
            return False, b""

    class Transport:
        def write(self, data: bytes) -> None:
            pass

    n = 200_000
    plain_buffer: list[tuple[object, int]] = []
    timed_buffer: list[tuple[object, int]] = []
    plain, timed = Reader(plain_buffer), _TimedReader(Reader(timed_buffer), timed_buffer, {})
    probe = WireProbe()
    probe.frame_ns = 1
    message = {"arg": {"channel": "tickers", "instId": "BTC-USDT"}, "data": []}
    per_frame = (
        timeit.timeit(lambda: timed.feed_data(b"x"), number=n)
        - timeit.timeit(lambda: plain.feed_data(b"x"), number=n)
        + timeit.timeit(lambda: probe.note_message(message), number=n)
    )
    raw, wrapped = Transport(), _TimedTransport(Transport(), probe)
    per_write = timeit.timeit(lambda: wrapped.write(b"x"), number=n) - timeit.timeit(
        lambda: raw.write(b"x"), number=n
    )
    return per_frame / n * 1e6, per_write / n * 1e6


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.bench_latency",
        description="Grid tick-to-order latency, wire to wire: from a tickers frame coming out of the "
        "WebSocket to the bytes of the POST it caused being written, through okxbot run's real path, "
        "against the simulator in its own process; prints each stage and a CPU-noise control.",
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=ROUNDS,
        help=f"orders to time (default {ROUNDS}, OKXBOT_BENCH_LATENCY_ROUNDS; ~8/s; p99 needs >= 100)",
    )
    args = parser.parse_args([] if argv is None else argv)
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    console = Console()
    # The simulator runs in its own process: in-process, its market steps would hold the GIL and
    # show up as the bot's latency.
    with (
        sim_process(seed=7) as sim,
        tempfile.TemporaryDirectory() as tmp,
        Progress(console=console, transient=True) as progress,
    ):
        log, control = eventloop.run(_measure(sim, Path(tmp), progress, args.rounds))  # as `okxbot run` does
    table = Table(
        title=f"Grid tick-to-order latency, wire to wire ({len(log)} orders; goal: p99 < 2 ms, median < 1 ms)"
    )
    for col in ("stage", "median ms", "p99 ms", "max ms"):
        table.add_column(col, justify="left" if col == "stage" else "right")
    for i, (name, _) in enumerate(STAGES):
        table.add_row(
            name,
            f"{log.percentile_ms(0.5, i):.3f}",
            f"{log.percentile_ms(0.99, i):.3f}",
            f"{log.percentile_ms(1.0, i):.3f}",
        )
    table.add_row(
        "[bold]frame arrival -> request bytes written[/]",
        f"[bold]{log.percentile_ms(0.5):.3f}[/]",
        f"[bold]{log.percentile_ms(0.99):.3f}[/]",
        f"{log.percentile_ms(1.0):.3f}",
    )
    work = sorted(control)
    table.add_row(
        "[dim]control: a fixed CPU task in the same process[/]",
        f"[dim]{work[len(work) // 2] / 1e6:.3f}[/]",
        f"[dim]{work[min(len(work) - 1, int(0.99 * len(work)))] / 1e6:.3f}[/]",
        f"[dim]{work[-1] / 1e6:.3f}[/]",
    )
    console.print(table)
    for name, covers in STAGES:
        console.print(f"  {name}: {covers}")
    console.print("  (each stage's percentiles are its own: they do not add up to the total's)")
    console.print(
        "  control: the same work every round, timed between rounds; a tail it shares with the stages is "
        "the machine's (other processes, scheduling), not the bot's"
    )
    per_frame, per_write = _probe_overhead_us()
    console.print(
        f"measurement cost: {per_frame:.2f} µs per received frame, {per_write:.2f} µs per socket write"
    )


if __name__ == "__main__":
    main(sys.argv[1:])
