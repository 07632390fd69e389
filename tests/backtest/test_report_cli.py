"""Section 4: result.json kept exact, `okxbot backtest report` (--json for scripts) and
`okxbot backtest compare A B` side by side."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

from typer.testing import CliRunner

from okxbot.backtest import result_file
from okxbot.backtest.metrics import METRICS
from okxbot.backtest.report import metrics, write_report
from okxbot.cli.main import app
from tests.backtest.factory import four_days, synthetic_grid

runner = CliRunner()


def test_result_file_round_trip_is_exact(tmp_path: Path) -> None:
    original = four_days()
    back = result_file.load(result_file.save(original, tmp_path / "result.json"))
    assert back == original
    assert back.parity_hash() == original.parity_hash()


def test_damaged_or_foreign_result_files_are_refused_clearly(tmp_path: Path) -> None:
    path = result_file.save(four_days(), tmp_path / "result.json")
    raw = json.loads(path.read_text())
    raw["fills"][0]["price"] = "49999"
    path.write_text(json.dumps(raw))
    out = runner.invoke(app, ["backtest", "report", str(path), "--json"])
    assert out.exit_code == 2 and "damaged result file" in out.output and "parity hash" in out.output

    path.write_text('{"format": "something-else"}')
    out = runner.invoke(app, ["backtest", "report", str(path)])
    assert out.exit_code == 2 and "is not 'okxbot-backtest-result/1'" in out.output

    out = runner.invoke(app, ["backtest", "compare", str(tmp_path / "nowhere"), str(path)])
    assert out.exit_code == 2 and "no backtest result there" in out.output


def test_report_json_has_stable_keys_metrics_and_trades(tmp_path: Path) -> None:
    write_report(four_days(), tmp_path)
    out = runner.invoke(app, ["backtest", "report", str(tmp_path), "--json"])
    assert out.exit_code == 0, out.output
    data = json.loads(out.stdout)
    assert list(data) == [
        "format", "bot", "strategy", "symbol", "inst_id", "start_ms", "end_ms", "bar", "source",
        "quote_ccy", "params", "settings", "parity_hash", "halted", "metrics", "trades",
    ]  # fmt: skip
    assert data["format"] == "okxbot-backtest-report/1"
    assert list(data["metrics"]) == [m.key for m in METRICS] + ["fees_other"]
    assert data["metrics"]["fees_paid"] == "3.335" and data["metrics"]["trades"] == 3
    assert data["trades"][0] == {
        "direction": "long", "size": "0.01", "entry_ms": four_days().fills[0].ts_ms, "entry_price": "50000",
        "exit_ms": four_days().fills[1].ts_ms, "exit_price": "52000", "duration_ms": 29 * 3_600_000,
        "gross_pnl": "20", "fees": "1.02", "net_pnl": "18.98", "return": 18.98 / 500, "open": False,
        "entry_order": "o1", "exit_order": "o30",
    }  # fmt: skip
    assert data["trades"][-1]["open"] is True
    no_trades = json.loads(
        runner.invoke(app, ["backtest", "report", str(tmp_path), "--json", "--no-trades"]).stdout
    )
    assert "trades" not in no_trades


def test_report_prints_the_figures_and_writes_the_html(tmp_path: Path) -> None:
    result_file.save(four_days(), tmp_path / "result.json")
    out = runner.invoke(app, ["backtest", "report", str(tmp_path / "result.json")], env={"COLUMNS": "120"})
    assert out.exit_code == 0, out.output
    assert "197.90 USDT" in out.output and "19.79 %" in out.output and "Sharpe ratio" in out.output
    assert (tmp_path / "report.html").read_text().startswith("<!doctype html>")


def test_compare_side_by_side(tmp_path: Path) -> None:
    a, b = synthetic_grid(seed=3), synthetic_grid(seed=4, bot="[red]grid-b[/red]")
    write_report(a, tmp_path / "a")
    write_report(b, tmp_path / "b")
    out = runner.invoke(
        app, ["backtest", "compare", str(tmp_path / "a"), str(tmp_path / "b")], env={"COLUMNS": "160"}
    )
    assert out.exit_code == 0, out.output
    ma, mb = metrics(a), metrics(b)
    assert f"{ma['fills']:,}" in out.output and f"{mb['fills']:,}" in out.output
    assert f"{mb['fills'] - ma['fills']:+,}" in out.output
    assert "[red]grid-b[/red]" in out.output  # a name from a file is text, not Rich markup
    assert "Different orders or fills" in out.output

    data = json.loads(
        runner.invoke(app, ["backtest", "compare", str(tmp_path / "a"), str(tmp_path / "b"), "--json"]).stdout
    )
    assert Decimal(data["diff"]["net_profit"]) == mb["net_profit"] - ma["net_profit"]
    assert data["diff"]["sharpe"] == mb["sharpe"] - ma["sharpe"]
    assert data["diff"]["max_drawdown_start_ms"] is None  # times have no difference
    assert data["a"]["metrics"]["fills"] == ma["fills"] and data["same_orders_and_fills"] is False

    same = json.loads(
        runner.invoke(app, ["backtest", "compare", str(tmp_path / "a"), str(tmp_path / "a"), "--json"]).stdout
    )
    assert same["same_orders_and_fills"] is True and same["diff"]["trades"] == 0


def test_a_finished_run_writes_its_report_and_prints_json(tmp_path: Path, capsys: object) -> None:
    from okxbot.cli.backtest_reports import show_run

    html = show_run(four_days(), tmp_path / "run", as_json=True)
    data = json.loads(capsys.readouterr().out)  # type: ignore[attr-defined]
    assert html == tmp_path / "run" / "report.html" and html.is_file()
    assert data["report"] == str(html) and data["metrics"]["trades"] == 3 and len(data["trades"]) == 4
    assert result_file.load(tmp_path / "run") == four_days()


def test_pages_that_cannot_be_written_where_asked_are_said_plainly(tmp_path: Path) -> None:
    write_report(four_days(), tmp_path / "a")
    a = str(tmp_path / "a")
    out = runner.invoke(app, ["backtest", "compare", a, a, "--html", str(tmp_path)])  # a directory
    assert out.exit_code == 2 and "--html" in out.output and "cannot write there" in out.output
    assert out.exception is None or isinstance(out.exception, SystemExit)
    taken = tmp_path / "taken.txt"
    taken.write_text("mine")
    out = runner.invoke(app, ["backtest", "report", a, "--out", str(taken)])  # a file
    assert out.exit_code == 2 and "--out" in out.output and "cannot write there" in out.output
    assert out.exception is None or isinstance(out.exception, SystemExit)
    assert taken.read_text() == "mine"
