"""A backtest's report: `write_report(result, out_dir)` (result.json + report.html) and the JSON
for scripts (`report_json`: metrics + trades, stable keys, Decimal strings).

    from okxbot.backtest.report import write_report, report_json, metrics
    paths = write_report(result, "out/")      # out/result.json, out/report.html
    print(json.dumps(report_json(result)))    # what `--json` prints
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from okxbot.backtest import metrics as metric_formulas
from okxbot.backtest import report_html, result_file
from okxbot.backtest.metrics import dec_str
from okxbot.backtest.result import BacktestResult
from okxbot.backtest.trades import Trade, round_trips

REPORT_FILE = "report.html"
JSON_FORMAT = "okxbot-backtest-report/1"


@dataclass(frozen=True)
class ReportPaths:
    result: Path
    html: Path


def metrics(result: BacktestResult, *, risk_free: float = 0.0) -> dict[str, Any]:
    """Every metric (okxbot.backtest.metrics.METRICS): Decimal money, float ratios, None = n/a."""
    return metric_formulas.metrics(result, risk_free=risk_free)


def write_report(result: BacktestResult, out_dir: str | Path) -> ReportPaths:
    """Write result.json (exact, readable by `compare` / `report`) and report.html into out_dir."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    values = metrics(result)
    trades = round_trips(result)
    page = report_html.render(result, values, trades)
    html_path = out / REPORT_FILE
    tmp = html_path.with_name(html_path.name + ".tmp")
    tmp.write_text(page, encoding="utf-8")
    tmp.replace(html_path)
    return ReportPaths(result=result_file.save(result, out / result_file.RESULT_FILE), html=html_path)


def _d(value: Decimal | None) -> str | None:
    return None if value is None else dec_str(value)


def trade_json(trade: Trade) -> dict[str, Any]:
    return {
        "direction": trade.direction,
        "size": _d(trade.size),
        "entry_ms": trade.entry_ms,
        "entry_price": _d(trade.entry_price),
        "exit_ms": trade.exit_ms,
        "exit_price": _d(trade.exit_price),
        "duration_ms": trade.duration_ms,
        "gross_pnl": _d(trade.gross_pnl),
        "fees": _d(trade.fees),
        "net_pnl": _d(trade.net_pnl),
        "return": trade.return_pct,
        "open": trade.is_open,
        "entry_order": trade.entry_order,
        "exit_order": trade.exit_order,
    }


def summary_json(result: BacktestResult) -> dict[str, Any]:
    """Who, what and when: the header of every JSON the backtest commands print."""
    return {
        "bot": result.bot,
        "strategy": result.strategy,
        "symbol": result.symbol,
        "inst_id": result.inst_id,
        "start_ms": result.start_ms,
        "end_ms": result.end_ms,
        "bar": result.bar,
        "source": result.source,
        "quote_ccy": result.quote_ccy,
        "params": result_file.plain(result.params),
        "settings": result_file.plain(result.settings),
        "parity_hash": result.parity_hash(),
        "halted": result.halted,
    }


def report_json(result: BacktestResult, *, trades: bool = True) -> dict[str, Any]:
    """{"format", summary..., "metrics": {...}, "trades": [...]}: stable keys, Decimal strings."""
    out = {"format": JSON_FORMAT, **summary_json(result)}
    out["metrics"] = metric_formulas.to_json(metrics(result))
    if trades:
        out["trades"] = [trade_json(t) for t in round_trips(result)]
    return out
