"""Order throughput under OKX's real rate limits, measured the hard way: okxbot vs ccxt vs python-okx.

    python -m bench.bench_orders [--duration 30] [--instruments 1,5,20] [--runs okxbot,ccxt,...]

One simulator (its own process, OKX's limits enforced as sliding windows on each request's arrival)
serves every run. Each run uses a fresh account and places limit buys far below the market on 1, 5
and 20 spot instruments at once, cancelling each as soon as it is acknowledged:

- okxbot: `OkxClient` with its in-memory limiter, POST trade/order + trade/cancel-order;
- ccxt: `ccxt.async_support.okx` as users run it (enableRateLimit=True, one global bucket);
- python-okx: no throttle at all, from threads (the negative control: it can reach the limit, never
  more, so a figure above 100 % would mean the measure is wrong);
- okxbot x4 (Redis): four processes on one key sharing the Redis limiter, single-order endpoint;
- okxbot single+batch: the same limiter, POST trade/order beside trade/batch-orders of 20 (cancels:
  trade/cancel-order and trade/cancel-batch-orders), which OKX limits in independent buckets.

The measure (`bench.ackwindows`): accepted orders dated by the exchange's inTime, in whole 2 s windows
from the first request sent, for `--duration` seconds (default 30 = 15 windows); the mean and the
lowest window are printed. Limits (spot orders are exempt from the 1000 / 2 s sub-account budget):
single-order endpoint 60 per 2 s per instrument = 30 orders/s; with the batch endpoint's own 300
orders per 2 s, 180 orders/s per instrument. 50011/50061 counts every rate-limit answer the client got.
CPU: client CPU-seconds per 1,000 accepted orders (the placements with their cancels), the
simulator's (and Redis's) likewise, and the ceiling those imply on this machine's cores. Its control:
the share of the cores' time client and servers used over the run; a goal missed is put down to the
CPU only when the cores were at least 85 % busy (otherwise the ceiling is not real and the run fails).
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import sys
import time
import uuid
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from bench.ackwindows import WINDOW_US, Tally, Windows, merge, pid_cpu_s, windows
from bench.orderload import (
    Server,
    Spec,
    new_key,
    order_specs,
    run_ccxt,
    run_okxbot,
    run_python_okx,
    running_redis,
    running_sim,
    shared_worker,
    warm,
)

INSTRUMENT_COUNTS = (1, 5, 20)
SINGLE_PER_INSTRUMENT_S = 30  # POST trade/order: 60 per 2 s per instrument
BATCH_PER_INSTRUMENT_S = 150  # POST trade/batch-orders: 300 orders per 2 s per instrument
PROCESSES = 4
BUSY_FOR_A_CEILING = 0.85  # a CPU ceiling is named only when the cores were at least this busy


@dataclass(frozen=True)
class Run:
    name: str  # as given to --runs
    label: str  # the exact path measured
    per_instrument_s: int  # OKX's limit per instrument for this path, orders/s
    goal: float | None  # fraction of the limit okxbot must reach; None: a comparison or a control


RUNS = (
    Run(
        "okxbot",
        "okxbot OkxClient, memory limiter: POST trade/order + trade/cancel-order",
        SINGLE_PER_INSTRUMENT_S,
        0.95,
    ),
    Run(
        "ccxt",
        "ccxt okx, default throttle: POST trade/batch-orders of 1 (= single) + trade/cancel-order",
        SINGLE_PER_INSTRUMENT_S,
        None,
    ),
    Run(
        "python-okx",
        "python-okx, no throttle (negative control): POST trade/order + trade/cancel-order",
        SINGLE_PER_INSTRUMENT_S,
        None,
    ),
    Run(
        "redis",
        f"okxbot OkxClient x{PROCESSES} processes, one key, Redis limiter: POST trade/order + trade/cancel-order",
        SINGLE_PER_INSTRUMENT_S,
        0.90,
    ),
    Run(
        "batch",
        "okxbot limiter + ccxt raw calls: POST trade/order + trade/batch-orders of 20;"
        " trade/cancel-order + trade/cancel-batch-orders",
        SINGLE_PER_INSTRUMENT_S + BATCH_PER_INSTRUMENT_S,
        0.90,
    ),
)


@dataclass(frozen=True)
class Result:
    run: Run
    instruments: int
    windows: Windows
    tally: Tally
    server_cpu_s: float | None  # simulator (+ Redis) over the run
    wall_s: float  # the run's wall-clock time, start-up included (the control of a CPU ceiling)

    @property
    def limit_s(self) -> int:
        return self.run.per_instrument_s * self.instruments

    def pct(self, per_second: float) -> float:
        return 100 * per_second / self.limit_s

    def per_1k(self, cpu_s: float | None) -> float | None:
        if cpu_s is None or not self.windows.total_accepted:
            return None
        return 1000 * cpu_s / self.windows.total_accepted

    def ceiling_s(self, cores: int) -> float | None:
        """Orders/s this machine's cores could carry, client and servers together, at the CPU per order
        measured in this run."""
        if self.server_cpu_s is None or not self.windows.total_accepted:
            return None
        per_order = (self.tally.cpu_s + self.server_cpu_s) / self.windows.total_accepted
        return cores / per_order if per_order > 0 else None

    def busy(self, cores: int) -> float | None:
        """Share of the cores' time the client and servers used over the run: the control of a CPU
        ceiling (a ceiling is real only when the cores were nearly all busy)."""
        if self.server_cpu_s is None or self.wall_s <= 0:
            return None
        return (self.tally.cpu_s + self.server_cpu_s) / (cores * self.wall_s)


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def _cpu(*pids: int) -> float | None:
    readings = [pid_cpu_s(pid) for pid in pids]
    return None if any(r is None for r in readings) else sum(r for r in readings if r is not None)


def _run_one(
    run: Run,
    sim: Server,
    redis: Server | None,
    specs: list[Spec],
    duration_s: float,
    pool: ProcessPoolExecutor,
) -> Tally | None:
    rest = sim.url
    if run.name == "okxbot":
        return asyncio.run(run_okxbot(rest, new_key(rest), specs, duration_s, None, batch=False))
    if run.name == "batch":
        return asyncio.run(run_okxbot(rest, new_key(rest), specs, duration_s, None, batch=True))
    if run.name == "ccxt":
        return asyncio.run(run_ccxt(rest, new_key(rest), specs, duration_s))
    if run.name == "python-okx":
        return run_python_okx(rest, new_key(rest), specs, duration_s)
    if redis is None:
        return None
    key = new_key(rest)
    url = f"{redis.url}?prefix=bench{uuid.uuid4().hex[:8]}"
    start_at = time.time() + 1.0
    futures = [
        pool.submit(shared_worker, rest, key, specs, url, start_at, duration_s) for _ in range(PROCESSES)
    ]
    return merge([f.result() for f in futures])


def measure(
    runs: list[Run], counts: list[int], duration_s: float, console: Console
) -> tuple[list[Result], list[str]]:
    n_windows = int(duration_s * 1e6 // WINDOW_US)
    results: list[Result] = []
    notes: list[str] = []
    with running_sim() as sim, running_redis() as redis:
        specs = order_specs(sim.url)
        if len(specs) < max(counts):
            notes.append(f"the simulator lists {len(specs)} spot instruments; runs are capped there")
        if redis is None and any(r.name == "redis" for r in runs):
            notes.append("redis-server is not installed: the shared-key run is skipped")
        ctx = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(PROCESSES, mp_context=ctx) as pool, Progress(console=console) as progress:
            warming = [pool.submit(warm, i) for i in range(PROCESSES)]
            task = progress.add_task("place + cancel", total=len(runs) * len(counts))
            for n in counts:
                for run in runs:
                    progress.update(task, description=f"{run.name}, {n} instrument(s), {duration_s:.0f} s")
                    if run.name == "redis":
                        for w in warming:
                            w.result()
                    pids = [sim.pid] + ([redis.pid] if redis is not None and run.name == "redis" else [])
                    before = _cpu(*pids)
                    started = time.monotonic()
                    tally = _run_one(run, sim, redis, specs[:n], duration_s, pool)
                    wall = time.monotonic() - started
                    after = _cpu(*pids)
                    progress.advance(task)
                    if tally is None:
                        continue
                    server = after - before if after is not None and before is not None else None
                    results.append(Result(run, n, windows(tally, n_windows), tally, server, wall))
    return results, notes


def _limited(tally: Tally) -> str:
    if not tally.rate_limited:
        return "0"
    top = tally.limited_paths.most_common(1)[0]
    return f"{tally.rate_limited:,} ({top[1]:,} {top[0]})"


def _errors(tally: Tally) -> str:
    others = [(name, n) for name, n in tally.errors.most_common() if name not in ("50011", "50061")]
    return ", ".join(f"{name} {n:,}" for name, n in others[:2]) or "-"


def _fmt(value: float | None, spec: str) -> str:
    return "n/a" if value is None else format(value, spec)


def report(results: list[Result], notes: list[str], duration_s: float, console: Console) -> None:
    cores = _cores()
    n_windows = int(duration_s * 1e6 // WINDOW_US)
    table = Table(
        title=f"place + cancel against the simulator at OKX's limits: {n_windows} whole 2 s windows from the"
        " first request, acknowledgements dated by the exchange (inTime), spot instruments",
        show_lines=True,
    )
    columns = (
        "path measured",
        "instr.",
        "limit /s",
        "accepted /s: mean (lowest window)",
        "% of limit: mean (lowest)",
        "50011 / 50061",
        "CPU s per 1k orders: client / sim (+Redis)",
        f"CPU ceiling /s ({cores} cores)",
        "cores busy (control)",
        "other errors",
    )
    for column in columns:
        table.add_column(
            column,
            justify="left" if column in ("path measured", "other errors") else "right",
            min_width=40 if column == "path measured" else None,
        )
    order = {run.name: i for i, run in enumerate(RUNS)}
    for r in sorted(results, key=lambda r: (order[r.run.name], r.instruments)):
        w = r.windows
        table.add_row(
            r.run.label,
            str(r.instruments),
            f"{r.limit_s:,}",
            f"{w.per_second:,.1f} ({w.lowest_per_second:,.1f})",
            f"{r.pct(w.per_second):.1f}% ({r.pct(w.lowest_per_second):.1f}%)",
            _limited(r.tally),
            f"{_fmt(r.per_1k(r.tally.cpu_s), '.3f')} / {_fmt(r.per_1k(r.server_cpu_s), '.3f')}",
            _fmt(r.ceiling_s(cores), ",.0f"),
            "n/a" if r.busy(cores) is None else f"{100 * (r.busy(cores) or 0):.0f}%",
            _errors(r.tally),
        )
    console.print(table)
    for note in notes:
        console.print(f"[yellow]{note}")
    for r in sorted(results, key=lambda r: (order[r.run.name], r.instruments)):
        console.print(_verdict(r, cores))
    by = {(r.run.name, r.instruments): r for r in results}
    top = max((r.instruments for r in results), default=0)
    ours, theirs = by.get(("okxbot", top)), by.get(("ccxt", top))
    if ours is not None and theirs is not None and theirs.windows.per_second > 0:
        ratio = ours.windows.per_second / theirs.windows.per_second
        console.print(f"okxbot / ccxt at {top} instruments: {ratio:.1f}x")


def _verdict(r: Result, cores: int) -> str:
    name = f"{r.run.name} at {r.instruments} instrument(s)"
    pct = r.pct(r.windows.per_second)
    if r.run.name == "python-okx":
        if pct > 100.0 or any(c > r.limit_s * WINDOW_US / 1e6 for c in r.windows.counts):
            return f"[red]negative control FAILED: {name} shows {pct:.1f}% (> 100 %): the measure is wrong"
        return (
            f"negative control: {name}, unthrottled, shows {pct:.1f}% (never above 100 %): the measure holds"
        )
    if r.run.goal is None:
        return f"{name}: {pct:.1f}% of the limit (comparison)"
    goal_s = r.run.goal * r.limit_s
    limited = r.tally.rate_limited
    status = f"{name}: {pct:.1f}% of the limit, goal {100 * r.run.goal:.0f}% with 0 x 50011/50061"
    if pct >= 100 * r.run.goal and limited == 0:
        return f"[green]{status}: met"
    ceiling = r.ceiling_s(cores)
    client = r.per_1k(r.tally.cpu_s)
    server = r.per_1k(r.server_cpu_s)
    busy = r.busy(cores)
    if ceiling is not None and ceiling < goal_s and client is not None and server is not None:
        if busy is None or busy < BUSY_FOR_A_CEILING:
            return (
                f"[red]{status}: NOT met, and not for want of CPU: the cores were "
                f"{'n/a' if busy is None else f'{100 * busy:.0f} %'} busy ({limited} rate-limit answers)"
            )
        return (
            f"[yellow]{status}: bound by CPU, not by the limiter: the goal needs {goal_s:,.0f} orders/s, this"
            f" machine's {cores} cores carry about {ceiling:,.0f} (client {client:.3f} + servers {server:.3f}"
            f" CPU-seconds per 1,000 orders); control: the cores were {100 * busy:.0f} % busy"
        )
    return f"[red]{status}: NOT met ({limited} rate-limit answers)"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.bench_orders",
        description="Place+cancel throughput at OKX's rate limits against the simulator: okxbot (one process,"
        " four processes on Redis, single+batch endpoints) vs ccxt vs python-okx (no throttle, the negative"
        " control). Acknowledgements are dated by the exchange and counted in whole 2 s windows.",
    )
    parser.add_argument(
        "--duration",
        type=float,
        default=30.0,
        help="seconds measured per run, in whole 2 s windows (default 30 = 15 windows; use 4 for a quick check)",
    )
    parser.add_argument(
        "--instruments",
        default=",".join(map(str, INSTRUMENT_COUNTS)),
        help="instrument counts to run, comma-separated (default 1,5,20)",
    )
    parser.add_argument(
        "--runs",
        default=",".join(r.name for r in RUNS),
        help=f"which runs, comma-separated, from: {', '.join(r.name for r in RUNS)} (default: all)",
    )
    args = parser.parse_args([] if argv is None else argv)
    wanted = [name.strip() for name in args.runs.split(",") if name.strip()]
    unknown = [name for name in wanted if name not in {r.name for r in RUNS}]
    if unknown or args.duration < 2:
        parser.error(
            f"unknown run(s) {', '.join(unknown)}; choose from {', '.join(r.name for r in RUNS)}"
            if unknown
            else "--duration must be at least 2 (one whole window)"
        )
    try:
        counts = [int(c) for c in args.instruments.split(",") if c.strip()]
    except ValueError:
        parser.error(
            f"--instruments takes whole numbers separated by commas, e.g. 1,5,20 (got {args.instruments})"
        )
    if not counts or min(counts) < 1:
        parser.error("--instruments needs at least one count >= 1, e.g. 1,5,20")
    runs = [r for r in RUNS if r.name in wanted]
    console = Console(width=220)
    results, notes = measure(runs, counts, args.duration, console)
    report(results, notes, args.duration, console)


if __name__ == "__main__":
    main(sys.argv[1:])
