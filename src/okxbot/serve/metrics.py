"""Prometheus metrics of a supervisor (`GET /metrics`, token- or session-protected).

Counters and histograms are fed as things happen (an `Observer` for okxbot.serve.instrument, plus the
event bus for fills); per-bot gauges (PnL, position, balances, unresolved intents, state) are read
from the bots' latest snapshots at scrape time, so a removed bot leaves no stale series.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from decimal import Decimal, InvalidOperation
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, disable_created_metrics, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from okxbot.serve.events import Event
from okxbot.trading.latency import STAGES, LatencySample

LATENCY_BUCKETS = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0)
WAIT_BUCKETS = (0.0001, 0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0)
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class Metrics:
    def __init__(self) -> None:
        disable_created_metrics()  # the *_created series only double the scrape
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        # every order request's outcome, per order (batches included), from the order manager
        self.m_orders_placed = Counter(
            "okxbot_orders_placed", "Orders OKX accepted (single, batch, or found after an unknown answer)",
            ["bot"], registry=r,
        )  # fmt: skip
        self.m_orders_rejected = Counter(
            "okxbot_orders_rejected",
            "Order requests refused, per order, by op (place / cancel / amend) and OKX code (per-order sCode "
            "in batches; local: refused by the client's checks before sending; never_placed: an unknown "
            "outcome that was not on OKX after its expTime)",
            ["bot", "op", "code"], registry=r,
        )  # fmt: skip
        self.m_order_changes = Counter(
            "okxbot_order_changes_accepted", "Cancels and amendments OKX accepted, per order", ["bot", "op"],
            registry=r,
        )  # fmt: skip
        self.m_fills = Counter("okxbot_fills", "Fills journaled", ["bot"], registry=r)
        self.m_rate_answers = Counter(
            "okxbot_rate_limit_answers",
            "OKX answers 50011 (rate limit) and 50061 (sub-account limit) on a key: every request, retries "
            "included, each order of a batch answer",
            ["key", "code"], registry=r,
        )  # fmt: skip
        self.m_limiter_wait = Histogram(
            "okxbot_limiter_wait_seconds", "Time a request waited for the rate limiter", ["key"],
            buckets=WAIT_BUCKETS, registry=r,
        )  # fmt: skip
        self.m_tick_to_order = Histogram(
            "okxbot_tick_to_order_seconds",
            "From a market-data frame's arrival at the socket to the order request's bytes written to it",
            ["bot"], buckets=LATENCY_BUCKETS, registry=r,
        )  # fmt: skip
        self.m_tick_to_order_stage = Histogram(
            "okxbot_tick_to_order_stage_seconds", "Tick-to-order by stage (okxbot.trading.latency.STAGES)",
            ["bot", "stage"], buckets=LATENCY_BUCKETS, registry=r,
        )  # fmt: skip
        self.m_ws_connects = Counter(
            "okxbot_ws_connects", "WebSocket connections opened", ["key"], registry=r
        )
        self.m_ws_reconnects = Counter(
            "okxbot_ws_reconnects", "WebSocket connections opened again after one closed", ["key"], registry=r
        )
        self.m_journal_write = Histogram(
            "okxbot_journal_write_seconds", "Journal write (commit included)", ["op"],
            buckets=LATENCY_BUCKETS, registry=r,
        )  # fmt: skip
        self.m_restarts = Counter("okxbot_bot_restarts", "Bot restarts after a crash", ["bot"], registry=r)
        self.m_events = Counter("okxbot_events", "Supervisor events by kind", ["kind"], registry=r)

    # ---- Observer ---------------------------------------------------------------------------------
    def rate_limited(self, key: str, code: str) -> None:
        self.m_rate_answers.labels(key, code).inc()

    def limiter_wait(self, key: str, seconds: float) -> None:
        self.m_limiter_wait.labels(key).observe(seconds)

    def ws_connect(self, key: str, reconnect: bool) -> None:
        self.m_ws_connects.labels(key).inc()
        if reconnect:
            self.m_ws_reconnects.labels(key).inc()

    def journal_write(self, op: str, seconds: float) -> None:
        self.m_journal_write.labels(op).observe(seconds)

    def tick_to_order(self, bot: str, sample: LatencySample) -> None:
        self.m_tick_to_order.labels(bot).observe(sample.total_ns / 1e9)
        for (stage, _), ns in zip(STAGES, sample.stages_ns, strict=True):
            self.m_tick_to_order_stage.labels(bot, stage).observe(ns / 1e9)

    def order_answer(self, bot: str, op: str, code: str) -> None:
        if code != "0":
            self.m_orders_rejected.labels(bot, op, code).inc()
        elif op == "place":
            self.m_orders_placed.labels(bot).inc()
        else:
            self.m_order_changes.labels(bot, op).inc()

    # ---- events -----------------------------------------------------------------------------------
    def on_event(self, event: Event, local: bool) -> None:
        self.m_events.labels(event.kind).inc()
        if not local:
            return
        if event.kind == "fill":
            self.m_fills.labels(event.bot).inc()
        elif event.kind == "crash":
            self.m_restarts.labels(event.bot).inc()

    def attach(
        self, views: Callable[[], list[dict[str, Any]]], posture: Callable[[], dict[str, Any]]
    ) -> None:
        """Read per-bot gauges from `views()` (bot views) and posture results from `posture()`."""
        self.registry.register(_Gauges(views, posture))

    def render(self) -> bytes:
        return generate_latest(self.registry)


def _num(value: Any) -> float | None:
    # Prometheus samples are floats by definition; the exact Decimal strings stay in the API
    try:
        return float(Decimal(str(value)))
    except (InvalidOperation, ValueError, TypeError):
        return None


class _Gauges(Collector):
    def __init__(
        self, views: Callable[[], list[dict[str, Any]]], posture: Callable[[], dict[str, Any]]
    ) -> None:
        self._views = views
        self._posture = posture

    def collect(self) -> Iterator[GaugeMetricFamily]:
        up = GaugeMetricFamily(
            "okxbot_bot_running", "1 while the bot runs on this supervisor", labels=["bot"]
        )
        pnl = GaugeMetricFamily(
            "okxbot_pnl_quote", "PnL (realised + mark-to-mid), quote", labels=["bot", "quote"]
        )
        position = GaugeMetricFamily(
            "okxbot_position_base", "Position bought by the bot", labels=["bot", "base"]
        )
        balance = GaugeMetricFamily("okxbot_balance", "Account balance (total)", labels=["bot", "ccy"])
        unresolved = GaugeMetricFamily(
            "okxbot_unresolved_intents", "Orders journaled whose outcome is not known yet", labels=["bot"]
        )
        open_orders = GaugeMetricFamily("okxbot_open_orders", "Open orders of the bot", labels=["bot"])
        for view in self._views():
            status = view.get("status") or {}
            bot = view["name"]
            up.add_metric([bot], 1.0 if view.get("state") == "running" else 0.0)
            if "pnl" not in status:
                continue
            for family, value, labels in (
                (pnl, status.get("pnl"), [bot, status.get("quote", "")]),
                (position, status.get("position"), [bot, status.get("base", "")]),
                (unresolved, status.get("unresolved"), [bot]),
                (open_orders, status.get("open_orders"), [bot]),
            ):
                number = _num(value)
                if number is not None:
                    family.add_metric(labels, number)
            for ccy, amounts in (status.get("balances") or {}).items():
                number = _num(amounts.get("total"))
                if number is not None:
                    balance.add_metric([bot, ccy], number)
        yield from (up, pnl, position, balance, unresolved, open_orders)
        passing = GaugeMetricFamily(
            "okxbot_posture_check_passing",
            "1 when a posture check of the profile passes",
            labels=["profile", "check"],
        )
        for profile, result in self._posture().items():
            for check in result.get("checks", []):
                passing.add_metric([profile, check["check"]], 1.0 if check["status"] == "pass" else 0.0)
        yield passing
