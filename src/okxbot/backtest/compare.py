"""Two backtests side by side: per metric A, B and B - A (which side is better), as rows for the
terminal, as JSON, and as a self-contained HTML page with both returns and drawdowns on one axis."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from html import escape
from typing import Any

from okxbot.backtest import report_format as fmt
from okxbot.backtest.chart_data import BUCKETS
from okxbot.backtest.metrics import METRICS, dec_str, drawdown_series, equity_curve, to_json
from okxbot.backtest.report import summary_json
from okxbot.backtest.report_html import footer, header, page
from okxbot.backtest.result import BacktestResult


def _e(value: Any) -> str:
    return escape(str(value), quote=True)


@dataclass(frozen=True)
class Row:
    key: str
    label: str
    a: str
    b: str
    diff: str  # B - A as text ("" when it has no meaning, e.g. for times)
    better: str | None  # "a" | "b" | None (equal, or the metric has no better direction)


def difference(kind: str, a: Any, b: Any) -> Any:
    """B - A for numbers; None for times or a missing side."""
    if a is None or b is None or kind == "time":
        return None
    return b - a


def diff_text(kind: str, delta: Any, quote: str) -> str:
    if delta is None:
        return ""
    if kind == "pct":
        return f"{delta * 100:+,.2f} pp"
    if kind == "money":
        return ("+" if delta > 0 else "") + fmt.money(delta, quote, digits=4)
    if kind == "count":
        return f"{delta:+,}"
    if kind == "duration":
        return ("-" if delta < 0 else "+") + fmt.duration(abs(delta))
    return f"{delta:+,.2f}"


def rows(a: BacktestResult, b: BacktestResult, ma: dict[str, Any], mb: dict[str, Any]) -> list[Row]:
    out = []
    for m in METRICS:
        delta = difference(m.kind, ma.get(m.key), mb.get(m.key))
        better = None
        if m.better is not None and delta:
            better = "b" if (delta > 0) == (m.better == "higher") else "a"
        out.append(
            Row(
                m.key,
                m.label,
                fmt.metric(m.key, ma.get(m.key), a.quote_ccy),
                fmt.metric(m.key, mb.get(m.key), b.quote_ccy),
                diff_text(m.kind, delta, a.quote_ccy),
                better,
            )
        )
    return out


def compare_json(
    a: BacktestResult, b: BacktestResult, ma: dict[str, Any], mb: dict[str, Any]
) -> dict[str, Any]:
    diff = {}
    for m in METRICS:
        delta = difference(m.kind, ma.get(m.key), mb.get(m.key))
        diff[m.key] = dec_str(delta) if isinstance(delta, Decimal) else delta
    return {
        "format": "okxbot-backtest-compare/1",
        "a": {**summary_json(a), "metrics": to_json(ma)},
        "b": {**summary_json(b), "metrics": to_json(mb)},
        "diff": diff,
        "same_orders_and_fills": a.parity_hash() == b.parity_hash(),
    }


def _returns(result: BacktestResult) -> dict[float, tuple[float, float]]:
    """{seconds: (return %, drawdown %)} from the start equity, thinned to ~4 x BUCKETS points."""
    curve = equity_curve(result)
    if not curve or curve[0][1] <= 0:
        return {}
    start = float(curve[0][1])
    depth = drawdown_series(curve)
    step = max(1, len(curve) // (BUCKETS * 4))
    keep = sorted({*range(0, len(curve), step), len(curve) - 1})
    return {curve[i][0] / 1000: ((float(curve[i][1]) / start - 1) * 100, -depth[i] * 100) for i in keep}


def chart_data(a: BacktestResult, b: BacktestResult) -> dict[str, list[Any]]:
    """Both runs on one time axis (null where a run has no point; the lines span the gaps)."""
    ra, rb = _returns(a), _returns(b)
    t = sorted(set(ra) | set(rb))
    pick = lambda series, i: [series[x][i] if x in series else None for x in t]  # noqa: E731
    return {
        "t": t,
        "return_a": pick(ra, 0),
        "return_b": pick(rb, 0),
        "drawdown_a": pick(ra, 1),
        "drawdown_b": pick(rb, 1),
    }


def render_html(
    a: BacktestResult, b: BacktestResult, ma: dict[str, Any], mb: dict[str, Any], names: tuple[str, str]
) -> str:
    """The compare page: run details, both curves, every metric with B - A (the better side marked)."""

    def who(r: BacktestResult) -> str:
        return f"{_e(r.bot)} · {_e(r.strategy)} on {_e(r.symbol)} · {fmt.when(r.start_ms)} → {fmt.when(r.end_ms)}"

    details = [
        ("source", names[0], names[1]),
        ("bot", a.bot, b.bot),
        ("strategy", a.strategy, b.strategy),
        ("symbol", a.symbol, b.symbol),
        ("from", fmt.when(a.start_ms), fmt.when(b.start_ms)),
        ("to", fmt.when(a.end_ms), fmt.when(b.end_ms)),
        ("parameters", _params(a), _params(b)),
        ("settings", _params(a, settings=True), _params(b, settings=True)),
        ("parity hash", a.parity_hash(), b.parity_hash()),
    ]
    detail_rows = "".join(f"<tr><td>{_e(k)}</td><td>{_e(x)}</td><td>{_e(y)}</td></tr>" for k, x, y in details)
    metric_rows = "".join(
        f'<tr data-metric="{r.key}"><td>{_e(r.label)}</td>'
        f'<td class="num{" best" if r.better == "a" else ""}">{_e(r.a)}</td>'
        f'<td class="num{" best" if r.better == "b" else ""}">{_e(r.b)}</td>'
        f'<td class="num">{_e(r.diff)}</td></tr>'
        for r in rows(a, b, ma, mb)
    )
    same = a.parity_hash() == b.parity_hash()
    verdict = "Same orders and fills (equal parity hashes)." if same else "Different orders or fills."
    body = f"""{header("Backtests compared", f"A: {who(a)}<br>B: {who(b)}")}
<main>
<section class="card"><div class="chart-head"><h2>Return (% of start equity)</h2>
  <div class="legend"><span class="l-equity">A</span><span class="l-hold">B</span></div></div>
  <div id="return-chart" class="chart" data-testid="return-chart"></div></section>
<section class="card"><h2>Drawdown</h2><div id="drawdown-chart" class="chart" data-testid="drawdown-chart"></div>
  <p class="note">{verdict}</p></section>
<section class="card"><h2>Runs</h2><div class="table-wrap"><table class="trades" data-testid="runs">
  <thead><tr><th></th><th>A</th><th>B</th></tr></thead><tbody>{detail_rows}</tbody></table></div></section>
<section class="card"><h2>Metrics (the better side in bold)</h2><div class="table-wrap">
  <table class="trades" data-testid="metrics"><thead><tr><th>metric</th><th class="num">A</th>
  <th class="num">B</th><th class="num">B - A</th></tr></thead><tbody>{metric_rows}</tbody></table></div></section>
</main>
{footer("okxbot backtest compare")}"""
    return page("Backtests compared · okxbot", body, {"charts": chart_data(a, b)}, "compare.js")


def _params(result: BacktestResult, settings: bool = False) -> str:
    return ", ".join(f"{k}={v}" for k, v in fmt.flatten(result.settings if settings else result.params))
