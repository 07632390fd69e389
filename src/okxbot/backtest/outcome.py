"""The `BacktestResult` of a finished replay: orders, fills, equity, prices, balances.

Orders are listed in the order the bot sent them and fills in the order it recorded them, so
`BacktestResult.parity_hash()` is the digest its order manager keeps for the session
(`OrderManager.session_hash`, what `okxbot run` prints live).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import numpy as np

from okxbot.backtest.equity import EquityCurve
from okxbot.backtest.result import BacktestResult, FillRecord, OrderRecord, PriceBar
from okxbot.backtest.venue import BacktestVenue
from okxbot.trading.core import BotCore

MAX_PRICE_BARS = 5_000  # the report's price chart: consecutive bars merged beyond this


def build_result(
    core: BotCore,
    venue: BacktestVenue,
    *,
    start_ms: int,
    end_ms: int,
    bar: str,
    source: str,
    settings: dict[str, Any],
    initial: dict[str, Decimal],
    equity: EquityCurve,
    prices: list[PriceBar],
) -> BacktestResult:
    config, rules, m = core.config, venue.rules, core.manager
    fills = m.session_fills()
    by_order: dict[str, list[tuple[Decimal, Decimal]]] = {}
    for f in fills:
        by_order.setdefault(f.client_order_id, []).append((f.price, f.size))
    orders = []
    for o in core.journal.orders():
        done = by_order.get(o.client_order_id, [])
        size = sum((s for _, s in done), Decimal(0))
        avg = sum((p * s for p, s in done), Decimal(0)) / size if size else None
        orders.append(
            OrderRecord(
                venue.arrived_ms.get(o.client_order_id, 0),
                o.client_order_id,
                o.side,
                venue.order_types.get(o.client_order_id, "limit" if o.price is not None else "market"),
                o.price,
                o.amount,
                o.state,
                o.filled,
                avg,
            )
        )
    fill_records = [
        FillRecord(
            f.ts_ms,
            f.trade_id,
            f.client_order_id,
            f.side,
            f.price,
            f.size,
            f.fee,
            f.fee_ccy,
            venue.fill_liquidity.get(f.trade_id, ""),
        )
        for f in fills
    ]
    final = {d["ccy"]: Decimal(d["cashBal"]) for d in venue.exchange.balances(venue.uid)["details"]}
    for ccy in initial:
        final.setdefault(ccy, Decimal(0))
    params = dict(config.params)
    for name in ("grid", "dca", "ma_cross"):
        section = getattr(config, name)
        if section is not None and config.strategy == name:
            params.update({k: _plain(v) for k, v in section.model_dump().items()})
    result = BacktestResult(
        bot=config.name,
        strategy=config.strategy,
        symbol=config.symbol,
        inst_id=rules.inst_id,
        base_ccy=rules.base,
        quote_ccy=rules.quote,
        start_ms=start_ms,
        end_ms=end_ms,
        bar=bar,
        source=source,
        params=params,
        settings=settings,
        initial_balances=dict(initial),
        final_balances=final,
        orders=orders,
        fills=fill_records,
        equity=equity.points(),
        prices=prices,
        refused=m.stats.refused,
        halted=m.risk.halted,
    )
    return result


def _plain(value: Any) -> Any:
    return format(value, "f") if isinstance(value, Decimal) else value


def price_bars(
    ts: np.ndarray, o: np.ndarray, h: np.ndarray, low: np.ndarray, c: np.ndarray, v: np.ndarray,
    px_scale: int, vol_scale: int, bar_ms: int,
) -> list[PriceBar]:  # fmt: skip
    """The chart's bars, consecutive ones merged so that there are at most MAX_PRICE_BARS."""
    n = len(ts)
    if n == 0:
        return []
    group = max(1, -(-n // MAX_PRICE_BARS))
    starts = np.arange(0, n, group)
    ends = np.minimum(starts + group, n) - 1
    highs = np.maximum.reduceat(h, starts)
    lows = np.minimum.reduceat(low, starts)
    vols = np.add.reduceat(v, starts)
    return [
        PriceBar(
            int(ts[a]),
            Decimal(int(o[a])).scaleb(-px_scale),
            Decimal(int(hh)).scaleb(-px_scale),
            Decimal(int(ll)).scaleb(-px_scale),
            Decimal(int(c[b])).scaleb(-px_scale),
            Decimal(int(vv)).scaleb(-vol_scale),
        )
        for a, b, hh, ll, vv in zip(
            starts.tolist(), ends.tolist(), highs.tolist(), lows.tolist(), vols.tolist(), strict=True
        )
    ]
