"""report.html: one self-contained page (no network needed to open it) from a `BacktestResult`.

Everything is inline: the styles, the page script, the data (JSON in a non-executed script tag) and
uPlot, the chart library `okxbot serve` already vendors (read from its vendor directory and checked
against its MANIFEST.json, never fetched). The page's Content-Security-Policy allows only those inline
script and style blocks (by hash) and nothing from any network, so the report cannot call out even
if opened on a machine online. Every text from the result (bot name, parameters, settings, ids) is
HTML-escaped here, and the JSON is escaped so that no `</script>` can end its block: markup in a bot
name shows as text.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import re
from datetime import UTC, datetime
from functools import cache
from importlib import resources
from typing import Any

from okxbot import __version__
from okxbot.backtest import report_format as fmt
from okxbot.backtest.chart_data import chart_data
from okxbot.backtest.metrics import BY_KEY, GROUPS
from okxbot.backtest.result import BacktestResult
from okxbot.backtest.trades import Trade

MAX_TRADE_ROWS = 2000
KPIS = (  # tile, its hint line (metric, words before it)
    ("net_profit", "total_return", "return"),
    ("cagr", "buy_and_hold_return", "buy & hold"),
    ("sharpe", "sortino", "Sortino"),
    ("max_drawdown", "max_drawdown_duration_ms", "fell for"),
    ("win_rate", "trades", "trades"),
    ("profit_factor", "expectancy", "per trade"),
    ("exposure", "turnover_ratio", "turnover x"),
    ("fees_paid", "fills", "fills"),
)
LOGO = '<svg class="logo" viewBox="0 0 36 36" aria-hidden="true"><path d="M7 25 L14 17 L19 21 L29 10"/></svg>'


class VendorError(Exception):
    """The vendored chart library is missing or differs from its manifest."""


@cache
def _uplot() -> tuple[str, str]:
    """(uPlot as a classic script defining window.uPlot, its CSS), checked against MANIFEST.json."""
    vendor = resources.files("okxbot.serve") / "static" / "vendor"
    manifest = json.loads((vendor / "MANIFEST.json").read_text(encoding="utf-8"))["uplot"]
    files = {}
    for name in ("uPlot.esm.js", "uPlot.min.css"):
        rel = f"uplot-{manifest['version']}/{name}"
        raw = (vendor / rel).read_bytes()
        if hashlib.sha256(raw).hexdigest() != manifest["files"].get(rel):
            raise VendorError(f"{rel} differs from serve/static/vendor/MANIFEST.json: reinstall okxbot")
        files[name] = raw.decode("utf-8")
    # The ESM build ends with `export { uPlot as default };` and exports one helper; as a classic script
    # inside a function it defines the same uPlot, handed to the page as window.uPlot.
    body = re.sub(r"^export \{ uPlot as default \};\s*$", "", files["uPlot.esm.js"], flags=re.M)
    body = re.sub(r"^export (function|const|let|class) ", r"\1 ", body, flags=re.M)
    if re.search(r"^\s*(export|import)\b", body, flags=re.M) or "</script" in body.lower():
        raise VendorError("the vendored uPlot is not the ESM build this report inlines")
    return f"(function () {{\n{body}\nwindow.uPlot = uPlot;\n}})();\n", files["uPlot.min.css"]


def _asset(name: str) -> str:
    return (resources.files("okxbot.backtest") / "report_assets" / name).read_text(encoding="utf-8")


def _csp_hash(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode() + "'"


def script_json(value: Any) -> str:
    """JSON safe inside <script>: no '<', '>' or '&' survives, so no tag can close or open there."""
    text = json.dumps(value, separators=(",", ":"), allow_nan=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _tone(value: Any) -> str:
    try:
        return " pos" if value > 0 else " neg" if value < 0 else ""
    except TypeError:
        return ""


def _kpis(values: dict[str, Any], quote: str) -> str:
    tiles = []
    for key, hint_key, hint_words in KPIS:
        value = values.get(key)
        tone = _tone(value) if key in ("net_profit", "cagr", "sharpe", "total_return") else ""
        if key == "max_drawdown" and value:
            tone = " neg"
        hint = f"{hint_words} {fmt.metric(hint_key, values.get(hint_key), quote)}"
        tiles.append(
            f'<div class="kpi" data-metric="{key}"><div class="label">{_e(BY_KEY[key].label)}</div>'
            f'<div class="value{tone}">{_e(fmt.metric(key, value, quote))}</div>'
            f'<div class="hint">{_e(hint)}</div></div>'
        )
    return '<section class="kpis" data-testid="kpis">' + "".join(tiles) + "</section>"


def _metrics_table(keys: tuple[str, ...], values: dict[str, Any], quote: str, extra: str = "") -> str:
    rows = [
        f'<tr data-metric="{key}" title="{_e(BY_KEY[key].doc)}"><td>{_e(BY_KEY[key].label)}</td>'
        f"<td>{_e(fmt.metric(key, values.get(key), quote))}</td></tr>"
        for key in keys
    ]
    return f'<table class="kv" data-testid="metrics"><tbody>{"".join(rows)}{extra}</tbody></table>'


def _metrics_cards(values: dict[str, Any], quote: str) -> tuple[str, str]:
    """Two columns of metric tables: returns, risk and drawdown | trades and activity."""
    other = "".join(
        f"<tr><td>Fees paid in {_e(ccy)}</td><td>{_e(fmt.money(paid, ccy))}</td></tr>"
        for ccy, paid in sorted((values.get("fees_other") or {}).items())
    )
    cards = []
    for title, keys in GROUPS.items():
        table = _metrics_table(keys, values, quote, other if title == "Activity" else "")
        cards.append(f'<h2 class="sub">{_e(title)}</h2>{table}')
    cards[0] = cards[0].replace('class="sub"', "", 1)
    cards[2] = cards[2].replace('class="sub"', "", 1)
    return "".join(cards[:2]), "".join(cards[2:])


def _kv_table(rows: list[tuple[str, str]], testid: str) -> str:
    if not rows:
        return '<p class="muted">none</p>'
    body = "".join(f"<tr><td>{_e(k)}</td><td>{_e(v)}</td></tr>" for k, v in rows)
    return f'<table class="kv" data-testid="{testid}"><tbody>{body}</tbody></table>'


def _trades_table(trades: list[Trade], quote: str) -> str:
    if not trades:
        return '<p class="empty" data-testid="trades">No trades: the bot had no fill in this backtest.</p>'
    head = (
        "<tr><th class='num'>#</th><th>Side</th><th class='num'>Size</th><th>Entry (UTC)</th>"
        "<th class='num'>Entry price</th><th>Exit (UTC)</th><th class='num'>Exit price</th>"
        f"<th class='num'>Duration</th><th class='num'>Gross PnL</th><th class='num'>Fees</th>"
        f"<th class='num'>Net PnL ({_e(quote)})</th><th class='num'>Return</th></tr>"
    )
    rows = []
    for n, t in enumerate(trades[:MAX_TRADE_ROWS], 1):
        exit_at = "open (marked)" if t.is_open else fmt.when(t.exit_ms)
        rows.append(
            f'<tr data-trade="{n}"><td class="num">{n}</td>'
            f'<td><span class="tag {t.direction}">{t.direction}</span></td>'
            f'<td class="num">{_e(fmt.money(t.size))}</td><td class="num">{fmt.when(t.entry_ms)}</td>'
            f'<td class="num">{_e(fmt.money(t.entry_price))}</td><td class="num">{exit_at}</td>'
            f'<td class="num">{_e(fmt.money(t.exit_price))}</td>'
            f'<td class="num">{fmt.duration(t.duration_ms)}</td>'
            f'<td class="num{_tone(t.gross_pnl)}">{_e(fmt.money(t.gross_pnl))}</td>'
            f'<td class="num">{_e(fmt.money(t.fees))}</td>'
            f'<td class="num{_tone(t.net_pnl)}">{_e(fmt.money(t.net_pnl))}</td>'
            f'<td class="num{_tone(t.net_pnl)}">{fmt.pct(t.return_pct)}</td></tr>'
        )
    note = ""
    if len(trades) > MAX_TRADE_ROWS:
        note = (
            f'<p class="note">The first {MAX_TRADE_ROWS:,} of {len(trades):,} trades; all of them: '
            "<code>okxbot backtest report DIR --json</code>.</p>"
        )
    return (
        f'<div class="table-wrap tall"><table class="trades" data-testid="trades"><thead>{head}</thead>'
        f"<tbody>{''.join(rows)}</tbody></table></div>{note}"
    )


def page(title: str, body: str, payload: dict[str, Any], page_script: str) -> str:
    """A whole self-contained page: inline styles, uPlot, charts.js + `page_script`, the data as JSON."""
    uplot_js, uplot_css = _uplot()
    style = uplot_css + "\n" + _asset("report.css")
    script = uplot_js + _asset("charts.js") + _asset(page_script)
    csp = (
        f"default-src 'none'; script-src {_csp_hash(script)}; style-src {_csp_hash(style)}; "
        "img-src data:; base-uri 'none'; form-action 'none'"
    )
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="{_e(csp)}">
<meta name="generator" content="okxbot {_e(__version__)}">
<title>{_e(title)}</title>
<style>{style}</style>
</head>
<body>
{body}
<script type="application/json" id="report-data">{script_json(payload)}</script>
<script>{script}</script>
</body>
</html>
"""


def header(title: str, subtitle_html: str) -> str:
    return (
        f'<header class="top"><div class="brand">{LOGO}<div><h1 data-testid="bot-name">{_e(title)}</h1>'
        f'<p class="subtitle">{subtitle_html}</p></div></div>'
        '<button id="theme" type="button" title="Switch between the dark and the light theme">Theme</button>'
        "</header>"
    )


def footer(text: str) -> str:
    generated = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return f"<footer>okxbot {_e(__version__)} · generated {generated} · {text}</footer>"


def render(result: BacktestResult, values: dict[str, Any], trades: list[Trade]) -> str:
    """The whole report. `values`: `metrics(result)`; `trades`: `round_trips(result)`."""
    quote = result.quote_ccy
    charts = chart_data(result)
    payload = {"symbol": result.symbol, "quote": quote, "charts": charts}
    days = fmt.ratio(values.get("days"))
    subtitle = (
        f"<b>{_e(result.strategy)}</b> on <b>{_e(result.symbol)}</b> · "
        f"{fmt.when(result.start_ms)} → {fmt.when(result.end_ms)} UTC ({days} days) · "
        f"replayed from {_e(result.source)} ({_e(result.bar)})"
    )
    halted = ""
    if result.halted:
        halted = (
            f'<div class="banner" data-testid="halted">The risk guard halted the bot: '
            f"{_e(result.halted)}. Later orders were not placed.</div>"
        )
    mk = charts["markers"]
    thinned = ""
    if mk["fills_total"] > len(mk["fills"]) or mk["orders_total"] > len(mk["orders"]):
        thinned = (
            f'<p class="note">Drawn: {len(mk["fills"]):,} of {mk["fills_total"]:,} fills and '
            f"{len(mk['orders']):,} of {mk['orders_total']:,} orders, evenly thinned.</p>"
        )
    balances = [
        (f"{ccy} at start", fmt.money(amount)) for ccy, amount in sorted(result.initial_balances.items())
    ] + [(f"{ccy} at end", fmt.money(amount)) for ccy, amount in sorted(result.final_balances.items())]
    settings = fmt.flatten(result.settings)
    params = fmt.flatten(result.params)
    left, right = _metrics_cards(values, quote)
    body = f"""{header(result.bot, subtitle)}
<main>
{halted}
{_kpis(values, quote)}
<section class="card"><div class="chart-head"><h2>Equity ({_e(quote)})</h2>
  <div class="legend"><span class="l-equity">bot's equity</span><span class="l-hold">buy &amp; hold</span></div></div>
  <div id="equity-chart" class="chart" data-testid="equity-chart"></div></section>
<section class="card"><h2>Drawdown</h2>
  <div id="drawdown-chart" class="chart" data-testid="drawdown-chart"></div></section>
<section class="card"><div class="chart-head"><h2>Price, orders and fills</h2>
  <div class="legend"><span class="l-price">{_e(result.symbol)}</span><span class="l-buy">buy fill</span>
  <span class="l-sell">sell fill</span><span class="l-order">order placed (at its price)</span></div></div>
  <div id="price-chart" class="chart" data-testid="price-chart"></div>
  <p class="note">Drag across a chart to zoom all three; double-click to zoom out.</p>{thinned}</section>
<div class="grid-3">
  <section class="card" data-testid="metrics-performance">{left}</section>
  <section class="card" data-testid="metrics-trading">{right}</section>
  <section class="card"><h2>Settings (what shaped the fills)</h2>{_kv_table(settings, "settings")}
    <h2 class="sub">Strategy parameters</h2>{_kv_table(params, "params")}
    <h2 class="sub">Balances</h2>{_kv_table(balances, "balances")}
    <h2 class="sub">Parity hash</h2><p><code data-testid="parity-hash">{_e(result.parity_hash())}</code></p>
    <p class="note">The digest of the order and fill sequence; <code>okxbot run</code> prints the same for a
    live session, so equal hashes mean the same orders and fills.</p></section>
</div>
<section class="card"><h2>Trades (FIFO round trips)</h2>{_trades_table(trades, quote)}</section>
</main>
{footer(f"{len(result.orders):,} orders, {len(result.fills):,} fills · bot {_e(result.bot)}")}"""
    return page(f"Backtest: {result.bot} · okxbot", body, payload, "report.js")
