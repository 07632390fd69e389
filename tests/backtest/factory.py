"""Hand-made BacktestResults with exactly known figures (the engine is not needed to test a formula)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from okxbot.backtest.result import BacktestResult, EquityPoint, FillRecord, OrderRecord, PriceBar

D = Decimal
HOUR = 3_600_000
T0 = 1_704_067_200_000  # 2024-01-01 00:00 UTC


def at(hours: float) -> int:
    return T0 + int(hours * HOUR)


def fill(
    hours: float, side: str, price: str, size: str, fee: str, fee_ccy: str, cid: str = "", tid: str = ""
) -> FillRecord:
    return FillRecord(
        ts_ms=at(hours),
        trade_id=tid or f"t{hours}",
        client_order_id=cid or f"o{hours}",
        side=side,
        price=D(price),
        size=D(size),
        fee=D(fee),
        fee_ccy=fee_ccy,
        liquidity="maker",
    )


def order_for(f: FillRecord) -> OrderRecord:
    return OrderRecord(
        ts_ms=f.ts_ms - 60_000,
        client_order_id=f.client_order_id,
        side=f.side,
        order_type="limit",
        price=f.price,
        amount=f.size,
        state="filled",
        filled=f.size,
        avg_price=f.price,
    )


def curve(points: list[tuple[float, str]], price: str = "50000") -> list[EquityPoint]:
    return [EquityPoint(at(h), D(e), D(0), D(price)) for h, e in points]


def result(
    *,
    hours: float,
    equity: list[EquityPoint],
    fills: list[FillRecord] | None = None,
    prices: list[PriceBar] | None = None,
    initial: dict[str, str] | None = None,
    **extra: Any,
) -> BacktestResult:
    fills = fills or []
    values: dict[str, Any] = dict(
        bot="test-bot",
        strategy="grid",
        symbol="BTC/USDT",
        inst_id="BTC-USDT",
        base_ccy="BTC",
        quote_ccy="USDT",
        start_ms=T0,
        end_ms=at(hours),
        bar="1m",
        source="candles",
        params={"grid": {"levels": 10}},
        settings={"fill_model": "trade-through", "latency_ms": 50, "fee_tier": "Lv1"},
        initial_balances={k: D(v) for k, v in (initial or {"USDT": "1000"}).items()},
        final_balances={"USDT": D("1000")},
        orders=[order_for(f) for f in fills],
        fills=fills,
        equity=equity,
        prices=prices or [],
    )
    values.update(extra)
    return BacktestResult(**values)


def bar(hours: float, o: str, h: str, lo: str, c: str) -> PriceBar:
    return PriceBar(at(hours), D(o), D(h), D(lo), D(c), D("1"))


def four_days() -> BacktestResult:
    """The worked example of tests/backtest/test_metrics.py (every figure computed by hand there)."""
    equity = curve(
        [(0, "1000"), (12, "1050"), (24, "1100"), (36, "950"), (48, "990"), (72, "1089"), (84, "1099"),
         (96, "1197.9")]
    )  # fmt: skip
    equity[-1] = EquityPoint(equity[-1].ts_ms, equity[-1].equity, D("-0.005"), D("53500"))
    fills = [
        fill(1, "buy", "50000", "0.01", "-0.00001", "BTC"),
        fill(30, "sell", "52000", "0.01", "-0.52", "USDT"),
        fill(50, "buy", "51000", "0.02", "-0.00002", "BTC"),
        fill(60, "sell", "50000", "0.01", "-0.5", "USDT"),
        fill(90, "sell", "53000", "0.015", "-0.795", "USDT"),
    ]
    prices = [bar(0, "50000", "50100", "49900", "50050"), bar(95, "53400", "53600", "53300", "53500")]
    return result(hours=96, equity=equity, fills=fills, prices=prices)
