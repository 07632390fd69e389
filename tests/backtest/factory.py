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


def synthetic_grid(days: int = 7, seed: int = 3, bot: str = "grid-btc") -> BacktestResult:
    """A week of 1m bars (seeded random walk) and a simple 12-level grid trading it: realistic-looking
    data for the report's browser test and screenshots (not a backtest: the engine makes those)."""
    import math
    import random

    rng = random.Random(seed)
    minutes = days * 1440
    px = 60_000.0
    levels = [D(59_000 + 200 * i) for i in range(12)]
    size = D("0.01")
    usdt, btc = D("5000"), D("0.05")
    holding: set[int] = set(range(6))  # levels bought (inventory to sell one level up)
    bars: list[PriceBar] = []
    fills: list[FillRecord] = []
    orders: list[OrderRecord] = []
    equity: list[EquityPoint] = []
    drift = 0.0
    for m in range(minutes):
        if m % 720 == 0:
            drift = rng.uniform(-0.6, 0.6)
        o = px
        path = [o]
        for _ in range(4):  # a ranging market: pulled back towards a slowly wandering centre
            centre = 60_100.0 + 900.0 * math.sin(m / 2600)
            px = max(50_000.0, px + drift + 0.004 * (centre - px) + rng.gauss(0, 26))
            path.append(px)
        h, lo, c = max(path), min(path), path[-1]
        ts = T0 + m * 60_000
        bars.append(PriceBar(ts, D(f"{o:.1f}"), D(f"{h:.1f}"), D(f"{lo:.1f}"), D(f"{c:.1f}"), D("3.2")))
        for i, level in enumerate(levels):
            lv = float(level)
            if i not in holding and i + 1 < len(levels) and lo <= lv < o:
                holding.add(i)
                fee = size * D("0.0008")
                f = FillRecord(
                    ts + 30_000, f"T{len(fills)}", f"b{len(orders)}", "buy", level, size, -fee, "BTC", "maker"
                )
                usdt -= level * size
                btc += size - fee
            elif i in holding and i + 1 < len(levels) and o < float(levels[i + 1]) <= h:
                holding.discard(i)
                up = levels[i + 1]
                fee = up * size * D("0.0008")
                f = FillRecord(
                    ts + 30_000, f"T{len(fills)}", f"s{len(orders)}", "sell", up, size, -fee, "USDT", "maker"
                )
                usdt += up * size - fee
                btc -= size
            else:
                continue
            fills.append(f)
            orders.append(
                OrderRecord(
                    ts - 3_600_000,
                    f.client_order_id,
                    f.side,
                    "post_only",
                    f.price,
                    size,
                    "filled",
                    size,
                    f.price,
                )
            )
        if m % 15 == 14 or m == minutes - 1:
            close = D(f"{c:.1f}")
            equity.append(EquityPoint(ts + 60_000, (usdt + btc * close).quantize(D("0.01")), btc, close))
    orders.append(
        OrderRecord(T0 + 3_600_000, "c1", "buy", "post_only", D("58800"), size, "canceled", D(0), None)
    )
    first = bars[0].open
    equity.insert(0, EquityPoint(T0, D("5000") + D("0.05") * first, D("0.05"), first))
    return result(
        hours=days * 24,
        equity=equity,
        fills=fills,
        prices=bars,
        initial={"USDT": "5000", "BTC": "0.05"},
        bot=bot,
        orders=sorted(orders, key=lambda o: o.ts_ms),
        final_balances={"USDT": usdt, "BTC": btc},
        params={"grid": {"lower": "59000", "upper": "61200", "levels": 12, "size": "0.01"}},
        settings={
            "fill_model": "trade-through",
            "queue_model": "none",
            "latency_ms": 50,
            "fee_tier": "Lv1",
            "maker_fee": "0.0008",
            "taker_fee": "0.001",
            "slippage": "synthetic book, 5 levels",
        },
    )
