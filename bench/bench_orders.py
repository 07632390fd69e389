"""Order throughput under OKX's real rate limits: okxbot vs ccxt (default throttle) vs python-okx.

One simulator (its own process, OKX's limits enforced as sliding windows) serves every run. Each run
uses a fresh account and places limit buys far below the market, cancelling each as soon as it is
live, on 1, 5 and 20 instruments at once:

- okxbot: `OkxClient` with its in-memory limiter (one process);
- ccxt: `ccxt.async_support.okx` as users run it (enableRateLimit=True, one global bucket);
- python-okx: no throttle at all, loaded from threads;
- okxbot x4: four processes on one key sharing the Redis limiter (a throwaway redis-server).

Accepted orders/s counts orders OKX acknowledged within two full rate-limit windows (4 s) starting at
the first one. No client can beat the documented limit over whole windows, so "% of limit" reaches
100 only for a perfect client. The limit is 60 placements per 2 s per instrument (30/s), capped by
the sub-account budget of 1000 orders per 2 s (500/s): min(30 x instruments, 500) orders/s.
50011 counts every "rate limit reached" answer the simulator sent, retried or not.
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import urllib.request
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import ROUND_DOWN, Decimal
from typing import Any

from rich.console import Console
from rich.table import Table

INSTRUMENT_COUNTS = (1, 5, 20)
WINDOW_S = 2.0
MEASURE_S = 2 * WINDOW_S  # whole windows: over them the documented limit is a hard ceiling
RUN_S = MEASURE_S + 1.0  # the first acknowledgement arrives a little after the start
PER_INSTRUMENT_PER_S = 30  # POST trade/order: 60 per 2 s per instrument
SUB_ACCOUNT_PER_S = 500  # 1000 new orders per 2 s per sub-account
WORKERS_PER_INSTRUMENT = 4  # concurrent place->cancel loops per instrument (enough to keep a window full)
THREADS_PER_INSTRUMENT = 2  # python-okx is synchronous
PROCESSES = 4
RATE_LIMITED = ("50011", "50061")


def documented_limit(instruments: int) -> int:
    return min(PER_INSTRUMENT_PER_S * instruments, SUB_ACCOUNT_PER_S)


@dataclass(frozen=True)
class Spec:
    """One instrument to trade: a limit buy at half the last price (never fills), minimum size."""

    inst_id: str
    symbol: str
    px: Decimal
    sz: Decimal


@dataclass
class Tally:
    accepted: list[float] = field(default_factory=list)  # wall-clock time of each acknowledged order
    rate_limited: int = 0
    limited_paths: Counter[str] = field(default_factory=Counter)  # where the 50011s came from
    errors: Counter[str] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def saw(self, response: Any, path: str = "") -> None:
        """Count the rate-limit answers in one OKX response (top-level code or per-order sCode)."""
        if not isinstance(response, dict):
            return
        codes = [str(response.get("code", ""))]
        codes += [str(d.get("sCode", "")) for d in response.get("data") or [] if isinstance(d, dict)]
        if any(c in RATE_LIMITED for c in codes):
            with self.lock:
                self.rate_limited += 1
                self.limited_paths[path.split("?")[0].rsplit("/api/v5/", 1)[-1]] += 1

    def __getstate__(self) -> dict[str, Any]:  # sent back from the shared-key processes
        return {k: v for k, v in self.__dict__.items() if k != "lock"}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state, lock=threading.Lock())


@dataclass(frozen=True)
class Result:
    client: str
    instruments: int
    accepted: int
    rate_limited: int
    errors: str

    @property
    def per_second(self) -> float:
        return self.accepted / MEASURE_S

    @property
    def pct(self) -> float:
        return 100 * self.per_second / documented_limit(self.instruments)


def in_window(stamps: list[float]) -> int:
    if not stamps:
        return 0
    t0 = min(stamps)
    return sum(1 for t in stamps if t < t0 + MEASURE_S)


# ---- the simulator, in its own process so that clients and server do not share one GIL ----------


def _serve_sim(conn: Any) -> None:
    from okxbot.sim import server

    sim = server.start_sim(host="127.0.0.1", port=0, seed=7, config={"market": False})
    conn.send(sim.rest)
    conn.recv()
    sim.stop()


@contextmanager
def running_sim() -> Iterator[str]:
    ctx = multiprocessing.get_context("spawn")
    parent, child = ctx.Pipe()
    process = ctx.Process(target=_serve_sim, args=(child,), daemon=True)
    process.start()
    try:
        if not parent.poll(60):
            raise RuntimeError("the simulator did not start within 60 s")
        yield parent.recv()
    finally:
        parent.send("stop")
        process.join(10)
        if process.is_alive():
            process.terminate()


@contextmanager
def running_redis() -> Iterator[str | None]:
    exe = shutil.which("redis-server")
    if exe is None:
        yield None
        return
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    workdir = tempfile.mkdtemp(prefix="okxbot-bench-redis-")
    args = [exe, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    proc = subprocess.Popen([*args, "--dir", workdir], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        proc.wait(10)
        shutil.rmtree(workdir, ignore_errors=True)


def _get(rest: str, path: str) -> list[dict[str, Any]]:
    with urllib.request.urlopen(rest + path, timeout=10) as response:  # noqa: S310 (loopback URL)
        return json.loads(response.read())["data"]


def order_specs(rest: str) -> list[Spec]:
    """The simulator's spot instruments, USDT-quoted first, with a price that never fills."""
    last = {t["instId"]: Decimal(t["last"]) for t in _get(rest, "/api/v5/market/tickers?instType=SPOT")}
    specs = []
    for inst in _get(rest, "/api/v5/public/instruments?instType=SPOT"):
        tick = Decimal(inst["tickSz"])
        px = (last[inst["instId"]] / 2).quantize(tick, rounding=ROUND_DOWN)
        specs.append(Spec(inst["instId"], inst["instId"].replace("-", "/"), px, Decimal(inst["minSz"])))
    specs.sort(key=lambda s: not s.inst_id.endswith("-USDT"))
    return specs


def new_key(rest: str) -> dict[str, Any]:
    from okxbot.sim.server import admin_call

    body = {"balances": {"USDT": "100000000", "USDC": "100000000", "BTC": "1000"}, "perm": "read_only,trade"}
    return admin_call(rest, "POST", "/__sim__/keys", body)


# ---- the three clients ---------------------------------------------------------------------------


def _count_responses(exchange: Any, tally: Tally) -> None:
    # every ccxt response passes handle_errors, including the ones okxbot retries after a 50011
    original = exchange.handle_errors

    def counted(
        code: Any, reason: Any, url: Any, method: Any, headers: Any, body: Any, response: Any, *rest: Any
    ):
        tally.saw(response, str(url))
        return original(code, reason, url, method, headers, body, response, *rest)

    exchange.handle_errors = counted


async def _loops(
    specs: list[Spec], deadline: float, one: Callable[[Spec], Any], tally: Tally, per_instrument: int
) -> None:
    async def loop(spec: Spec) -> None:
        while time.time() < deadline:
            try:
                await one(spec)
            except Exception as exc:  # the benchmark counts failures, it does not stop on them
                tally.errors[type(exc).__name__] += 1

    await asyncio.gather(*(loop(s) for s in specs for _ in range(per_instrument)))


async def run_okxbot(rest: str, key: dict[str, Any], specs: list[Spec], limiter_url: str | None) -> Tally:
    from okxbot.okx.client import ClientConfig, OkxClient
    from okxbot.okx.ratelimit import limiter_from_url
    from okxbot.vault.secret import Credentials, Secret

    tally = Tally()
    creds = Credentials(Secret(key["apiKey"]), Secret(key["secretKey"]), Secret(key["passphrase"]))
    config = ClientConfig(rest_url=rest, disk_cache=False)
    limiter = limiter_from_url(limiter_url)
    try:
        async with OkxClient(config, creds, limiter=limiter) as client:
            _count_responses(client.raw, tally)
            await client.account_config()  # tells the limiter the uid
            await client.load_markets()

            async def one(spec: Spec) -> None:
                # as the order manager places while the orders channel reports state: no read-back GET
                order = await client.create_order(
                    spec.symbol, "buy", spec.sz, spec.px, check_funds=False, confirm=False
                )
                tally.accepted.append(time.time())
                await client.cancel_order(spec.symbol, order.order_id)

            await _loops(specs, time.time() + RUN_S, one, tally, WORKERS_PER_INSTRUMENT)
    finally:
        await limiter.close()
    return tally


async def run_ccxt(rest: str, key: dict[str, Any], specs: list[Spec]) -> Tally:
    import ccxt.async_support as ccxt_async

    tally = Tally()
    exchange = ccxt_async.okx(
        {
            "apiKey": key["apiKey"],
            "secret": key["secretKey"],
            "password": key["passphrase"],
            "enableRateLimit": True,  # ccxt's default: one global bucket for every endpoint
            "options": {"fetchMarkets": {"types": ["spot"]}},
        }
    )
    exchange.urls["api"] = dict(exchange.urls["api"], rest=rest)
    _count_responses(exchange, tally)
    try:
        await exchange.load_markets()

        async def one(spec: Spec) -> None:
            order = await exchange.create_order(spec.symbol, "limit", "buy", str(spec.sz), str(spec.px))
            tally.accepted.append(time.time())
            await exchange.cancel_order(order["id"], spec.symbol)

        await _loops(specs, time.time() + RUN_S, one, tally, WORKERS_PER_INSTRUMENT)
    finally:
        await exchange.close()
    return tally


def run_python_okx(rest: str, key: dict[str, Any], specs: list[Spec]) -> Tally:
    import okx.Trade as Trade

    tally = Tally()
    deadline = time.time() + RUN_S

    def loop(spec: Spec) -> None:
        api = Trade.TradeAPI(key["apiKey"], key["secretKey"], key["passphrase"], False, "0", domain=rest)
        try:
            while time.time() < deadline:
                try:
                    placed = api.place_order(
                        instId=spec.inst_id,
                        tdMode="cash",
                        side="buy",
                        ordType="limit",
                        sz=str(spec.sz),
                        px=str(spec.px),
                    )
                    tally.saw(placed, "trade/order")
                    if placed.get("code") != "0":
                        tally.errors[str(placed.get("code"))] += 1
                        continue
                    with tally.lock:
                        tally.accepted.append(time.time())
                    cancelled = api.cancel_order(instId=spec.inst_id, ordId=placed["data"][0]["ordId"])
                    tally.saw(cancelled, "trade/cancel-order")
                except Exception as exc:  # counted, not fatal
                    with tally.lock:
                        tally.errors[type(exc).__name__] += 1
        finally:
            api.close()

    threads = [
        threading.Thread(target=loop, args=(spec,), daemon=True)
        for spec in specs
        for _ in range(THREADS_PER_INSTRUMENT)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return tally


def _shared_worker(rest: str, key: dict[str, Any], specs: list[Spec], url: str, start_at: float) -> Tally:
    """One of the processes sharing a key through Redis (runs in a spawned process)."""

    async def run() -> Tally:
        await asyncio.sleep(max(0.0, start_at - time.time()))
        return await run_okxbot(rest, key, specs, url)

    return asyncio.run(run())


def _warm(_: int) -> None:
    import okxbot.okx.client  # noqa: F401  (pay the ccxt import once, before the timed runs)

    time.sleep(1.0)


def _errors(tally: Tally) -> str:
    limited = ", ".join(f"{path} {n}" for path, n in tally.limited_paths.most_common(2))
    others = ", ".join(f"{name} {n}" for name, n in tally.errors.most_common(2))
    return "; ".join(x for x in (f"rate-limited on {limited}" if limited else "", others) if x) or "-"


def main() -> None:
    console = Console(width=120)
    results: list[Result] = []
    with running_sim() as rest, running_redis() as redis_url:
        specs = order_specs(rest)
        if len(specs) < max(INSTRUMENT_COUNTS):
            console.print(f"[yellow]the simulator lists {len(specs)} spot instruments; runs are capped there")
        ctx = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(PROCESSES, mp_context=ctx) as pool:
            warm = [pool.submit(_warm, i) for i in range(PROCESSES)]
            for n in INSTRUMENT_COUNTS:
                chosen = specs[:n]
                tally = asyncio.run(run_okxbot(rest, new_key(rest), chosen, None))
                results.append(
                    Result("okxbot", n, in_window(tally.accepted), tally.rate_limited, _errors(tally))
                )
                tally = asyncio.run(run_ccxt(rest, new_key(rest), chosen))
                results.append(
                    Result("ccxt", n, in_window(tally.accepted), tally.rate_limited, _errors(tally))
                )
                tally = run_python_okx(rest, new_key(rest), chosen)
                results.append(
                    Result("python-okx", n, in_window(tally.accepted), tally.rate_limited, _errors(tally))
                )
                if redis_url is None:
                    console.print("[yellow]redis-server is not installed: the shared-key run is skipped")
                    continue
                for w in warm:
                    w.result()
                key = new_key(rest)
                url = f"{redis_url}?prefix=bench{uuid.uuid4().hex[:8]}"
                start_at = time.time() + 1.0
                futures = [
                    pool.submit(_shared_worker, rest, key, chosen, url, start_at) for _ in range(PROCESSES)
                ]
                tallies = [f.result() for f in futures]
                stamps = [t for tally in tallies for t in tally.accepted]
                merged = Tally(
                    errors=sum((t.errors for t in tallies), Counter()),
                    limited_paths=sum((t.limited_paths for t in tallies), Counter()),
                )
                results.append(
                    Result(
                        f"okxbot x{PROCESSES} (Redis)",
                        n,
                        in_window(stamps),
                        sum(t.rate_limited for t in tallies),
                        _errors(merged),
                    )
                )
    table = Table(
        title=f"place + cancel against the simulator, OKX limits, {MEASURE_S:.0f} s of whole windows"
    )
    for column in (
        "client",
        "instruments",
        "accepted orders/s",
        "limit/s",
        "% of limit",
        "50011/50061",
        "errors (top 2)",
    ):
        table.add_column(column, justify="left" if column in ("client", "errors (top 2)") else "right")
    for r in results:
        table.add_row(
            r.client,
            str(r.instruments),
            f"{r.per_second:.1f}",
            str(documented_limit(r.instruments)),
            f"{r.pct:.0f}%",
            str(r.rate_limited),
            r.errors,
        )
    console.print(table)
    by = {(r.client, r.instruments): r for r in results}
    top = max(INSTRUMENT_COUNTS)
    if ("okxbot", top) in by and by[("ccxt", top)].per_second > 0:
        ratio = by[("okxbot", top)].per_second / by[("ccxt", top)].per_second
        console.print(f"okxbot / ccxt at {top} instruments: {ratio:.1f}x   (cpu count {os.cpu_count()})")


if __name__ == "__main__":
    main()
