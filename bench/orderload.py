"""Place+cancel load generators for `bench_orders`: okxbot, ccxt and python-okx against one simulator.

Every generator places limit buys far below the market (they rest, never fill) and cancels each as
soon as its placement is acknowledged, for `duration_s` plus a little (so the last measured window is
full), and counts what the exchange answered in a `Tally` (`bench.ackwindows`).
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import urllib.request
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal
from typing import Any

from bench.ackwindows import ProcessCpu, Tally

TAIL_S = 1.0  # keep sending past the measured windows: the first request leaves a little after start
SINGLE_LOOPS = 4  # concurrent place->cancel loops per instrument on the single-order endpoint
MIXED_SINGLE_LOOPS = 2  # single-order loops per instrument when batches run beside them
BATCH_LOOPS = 3  # concurrent batch place->batch cancel loops per instrument
BATCH_SIZE = 20  # OKX's maximum orders per batch request
THREADS_PER_INSTRUMENT = 2  # python-okx is synchronous


@dataclass(frozen=True)
class Spec:
    """One instrument to trade: a limit buy at half the last price (never fills), minimum size."""

    inst_id: str
    symbol: str
    px: Decimal
    sz: Decimal

    def order(self) -> dict[str, str]:
        return {
            "instId": self.inst_id,
            "tdMode": "cash",
            "side": "buy",
            "ordType": "limit",
            "px": str(self.px),
            "sz": str(self.sz),
        }


# ---- the simulator and Redis, each in its own process ---------------------------------------------


def _serve_sim(conn: Any) -> None:
    from okxbot.sim import server

    sim = server.start_sim(host="127.0.0.1", port=0, seed=7, config={"market": False})
    conn.send(sim.rest)
    conn.recv()
    sim.stop()


@dataclass(frozen=True)
class Server:
    url: str
    pid: int


@contextmanager
def running_sim() -> Iterator[Server]:
    """The simulator in a process of its own, so that clients and server do not share one GIL."""
    ctx = multiprocessing.get_context("spawn")
    parent, child = ctx.Pipe()
    process = ctx.Process(target=_serve_sim, args=(child,), daemon=True)
    process.start()
    try:
        if not parent.poll(60):
            raise RuntimeError("the simulator did not start within 60 s")
        assert process.pid is not None
        yield Server(parent.recv(), process.pid)
    finally:
        parent.send("stop")
        process.join(10)
        if process.is_alive():
            process.terminate()


@contextmanager
def running_redis() -> Iterator[Server | None]:
    """A throwaway redis-server on a free port, or None when Redis is not installed."""
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
                time.sleep(0.05)  # polling a port that is not open yet: no event to wait on
        yield Server(f"redis://127.0.0.1:{port}/0", proc.pid)
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


# ---- clients ---------------------------------------------------------------------------------------


def _count_responses(exchange: Any, tally: Tally) -> None:
    # every ccxt response passes handle_errors, including the ones okxbot retries after a 50011
    original = exchange.handle_errors

    def counted(
        code: Any, reason: Any, url: Any, method: Any, headers: Any, body: Any, response: Any, *rest: Any
    ):
        tally.saw(response, str(url), str(method))
        return original(code, reason, url, method, headers, body, response, *rest)

    exchange.handle_errors = counted


async def _loops(deadline: float, loops: list[Callable[[], Awaitable[None]]], tally: Tally) -> None:
    async def loop(one: Callable[[], Awaitable[None]]) -> None:
        while time.time() < deadline:
            try:
                await one()
            except Exception as exc:  # the benchmark counts failures, it does not stop on them
                tally.error(type(exc).__name__)

    await asyncio.gather(*(loop(one) for one in loops))


async def run_okxbot(
    rest: str, key: dict[str, Any], specs: list[Spec], duration_s: float, limiter_url: str | None, batch: bool
) -> Tally:
    """okxbot's OkxClient on its limiter. Single: `create_order(confirm=False)` + `cancel_order`
    (POST trade/order + trade/cancel-order). With `batch`, beside those: the same limiter and ccxt's raw
    POST trade/batch-orders of 20, then trade/cancel-batch-orders of the accepted ones."""
    from okxbot.okx.client import ClientConfig, OkxClient
    from okxbot.okx.ratelimit import limiter_from_url
    from okxbot.vault.secret import Credentials, Secret

    tally = Tally()
    creds = Credentials(Secret(key["apiKey"]), Secret(key["secretKey"]), Secret(key["passphrase"]))
    limiter = limiter_from_url(limiter_url)
    cpu = ProcessCpu()
    try:
        async with OkxClient(ClientConfig(rest_url=rest, disk_cache=False), creds, limiter=limiter) as client:
            _count_responses(client.raw, tally)
            await client.account_config()  # tells the limiter the uid
            await client.load_markets()

            def single(spec: Spec) -> Callable[[], Awaitable[None]]:
                async def one() -> None:
                    # as the order manager places while the orders channel reports state: no read-back GET
                    tally.sending()
                    order = await client.create_order(
                        spec.symbol, "buy", spec.sz, spec.px, check_funds=False, confirm=False
                    )
                    await client.cancel_order(spec.symbol, order.order_id)

                return one

            def batched(spec: Spec) -> Callable[[], Awaitable[None]]:
                async def one() -> None:
                    tally.sending()
                    placed = await client.raw.privatePostTradeBatchOrders(
                        [spec.order() for _ in range(BATCH_SIZE)]
                    )
                    ids = [d["ordId"] for d in placed.get("data") or [] if d.get("sCode") == "0"]
                    if len(ids) > 1:
                        await client.raw.privatePostTradeCancelBatchOrders(
                            [{"instId": spec.inst_id, "ordId": i} for i in ids]
                        )
                    elif ids:
                        await client.raw.privatePostTradeCancelOrder(
                            {"instId": spec.inst_id, "ordId": ids[0]}
                        )

                return one

            loops = [single(s) for s in specs for _ in range(MIXED_SINGLE_LOOPS if batch else SINGLE_LOOPS)]
            if batch:
                loops += [batched(s) for s in specs for _ in range(BATCH_LOOPS)]
            cpu.start()
            await _loops(time.time() + duration_s + TAIL_S, loops, tally)
            tally.cpu_s = cpu.stop()
    finally:
        await limiter.close()
    return tally


async def run_ccxt(rest: str, key: dict[str, Any], specs: list[Spec], duration_s: float) -> Tally:
    """`ccxt.async_support.okx` as users run it (enableRateLimit=True: one global bucket): create_order
    (ccxt sends it to trade/batch-orders as a batch of one, which OKX charges as a single order) +
    cancel_order."""
    import ccxt.async_support as ccxt_async

    tally = Tally()
    exchange = ccxt_async.okx(
        {
            "apiKey": key["apiKey"],
            "secret": key["secretKey"],
            "password": key["passphrase"],
            "enableRateLimit": True,
            "options": {"fetchMarkets": {"types": ["spot"]}},
        }
    )
    exchange.urls["api"] = dict(exchange.urls["api"], rest=rest)
    _count_responses(exchange, tally)
    cpu = ProcessCpu()
    try:
        await exchange.load_markets()

        def single(spec: Spec) -> Callable[[], Awaitable[None]]:
            async def one() -> None:
                tally.sending()
                order = await exchange.create_order(spec.symbol, "limit", "buy", str(spec.sz), str(spec.px))
                await exchange.cancel_order(order["id"], spec.symbol)

            return one

        cpu.start()
        await _loops(
            time.time() + duration_s + TAIL_S, [single(s) for s in specs for _ in range(SINGLE_LOOPS)], tally
        )
        tally.cpu_s = cpu.stop()
    finally:
        await exchange.close()
    return tally


def run_python_okx(rest: str, key: dict[str, Any], specs: list[Spec], duration_s: float) -> Tally:
    """python-okx with no throttle at all (the negative control), from threads: place_order + cancel_order
    (POST trade/order + trade/cancel-order)."""
    import okx.Trade as Trade

    tally = Tally()
    deadline = time.time() + duration_s + TAIL_S

    def loop(spec: Spec) -> None:
        api = Trade.TradeAPI(key["apiKey"], key["secretKey"], key["passphrase"], False, "0", domain=rest)
        try:
            while time.time() < deadline:
                try:
                    tally.sending()
                    placed = api.place_order(**spec.order())
                    tally.saw(placed, "trade/order")
                    if placed.get("code") != "0":
                        tally.error(str(placed.get("code")))
                        continue
                    cancelled = api.cancel_order(instId=spec.inst_id, ordId=placed["data"][0]["ordId"])
                    tally.saw(cancelled, "trade/cancel-order")
                except Exception as exc:  # counted, not fatal
                    tally.error(type(exc).__name__)
        finally:
            api.close()

    threads = [
        threading.Thread(target=loop, args=(spec,), daemon=True)
        for spec in specs
        for _ in range(THREADS_PER_INSTRUMENT)
    ]
    cpu = ProcessCpu()
    cpu.start()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    tally.cpu_s = cpu.stop()
    return tally


def shared_worker(
    rest: str, key: dict[str, Any], specs: list[Spec], url: str, start_at: float, duration_s: float
) -> Tally:
    """One of the processes sharing a key through the Redis limiter (runs in a spawned process)."""

    async def run() -> Tally:
        await asyncio.sleep(max(0.0, start_at - time.time()))
        return await run_okxbot(rest, key, specs, duration_s, url, batch=False)

    return asyncio.run(run())


def warm(_: int) -> None:
    """Pay the ccxt import in a pool process before the timed runs."""
    import okxbot.okx.client  # noqa: F401

    time.sleep(1.0)  # hold this worker so that the pool starts one process per warm-up task
