"""A backtest's figures, computed from a `BacktestResult` alone. The one home of the metric formulas.

Money (equity, PnL, fees, turnover) is Decimal in the quote currency. Ratios (returns, Sharpe, win
rate ...) are floats, because they are not money and the formulas need roots and logs; a ratio that
is not defined (no trade, zero variance, a period too short) is None, shown as "n/a", never NaN.

The formulas (E = equity in the quote currency, marked at the replayed price):

* E_start: the equity at the start. The engine's first equity point when it is at the start time,
  otherwise the initial base and quote balances marked at the first price. E_end: the last point.
* total_return = E_end / E_start - 1.  buy_and_hold_return = last price / first price - 1.
* Daily returns: the equity is sampled at every UTC midnight inside the run (the last point at or
  before it), with E_start first and E_end last; r_i = E_i / E_{i-1} - 1. A partial first or last day
  counts as one period. Risk-free rate rf (annual, 0 by default) per day: rf_d = (1 + rf)^(1/365) - 1.
* sharpe = mean(r - rf_d) / stdev(r - rf_d) x sqrt(365): sample standard deviation (ddof = 1),
  crypto trades every day of the year, hence 365. None with fewer than 2 returns or a zero stdev.
* sortino = mean(r - rf_d) / DD x sqrt(365), DD = sqrt(sum(min(0, r_i - rf_d)^2) / n) over all n
  returns (the target downside deviation, target rf_d). None with fewer than 2 returns or no day
  below the target.
* volatility = stdev(r) x sqrt(365) (ddof = 1).
* cagr = (E_end / E_start)^(1 / years) - 1, years = (end - start) / 365 days; None for a run shorter
  than one day (annualising hours says nothing) or when it overflows a float; -1 when E_end <= 0.
* max_drawdown = max over time of (peak - E) / peak, peak the running maximum of E over every equity
  point (not only the daily samples); a fraction, 0.25 = 25 % below the peak. Its start is the last
  time at that peak, its end the trough, duration = end - start, recovery the first time E regained
  the peak (None: not recovered), underwater = start -> recovery (or -> the end of the run).
* calmar = cagr / max_drawdown; None when either is None or the drawdown is 0.
* Trades are FIFO round trips (`okxbot.backtest.trades`); only closed ones count. win_rate = trades
  with net PnL > 0 / trades; profit_factor = sum of winning net PnL / |sum of losing net PnL| (None
  without a losing trade, 0 without a winning one); expectancy = mean net PnL per trade.
* exposure = share of the run's time during which the bot's own net position (from its fills,
  starting at 0) was not zero.
* fees_paid = sum over fills of the fee paid, in the quote currency (fees charged in the base
  currency converted at the fill's price; rebates reduce it). Fees in any third currency are listed
  apart in `fees_other`.
* turnover = sum over fills of price x size (x ct_val); turnover_ratio = turnover / E_start.
Averages of money (expectancy, avg_win, avg_loss) are rounded to 8 decimal places (half even).
"""

from __future__ import annotations

import itertools
import math
import statistics
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from okxbot.backtest.result import BacktestResult
from okxbot.backtest.trades import Trade, contract_value, fee_in_quote, round_trips

DAY_MS = 86_400_000
PERIODS_PER_YEAR = 365  # crypto trades every day: daily returns annualise with 365, not 252
ZERO = Decimal(0)
CENT_OF_SATOSHI = Decimal("0.00000001")


@dataclass(frozen=True)
class MetricInfo:
    key: str
    label: str
    kind: str  # pct | ratio | money | count | duration | time
    better: str | None  # "higher" | "lower": usable as an optimize objective; None: not a score
    doc: str


_M = MetricInfo
METRICS: tuple[MetricInfo, ...] = (
    _M("start_equity", "Start equity", "money", None, "equity at the start (quote currency)"),
    _M("end_equity", "End equity", "money", "higher", "equity at the end (quote currency)"),
    _M("net_profit", "Net profit", "money", "higher", "end equity - start equity"),
    _M("total_return", "Total return", "pct", "higher", "E_end / E_start - 1"),
    _M("buy_and_hold_return", "Buy & hold return", "pct", None, "last price / first price - 1"),
    _M("cagr", "CAGR", "pct", "higher", "(E_end / E_start)^(1/years) - 1"),
    _M("sharpe", "Sharpe ratio", "ratio", "higher", "mean / stdev of daily returns x sqrt(365)"),
    _M("sortino", "Sortino ratio", "ratio", "higher", "mean / downside deviation x sqrt(365)"),
    _M("calmar", "Calmar ratio", "ratio", "higher", "CAGR / max drawdown"),
    _M("volatility", "Volatility (annual)", "pct", "lower", "stdev of daily returns x sqrt(365)"),
    _M("max_drawdown", "Max drawdown", "pct", "lower", "largest fall from a peak, fraction of it"),
    _M("max_drawdown_amount", "Max drawdown (amount)", "money", "lower", "peak - trough"),
    _M("max_drawdown_start_ms", "Drawdown start (peak)", "time", None, "last time at the peak"),
    _M("max_drawdown_end_ms", "Drawdown end (trough)", "time", None, "time of the trough"),
    _M("max_drawdown_duration_ms", "Drawdown duration", "duration", "lower", "peak -> trough"),
    _M("max_drawdown_recovery_ms", "Recovered at", "time", None, "first time back at the peak"),
    _M("max_drawdown_underwater_ms", "Time under water", "duration", "lower", "peak -> recovery / end"),
    _M("trades", "Trades (closed)", "count", None, "FIFO round trips closed"),
    _M("open_trades", "Trades still open", "count", None, "lots open at the end"),
    _M("win_rate", "Win rate", "pct", "higher", "trades with net PnL > 0 / trades"),
    _M("profit_factor", "Profit factor", "ratio", "higher", "gross winning / gross losing net PnL"),
    _M("expectancy", "Expectancy", "money", "higher", "mean net PnL per trade"),
    _M("avg_win", "Average win", "money", None, "mean net PnL of winning trades"),
    _M("avg_loss", "Average loss", "money", None, "mean net PnL of losing trades"),
    _M("best_trade", "Best trade", "money", None, "largest net PnL"),
    _M("worst_trade", "Worst trade", "money", None, "smallest net PnL"),
    _M("avg_trade_duration_ms", "Average trade duration", "duration", None, "entry -> exit"),
    _M("exposure", "Exposure time", "pct", None, "share of time with a position"),
    _M("fees_paid", "Fees paid", "money", "lower", "in the quote currency (base fees at fill price)"),
    _M("orders", "Orders", "count", None, "orders that reached the book"),
    _M("fills", "Fills", "count", None, "fills (trades of the bot's orders)"),
    _M("refused", "Refused orders", "count", None, "refused by the risk guard or the funds check"),
    _M("turnover", "Turnover", "money", None, "sum of fill notional"),
    _M("turnover_ratio", "Turnover / start equity", "ratio", None, "turnover / E_start"),
    _M("days", "Days", "ratio", None, "length of the run in days"),
)
GROUPS: dict[str, tuple[str, ...]] = {
    "Returns and risk": ("start_equity", "end_equity", "net_profit", "total_return", "buy_and_hold_return",
                         "cagr", "sharpe", "sortino", "calmar", "volatility", "days"),
    "Drawdown": ("max_drawdown", "max_drawdown_amount", "max_drawdown_start_ms", "max_drawdown_end_ms",
                 "max_drawdown_duration_ms", "max_drawdown_recovery_ms", "max_drawdown_underwater_ms"),
    "Trades": ("trades", "open_trades", "win_rate", "profit_factor", "expectancy", "avg_win", "avg_loss",
               "best_trade", "worst_trade", "avg_trade_duration_ms"),
    "Activity": ("exposure", "fees_paid", "orders", "fills", "refused", "turnover", "turnover_ratio"),
}  # fmt: skip
BY_KEY = {m.key: m for m in METRICS}


def objectives() -> list[str]:
    """Metric names `okxbot optimize --objective` accepts (the ones with a better direction)."""
    return [m.key for m in METRICS if m.better is not None]


def metrics(result: BacktestResult, *, risk_free: float = 0.0) -> dict[str, Any]:
    """Every metric of METRICS (same keys, same order) plus `fees_other` {ccy: Decimal}."""
    out: dict[str, Any] = dict.fromkeys(BY_KEY)
    days = (result.end_ms - result.start_ms) / DAY_MS
    out["days"] = days
    curve = equity_curve(result)
    if curve:
        start, end = curve[0][1], curve[-1][1]
        out.update(start_equity=start, end_equity=end, net_profit=end - start)
        if start > 0:
            out["total_return"] = float(end / start - 1)
            out["cagr"] = _cagr(start, end, days)
        returns = daily_returns(curve, result.start_ms, result.end_ms)
        out.update(_risk_ratios(returns, risk_free))
        out.update(drawdown(curve, result.end_ms))
        if out["cagr"] is not None and out["max_drawdown"]:
            out["calmar"] = out["cagr"] / out["max_drawdown"]
    first, last = _first_last_price(result)
    if first and last is not None:
        out["buy_and_hold_return"] = float(last / first - 1)
    out.update(trade_stats(round_trips(result)))
    out["exposure"] = exposure(result)
    fees, other = fees_paid(result)
    out["fees_paid"], out["fees_other"] = fees, other
    out["orders"], out["fills"], out["refused"] = len(result.orders), len(result.fills), result.refused
    multiplier = contract_value(result)
    turnover = sum((f.price * f.size * multiplier for f in result.fills), ZERO)
    out["turnover"] = turnover
    if out["start_equity"]:
        out["turnover_ratio"] = float(turnover / out["start_equity"])
    return {k: _finite(v) for k, v in out.items()}


def equity_curve(result: BacktestResult) -> list[tuple[int, Decimal]]:
    """(ts_ms, equity) from the start: the engine's points, led by E_start when they start later."""
    points = [(p.ts_ms, p.equity) for p in result.equity]
    if points and points[0][0] <= result.start_ms:
        return points
    mark = _start_mark(result)
    if mark is None:
        return points
    balances = result.initial_balances
    start = balances.get(result.quote_ccy, ZERO) + balances.get(result.base_ccy, ZERO) * mark
    return [(result.start_ms, start), *points]


def _start_mark(result: BacktestResult) -> Decimal | None:
    if result.prices:
        return result.prices[0].open
    return result.equity[0].price if result.equity else None


def _first_last_price(result: BacktestResult) -> tuple[Decimal | None, Decimal | None]:
    if result.prices:
        return result.prices[0].open, result.prices[-1].close
    if result.equity:
        return result.equity[0].price, result.equity[-1].price
    return None, None


def daily_samples(curve: list[tuple[int, Decimal]], start_ms: int, end_ms: int) -> list[Decimal]:
    """E_start, the equity at each UTC midnight strictly inside (start, end), then E_end."""
    samples = [curve[0][1]]
    boundary = (start_ms // DAY_MS + 1) * DAY_MS
    last = curve[0][1]
    for ts, equity in curve[1:]:
        while boundary < end_ms and ts > boundary:
            samples.append(last)
            boundary += DAY_MS
        last = equity
    while boundary < end_ms:
        samples.append(last)
        boundary += DAY_MS
    samples.append(last)
    return samples


def daily_returns(curve: list[tuple[int, Decimal]], start_ms: int, end_ms: int) -> list[float] | None:
    """Daily simple returns (floats); None when an equity sample is not positive (no return then)."""
    samples = daily_samples(curve, start_ms, end_ms)
    if any(s <= 0 for s in samples[:-1]):
        return None
    return [float(b / a - 1) for a, b in itertools.pairwise(samples)]


def _risk_ratios(returns: list[float] | None, risk_free: float) -> dict[str, float | None]:
    out: dict[str, float | None] = {"sharpe": None, "sortino": None, "volatility": None}
    if returns is None or len(returns) < 2:
        return out
    rf_day = (1.0 + risk_free) ** (1.0 / PERIODS_PER_YEAR) - 1.0
    excess = [r - rf_day for r in returns]
    annual = math.sqrt(PERIODS_PER_YEAR)
    mean = statistics.fmean(excess)
    # statistics.stdev sums exactly (fractions), so equal returns give exactly 0, not 1e-19
    stdev = statistics.stdev(excess)
    out["volatility"] = statistics.stdev(returns) * annual
    if stdev > 0:
        out["sharpe"] = mean / stdev * annual
    downside = math.sqrt(math.fsum(min(0.0, e) ** 2 for e in excess) / len(excess))
    if downside > 0:
        out["sortino"] = mean / downside * annual
    return out


def _cagr(start: Decimal, end: Decimal, days: float) -> float | None:
    if days < 1:
        return None
    if end <= 0:
        return -1.0
    try:
        return math.exp(math.log(float(end / start)) * PERIODS_PER_YEAR / days) - 1.0
    except OverflowError:
        return None


def drawdown(curve: list[tuple[int, Decimal]], end_ms: int) -> dict[str, Any]:
    """The largest fall from a running peak, with its start (peak), end (trough) and recovery."""
    out: dict[str, Any] = {
        "max_drawdown": 0.0,
        "max_drawdown_amount": ZERO,
        "max_drawdown_start_ms": None,
        "max_drawdown_end_ms": None,
        "max_drawdown_duration_ms": None,
        "max_drawdown_recovery_ms": None,
        "max_drawdown_underwater_ms": None,
    }
    peak, peak_ms = curve[0][1], curve[0][0]
    worst = ZERO  # depth as a Decimal fraction; compared exactly
    trough_at = -1
    worst_peak, worst_peak_ms = peak, peak_ms
    for i, (ts, equity) in enumerate(curve):
        if equity >= peak:
            peak, peak_ms = equity, ts
            continue
        if peak <= 0:
            continue
        depth = (peak - equity) / peak
        if depth > worst:
            worst, trough_at, worst_peak, worst_peak_ms = depth, i, peak, peak_ms
    if trough_at < 0:
        return out
    trough_ms, trough = curve[trough_at]
    recovery = next((ts for ts, eq in curve[trough_at + 1 :] if eq >= worst_peak), None)
    out.update(
        max_drawdown=float(worst),
        max_drawdown_amount=worst_peak - trough,
        max_drawdown_start_ms=worst_peak_ms,
        max_drawdown_end_ms=trough_ms,
        max_drawdown_duration_ms=trough_ms - worst_peak_ms,
        max_drawdown_recovery_ms=recovery,
        max_drawdown_underwater_ms=(recovery if recovery is not None else max(end_ms, trough_ms))
        - worst_peak_ms,
    )
    return out


def drawdown_series(curve: list[tuple[int, Decimal]]) -> list[float]:
    """At each point, the fall below the running peak as a fraction (0 at a peak); for the chart."""
    out = []
    peak = float(curve[0][1]) if curve else 0.0
    for equity in map(float, (e for _, e in curve)):  # floats: it only draws the chart
        if equity > peak:
            peak = equity
        out.append((peak - equity) / peak if peak > 0 else 0.0)
    return out


def trade_stats(trades: Iterable[Trade]) -> dict[str, Any]:
    trades = list(trades)
    closed = [t for t in trades if not t.is_open]
    out: dict[str, Any] = {"trades": len(closed), "open_trades": len(trades) - len(closed)}
    if not closed:
        return out
    pnl = [t.net_pnl for t in closed]
    wins = [p for p in pnl if p > 0]
    losses = [p for p in pnl if p < 0]
    won, lost = sum(wins, ZERO), -sum(losses, ZERO)
    out.update(
        win_rate=len(wins) / len(closed),
        profit_factor=float(won / lost) if lost > 0 else None,
        expectancy=_money(sum(pnl, ZERO) / len(closed)),
        avg_win=_money(won / len(wins)) if wins else None,
        avg_loss=_money(-lost / len(losses)) if losses else None,
        best_trade=max(pnl),
        worst_trade=min(pnl),
        avg_trade_duration_ms=round(statistics.fmean(t.duration_ms or 0 for t in closed)),
    )
    return out


def exposure(result: BacktestResult) -> float | None:
    """Share of (start, end) during which the bot's own net position was not zero."""
    span = result.end_ms - result.start_ms
    if span <= 0:
        return None
    position, held, since = ZERO, 0, result.start_ms
    for fill in sorted(result.fills, key=lambda f: f.ts_ms):
        ts = min(max(fill.ts_ms, result.start_ms), result.end_ms)
        if position != 0:
            held += ts - since
        since = ts
        position += fill.size if fill.side == "buy" else -fill.size
    if position != 0:
        held += result.end_ms - since
    return held / span


def fees_paid(result: BacktestResult) -> tuple[Decimal, dict[str, Decimal]]:
    """(fees paid in the quote currency, {other currency: fee paid} for fees not convertible)."""
    total, other = ZERO, {}
    for fill in result.fills:
        quote = fee_in_quote(fill, result.base_ccy, result.quote_ccy)
        if quote is None:
            other[fill.fee_ccy] = other.get(fill.fee_ccy, ZERO) - fill.fee
        else:
            total += quote
    return total, other


def _money(value: Decimal) -> Decimal:
    return value.quantize(CENT_OF_SATOSHI, rounding=ROUND_HALF_EVEN)


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def to_json(values: dict[str, Any]) -> dict[str, Any]:
    """Stable JSON form: Decimal -> string, floats stay numbers (never NaN), None -> null."""
    convert: Callable[[Any], Any] = lambda v: dec_str(v) if isinstance(v, Decimal) else v  # noqa: E731
    out = {k: convert(values.get(k)) for k in BY_KEY}
    out["fees_other"] = {c: dec_str(v) for c, v in sorted((values.get("fees_other") or {}).items())}
    return out


def dec_str(value: Decimal) -> str:
    """A Decimal as plain digits without trailing zeros or an exponent: 3.33500 -> 3.335, 5E+4 -> 50000."""
    normal = value.normalize()
    return format(normal, "f") if normal != 0 else "0"
