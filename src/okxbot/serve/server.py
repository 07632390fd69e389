"""Assemble and run `okxbot serve`: database, supervisor, HTTP server (uvicorn), all in one event loop.

`run_serve(options)` runs until SIGINT/SIGTERM, then stops the bots cleanly. `start_serve(options)`
runs the same in a background thread and returns a handle (tests, benchmarks).

Binding: 127.0.0.1 by default. Any other address needs `expose=True` and either TLS (a certificate
and key the user supplies) or `behind_tls_proxy=True` (a reverse proxy terminates TLS; printed as a
warning, since plain HTTP on a network would carry the session cookie in the clear).
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import signal
import threading
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from okxbot.serve.access import AccessStore
from okxbot.serve.app import build_app
from okxbot.serve.botlogs import BotLogs
from okxbot.serve.botlogs import install as install_logs
from okxbot.serve.botlogs import uninstall as uninstall_logs
from okxbot.serve.context import ServeContext
from okxbot.serve.db import database_url, open_engine
from okxbot.serve.journal_views import JournalViews
from okxbot.serve.metrics import Metrics
from okxbot.serve.posture_watch import PostureWatch
from okxbot.serve.registry import Registry
from okxbot.serve.supervisor import Supervisor, SupervisorConfig, default_sid

log = logging.getLogger("okxbot.serve")


class ServeRefused(ValueError):
    """Options `okxbot serve` will not run with; the message says what to change."""


@dataclass
class ServeOptions:
    home: Path
    host: str = "127.0.0.1"
    port: int = 8765
    db_url: str | None = None
    redis_url: str | None = None
    tls_cert: Path | None = None
    tls_key: Path | None = None
    expose: bool = False
    behind_tls_proxy: bool = False
    public_hosts: tuple[str, ...] = ()
    sid: str | None = None
    bot_logs: bool = True
    supervisor: dict[str, Any] = field(default_factory=dict)  # SupervisorConfig overrides (tests)
    client_options: dict[str, Any] = field(default_factory=dict)  # ClientConfig overrides (tests)
    alerts: dict[str, Any] = field(default_factory=dict)  # okxbot.serve.alerts.AlertOptions overrides

    @property
    def tls(self) -> bool:
        return self.tls_cert is not None

    @property
    def scheme(self) -> str:
        return "https" if self.tls else "http"


def check_binding(options: ServeOptions) -> list[str]:
    """Refuse unsafe binds; return the warnings to print."""
    if (options.tls_cert is None) != (options.tls_key is None):
        raise ServeRefused("give both --tls-cert and --tls-key (PEM files), or neither")
    for path in (options.tls_cert, options.tls_key):
        if path is not None and not path.is_file():
            raise ServeRefused(f"{path} is not a file: give the PEM certificate and its private key")
    if _loopback(options.host):
        return []
    if not options.expose:
        raise ServeRefused(
            f"{options.host} is not a loopback address: anyone who reaches it could try to log in. "
            "Add --expose to mean it, with --tls-cert/--tls-key (or --behind-tls-proxy if a reverse "
            "proxy provides HTTPS); or keep the default 127.0.0.1 and use an SSH tunnel"
        )
    if options.tls:
        return []
    if not options.behind_tls_proxy:
        raise ServeRefused(
            f"serving {options.host} without TLS would send the password and the session cookie in "
            "the clear: give --tls-cert and --tls-key, or --behind-tls-proxy when a reverse proxy in "
            "front provides HTTPS"
        )
    return [
        "WARNING: okxbot serve speaks plain HTTP on a non-loopback address. Only a reverse proxy that "
        "terminates TLS may reach it; anything else on this network can read the session cookie."
    ]


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def allowed_hosts(options: ServeOptions) -> frozenset[str]:
    hosts = {"127.0.0.1", "localhost", "[::1]", *options.public_hosts}
    if not _loopback(options.host) and options.host not in ("0.0.0.0", "::"):
        hosts.add(options.host if ":" not in options.host else f"[{options.host}]")
    return frozenset(h.lower() for h in hosts)


@dataclass
class Running:
    """A started `okxbot serve` (thread or foreground)."""

    url: str
    ctx: ServeContext
    app: Any
    loop: asyncio.AbstractEventLoop
    stop: Callable[[], None]

    def call(self, fn: Callable[[], Any], timeout: float = 30.0) -> Any:
        """Run a coroutine function on the server's loop and return its result (tests)."""
        return asyncio.run_coroutine_threadsafe(fn(), self.loop).result(timeout)


async def build(options: ServeOptions) -> tuple[ServeContext, Any, Metrics]:
    url = database_url(options.db_url, options.home)
    engine = open_engine(url)
    registry = Registry(engine)
    sid = options.sid or default_sid(options.home)
    scheme_host = f"{options.scheme}://{options.host}:{options.port}"
    sup_config = SupervisorConfig(
        sid=sid,
        data_dir=options.home,
        journal_url=url,
        api_url=scheme_host,
        rate_limit_url=options.redis_url,
        client_options=dict(options.client_options),
        **options.supervisor,
    )
    metrics = Metrics()
    supervisor = Supervisor(registry, sup_config, observer=metrics)
    logs: BotLogs | None = install_logs(options.home / "logs") if options.bot_logs else None
    ctx = ServeContext(
        supervisor=supervisor,
        registry=registry,
        access=AccessStore(engine),
        journal=JournalViews(engine),
        metrics=metrics,
        posture=PostureWatch(supervisor),
        logs=logs,
        home=options.home,
        tls=options.tls or options.behind_tls_proxy,
        allowed_hosts=allowed_hosts(options),
    )
    supervisor.on_panic = _panic_responder(sid, options.home)
    from okxbot.serve.alerts import AlertOptions, AlertService

    ctx.alerts = AlertService(
        supervisor, engine, options.home, metrics.registry, AlertOptions.of(options.alerts)
    )
    metrics.attach(lambda: [s.view() for s in supervisor.slots.values()], lambda: ctx.posture.results)
    return ctx, build_app(ctx), metrics


def _panic_responder(sid: str, home: Path) -> Callable[[Any], Any]:
    async def respond_for(target: Any) -> Any:
        # okxbot panic's own response; it SIGTERMs every okxbot process in the run directory, and
        # this supervisor is one of them: take its record out while the response runs (its bots on
        # the profile were already stopped, its other bots keep running)
        from okxbot.cli.panic import respond
        from okxbot.runstate import pid_file, register_bot, unregister_bot

        unregister_bot(pid_file(f"serve-{sid}", home))
        try:
            return await respond(target)
        finally:
            register_bot(f"serve-{sid}", None, "okxbot serve", home=home)

    return respond_for


async def _metrics_feed(ctx: ServeContext) -> None:
    sub = ctx.supervisor.bus.subscribe(maxsize=10_000)
    try:
        async for event in sub:
            ctx.metrics.on_event(event, event.origin == ctx.supervisor.sid)
    finally:
        sub.close()


async def serve_forever(options: ServeOptions, ready: Callable[[Running], None] | None = None) -> None:
    import uvicorn

    from okxbot.runstate import register_bot, unregister_bot

    check_binding(options)
    ctx, app, _metrics = await build(options)
    config = uvicorn.Config(
        app,
        host=options.host,
        port=options.port,
        log_level="warning",
        access_log=False,
        proxy_headers=False,  # the client address is the peer's: X-Forwarded-For is not trusted
        ssl_certfile=str(options.tls_cert) if options.tls_cert else None,
        ssl_keyfile=str(options.tls_key) if options.tls_key else None,
        lifespan="off",
        timeout_graceful_shutdown=5,
    )
    server = _Server(config)
    server.on_exit = ctx.closing.set
    loop = asyncio.get_running_loop()
    pid_path = register_bot(f"serve-{ctx.supervisor.sid}", None, "okxbot serve", home=options.home)
    feed = asyncio.ensure_future(_metrics_feed(ctx))
    try:
        await ctx.supervisor.start()
        ctx.posture.start()
        await ctx.alerts.start()
        serving = asyncio.ensure_future(server.serve())
        while not server.started:
            if serving.done():
                serving.result()  # the port could not be bound: raise why
                return
            await asyncio.sleep(0.02)
        port = _bound_port(server) or options.port
        url = f"{options.scheme}://{_url_host(options.host)}:{port}"
        ctx.supervisor.config.api_url = url
        if ready is not None:

            def stop() -> None:
                loop.call_soon_threadsafe(_request_exit, server, ctx)

            ready(Running(url, ctx, app, loop, stop))
        await serving
    finally:
        ctx.closing.set()
        feed.cancel()
        await ctx.alerts.close()
        await ctx.posture.close()
        await ctx.supervisor.close()
        unregister_bot(pid_path)
        if ctx.logs is not None:
            uninstall_logs(ctx.logs)
        ctx.registry.engine.dispose()


def _server_class() -> Any:
    import uvicorn

    class Server(uvicorn.Server):
        """uvicorn's server, except on SIGTERM / SIGINT: uvicorn re-raises the signal once it has
        stopped serving, which would kill the process before the bots are stopped cleanly; here the
        signal only asks for the exit, and `serve_forever` stops the bots, then returns."""

        on_exit: Any = None

        @contextlib.contextmanager
        def capture_signals(self) -> Any:
            if threading.current_thread() is not threading.main_thread():
                yield
                return
            previous = {
                sig: signal.signal(sig, self._exit_requested) for sig in (signal.SIGINT, signal.SIGTERM)
            }
            try:
                yield
            finally:
                for sig, handler in previous.items():
                    signal.signal(sig, handler)

        def _exit_requested(self, sig: int, frame: Any) -> None:
            if self.should_exit and sig == signal.SIGINT:
                self.force_exit = True  # a second Ctrl-C
            self.should_exit = True
            if self.on_exit is not None:
                self.on_exit()

    return Server


def _Server(config: Any) -> Any:
    return _server_class()(config)


def _request_exit(server: Any, ctx: ServeContext) -> None:
    ctx.closing.set()
    server.should_exit = True


def _bound_port(server: Any) -> int | None:
    with contextlib.suppress(Exception):
        for s in server.servers:
            for sock in s.sockets:
                return int(sock.getsockname()[1])
    return None


def _url_host(host: str) -> str:
    if host in ("0.0.0.0", "::"):
        return "127.0.0.1"
    return f"[{host}]" if ":" in host else host


def start_serve(options: ServeOptions, timeout: float = 60.0) -> Running:
    """Run `okxbot serve` on a background thread (its own event loop); returns once it answers."""
    from okxbot.trading.eventloop import loop_factory

    ready: Future[Running] = Future()
    done = threading.Event()
    loop = loop_factory()()

    def main() -> None:
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(serve_forever(options, ready.set_result))
        except BaseException as err:
            if not ready.done():
                ready.set_exception(err)
            else:
                log.exception("okxbot serve stopped with an error")
        finally:
            done.set()

    thread = threading.Thread(target=main, name="okxbot-serve", daemon=True)
    thread.start()
    running = ready.result(timeout)
    inner_stop = running.stop

    def stop() -> None:
        inner_stop()
        done.wait(90)

    running.stop = stop
    return running
