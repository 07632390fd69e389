"""Run the simulator in-process: an aiohttp server on a background thread with its own event loop.

    sim = start_sim(host="127.0.0.1", port=0, seed=7)   # returns when the port accepts connections
    sim = start_sim(..., realism={"lateExecMs": 400, ...})   # OKX's asynchrony (okxbot.sim.realism)
    sim.rest, sim.ws, sim.keys, sim.admin("POST", "/__sim__/clock", {"offsetMs": 40000}), sim.stop()

The same function backs `okxbot sim serve`. Everything that touches the exchange runs on that
loop's thread (the engine is single-threaded); `RunningSim.call` runs a function there for tests.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import threading
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from concurrent.futures import Future
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar

from aiohttp import web

from okxbot.sim.app import build_app
from okxbot.sim.auth import TIMESTAMP_WINDOW_MS, KeyStore
from okxbot.sim.clock import Clock
from okxbot.sim.context import SimContext
from okxbot.sim.engine import Exchange
from okxbot.sim.faults import FaultPlan
from okxbot.sim.funding_account import FundingLedger
from okxbot.sim.instruments import InstrumentSet
from okxbot.sim.limits import Limiter
from okxbot.sim.market import SyntheticMarket
from okxbot.sim.realism import Realism

log = logging.getLogger("okxbot.sim")
T = TypeVar("T")

DEFAULT_BALANCES = {"USDT": "100000", "USDC": "50000", "BTC": "2", "ETH": "30"}


@dataclass(frozen=True)
class SimConfig:
    """What `start_sim(config=...)` and `okxbot sim serve --config FILE` accept."""

    balances: dict[str, Decimal] = field(default_factory=lambda: _decimals(DEFAULT_BALANCES, "balances"))
    demo_balances: dict[str, Decimal] = field(
        default_factory=lambda: _decimals(DEFAULT_BALANCES, "demo_balances")
    )
    market: bool = True  # run the synthetic market (background liquidity, moving prices)
    step_ms: int = 100  # period of the market step and the dead-man switch check
    timestamp_window_ms: int = TIMESTAMP_WINDOW_MS
    account_level: str = "1"  # acctLv of the ready keys' accounts: "1" Spot mode, "2" Futures mode

    @classmethod
    def from_mapping(cls, raw: Mapping[str, Any] | None) -> SimConfig:
        if raw is None:
            return cls()
        known = {"balances", "demo_balances", "market", "step_ms", "timestamp_window_ms", "account_level"}
        unknown = set(raw) - known
        if unknown:
            raise ValueError(f"unknown simulator setting(s) {sorted(unknown)}; known: {sorted(known)}")
        kwargs: dict[str, Any] = {}
        for name in ("balances", "demo_balances"):
            if name in raw:
                kwargs[name] = _decimals(raw[name], name)
        if "market" in raw:
            if not isinstance(raw["market"], bool):
                raise ValueError("market must be true or false")
            kwargs["market"] = raw["market"]
        if "account_level" in raw:
            level = str(raw["account_level"])
            if level not in ("1", "2"):
                raise ValueError('account_level must be "1" (Spot mode) or "2" (Futures mode)')
            kwargs["account_level"] = level
        for name in ("step_ms", "timestamp_window_ms"):
            if name in raw:
                value = raw[name]
                if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                    raise ValueError(f"{name} must be a positive integer (milliseconds), got {value!r}")
                kwargs[name] = value
        return cls(**kwargs)


def _decimals(raw: Any, name: str) -> dict[str, Decimal]:
    if not isinstance(raw, Mapping):
        raise ValueError(f'{name} must be a table of currency = "amount", e.g. {{USDT = "100000"}}')
    out: dict[str, Decimal] = {}
    for ccy, amount in raw.items():
        try:
            value = Decimal(str(amount))
        except InvalidOperation:
            raise ValueError(f"{name}.{ccy} must be a decimal amount, got {amount!r}") from None
        if not value.is_finite() or value < 0:
            raise ValueError(f"{name}.{ccy} must be a finite amount >= 0, got {amount!r}")
        out[str(ccy).upper()] = value
    return out


@dataclass
class RunningSim:
    rest: str
    ws: str
    keys: list[dict[str, Any]]
    ctx: SimContext
    _loop: asyncio.AbstractEventLoop
    _thread: threading.Thread
    _stopped: asyncio.Event
    _done: threading.Event

    @property
    def port(self) -> int:
        return int(self.rest.rsplit(":", 1)[1])

    def admin(self, method: str, path: str, json: Any = None) -> dict[str, Any]:
        """Call the admin API over HTTP; raises RuntimeError with the simulator's message on 4xx."""
        return admin_call(self.rest, method, path, json)

    def call(self, fn: Callable[[], T]) -> T:
        """Run `fn` on the simulator's loop thread (where the engine lives) and return its result."""
        future: Future[T] = Future()

        def run() -> None:
            try:
                future.set_result(fn())
            except BaseException as err:
                future.set_exception(err)

        self._loop.call_soon_threadsafe(run)
        return future.result(timeout=10)

    def stop(self) -> None:
        if self._done.is_set():
            return
        self._loop.call_soon_threadsafe(self._stopped.set)
        self._done.wait(timeout=10)
        self._thread.join(timeout=10)

    def wait(self) -> None:
        """Block until the server stops (used by `okxbot sim serve`)."""
        self._done.wait()

    def __enter__(self) -> RunningSim:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def admin_call(base: str, method: str, path: str, body: Any = None) -> dict[str, Any]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(base + path, data=data, method=method.upper())  # noqa: S310 (loopback URL)
    if data is not None or method.upper() not in ("GET", "HEAD"):
        # the admin API takes state changes only as JSON, bodiless ones included (sim.admin_gate)
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            return json.loads(response.read())
    except urllib.error.HTTPError as err:
        detail = err.read().decode(errors="replace")
        try:
            detail = json.loads(detail)["error"]
        except (ValueError, KeyError, TypeError):
            pass  # not the admin API's own error object: show the body as it came
        raise RuntimeError(f"admin {method} {path} failed with HTTP {err.code}: {detail}") from None


def build_context(seed: int, config: SimConfig) -> SimContext:
    clock = Clock()
    exchange = Exchange(clock, InstrumentSet(), seed)
    market = SyntheticMarket(exchange, seed) if config.market else None
    return SimContext(
        clock=clock,
        exchange=exchange,
        keystore=KeyStore(clock.now_ms, config.timestamp_window_ms),
        limiter=Limiter(),
        faults=FaultPlan(),
        market=market,
        seed=seed,
        funding=FundingLedger(exchange, seed),
    )


def start_sim(
    host: str = "127.0.0.1",
    port: int = 0,
    seed: int = 7,
    config: SimConfig | Mapping[str, Any] | None = None,
    realism: Mapping[str, Any] | None = None,
) -> RunningSim:
    """Start a simulator on a background thread; return once it accepts connections.

    Two keys are ready: a live one and a demo one, both "read_only,trade", bound to 127.0.0.1, each on
    its own funded account. `realism` turns on OKX's asynchrony, in the admin API's spelling
    (`POST /__sim__/realism`, `okxbot.sim.realism`); a bad value raises ValueError before anything starts.
    """
    cfg = config if isinstance(config, SimConfig) else SimConfig.from_mapping(config)
    if realism:
        Realism().updated(realism)  # refuse bad settings here, in the caller's thread
    ready: Future[RunningSim] = Future()
    done = threading.Event()
    loop = _new_loop()

    async def serve() -> None:
        stopped = asyncio.Event()
        ctx = build_context(seed, cfg)
        if realism:
            ctx.asynchrony.configure(realism)
        live_uid = ctx.exchange.create_account(cfg.balances, demo=False)
        demo_uid = ctx.exchange.create_account(cfg.demo_balances, demo=True)
        if cfg.account_level != "1":
            for uid in (live_uid, demo_uid):
                ctx.exchange.force_account_level(uid, cfg.account_level)
        keys = [
            ctx.keystore.create(live_uid, label="live", ip="127.0.0.1"),
            ctx.keystore.create(
                demo_uid,
                label="demo",
                ip="127.0.0.1",
                demo=True,
            ),
        ]
        app = build_app(ctx)
        runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await runner.setup()
        background: asyncio.Task[None] | None = None
        try:
            site = web.TCPSite(runner, host, port, reuse_address=True)
            await site.start()
            bound = _bound_port(runner, port)
            shown = f"[{host}]" if ":" in host else host
            background = asyncio.create_task(_background(ctx, cfg.step_ms))
            ready.set_result(
                RunningSim(
                    rest=f"http://{shown}:{bound}",
                    ws=f"ws://{shown}:{bound}/ws/v5",
                    keys=[k.wire() for k in keys],
                    ctx=ctx,
                    _loop=loop,
                    _thread=thread,
                    _stopped=stopped,
                    _done=done,
                )
            )
            await stopped.wait()
        finally:
            # Also when binding failed: the app's own background tasks (WebSocket hub) must stop.
            if background is not None:
                background.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await background
            await runner.cleanup()

    def run() -> None:
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(serve())
        except BaseException as err:
            if not ready.done():
                ready.set_exception(err)
            else:
                log.exception("simulator stopped with an error")
        finally:
            _cancel_leftovers(loop)
            loop.close()
            done.set()

    thread = threading.Thread(target=run, name=f"okxbot-sim-{seed}", daemon=True)
    thread.start()
    return ready.result(timeout=30)


def _cancel_leftovers(loop: asyncio.AbstractEventLoop) -> None:
    """Cancel what is still running (open WebSocket handlers, say) so that closing the loop is quiet."""
    pending = [task for task in asyncio.all_tasks(loop) if not task.done()]
    for task in pending:
        task.cancel()
    if pending:
        loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))


def _new_loop() -> asyncio.AbstractEventLoop:
    """uvloop where it is installed (it roughly halves the server's per-request overhead)."""
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


def _bound_port(runner: web.AppRunner, requested: int) -> int:
    for address in runner.addresses:
        if isinstance(address, tuple) and len(address) >= 2:
            return int(address[1])
    return requested


async def _background(ctx: SimContext, step_ms: int) -> None:
    """The market's step, the exchange's tick and the cancel-all-after switch, every `step_ms`."""
    from okxbot.sim.endpoints import fire_dead_man_switches

    while True:
        await asyncio.sleep(step_ms / 1000)
        try:
            if ctx.market is not None:
                ctx.market.step()
            ctx.exchange.tick()  # marks, funding, liquidations
            fire_dead_man_switches(ctx)
        except Exception:
            # A bug in one step must not silently stop prices and the dead-man switch for good.
            log.exception("simulator background step failed")
