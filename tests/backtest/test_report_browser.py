"""Section 4: the HTML report as a person opens it, in Debian's headless chromium.

Opened from file:// with the network off and the page's own Content-Security-Policy in force (not
bypassed): the three charts draw (canvas pixels, fill markers in the buy and sell colours), no
console error, no request leaves the file, markup in the bot name, a parameter and a setting shows
as text and runs nothing, and the theme switch redraws in the other palette. Screenshots of both
themes are left in test-artifacts/ for a person to look at.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from okxbot.backtest.report import write_report
from tests.backtest.factory import synthetic_grid
from tests.serve.browser import ARGS, ARTIFACTS, chromium_path
from tests.servers import unavailable

XSS_BOT = '<img src=x onerror="window.__xss=1">grid'
XSS_PARAM = "</script><script>window.__xss=2</script>"
XSS_SETTING = "<b onmouseover=window.__xss=3>bold</b>"

# counts canvas pixels close to a CSS colour (the page's own variable), over every chart canvas
PIXELS = """([selector, cssVar]) => {
  const probe = document.createElement("div");
  probe.style.color = getComputedStyle(document.documentElement).getPropertyValue(cssVar).trim();
  document.body.appendChild(probe);
  const [r, g, b] = getComputedStyle(probe).color.match(/\\d+/g).map(Number);
  probe.remove();
  let painted = 0, matching = 0;
  for (const canvas of document.querySelectorAll(selector + " canvas")) {
    const px = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
    for (let i = 0; i < px.length; i += 4) {
      if (px[i + 3] === 0) continue;
      painted++;
      if (Math.abs(px[i] - r) < 8 && Math.abs(px[i + 1] - g) < 8 && Math.abs(px[i + 2] - b) < 8) matching++;
    }
  }
  return [painted, matching];
}"""


def _counts(message: Any) -> bool:
    """Console errors and warnings, except the one this test's own pixel reading causes."""
    return message.type in ("error", "warning") and "willReadFrequently" not in message.text


@contextmanager
def offline_page(color_scheme: str) -> Iterator[tuple[Any, list[str], list[str]]]:
    """A page in a fresh chromium with the network off; yields (page, console errors, requests)."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        unavailable("the playwright package is not installed (pip install -e .[dev])")
    profile = tempfile.mkdtemp(prefix="okxbot-report-")
    with sync_playwright() as p:
        try:
            browser = p.chromium.launch(
                executable_path=chromium_path(), headless=True, args=ARGS, env=dict(os.environ, HOME=profile)
            )
        except Exception as err:
            unavailable(f"chromium did not start: {err}")
        try:
            context = browser.new_context(
                viewport={"width": 1440, "height": 1000}, color_scheme=color_scheme, offline=True
            )
            page = context.new_page()
            page.set_default_timeout(30_000)
            errors: list[str] = []
            requests: list[str] = []
            page.on("console", lambda m: errors.append(m.text) if _counts(m) else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.on("request", lambda r: requests.append(r.url))
            yield page, errors, requests
        finally:
            browser.close()
            shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    result = synthetic_grid(bot=XSS_BOT)
    result.params["note"] = XSS_PARAM
    result.settings["comment"] = XSS_SETTING
    return write_report(result, tmp_path_factory.mktemp("report")).html


@pytest.mark.parametrize("scheme", ["dark", "light"])
def test_report_opens_offline_draws_charts_and_escapes(report: Path, scheme: str) -> None:
    with offline_page(scheme) as (page, errors, requests):
        page.goto(report.as_uri())
        page.wait_for_selector("body[data-charts='3']")
        assert page.evaluate("document.documentElement.dataset.theme") == scheme

        for chart in ("equity-chart", "drawdown-chart", "price-chart"):
            painted, _ = page.evaluate(PIXELS, [f"#{chart}", "--accent"])
            assert painted > 5_000, f"{chart} is blank"
        _, equity_line = page.evaluate(PIXELS, ["#equity-chart", "--accent"])
        _, buys = page.evaluate(PIXELS, ["#price-chart", "--buy"])
        _, sells = page.evaluate(PIXELS, ["#price-chart", "--sell"])
        assert equity_line > 300 and buys > 300 and sells > 300, (equity_line, buys, sells)

        # markup from the result is text: shown literally, nothing ran, no element was made of it
        text = page.inner_text("body")
        assert XSS_BOT in text and XSS_PARAM in text and XSS_SETTING in text
        assert page.inner_text("[data-testid=bot-name]") == XSS_BOT
        assert page.evaluate("window.__xss") is None
        assert page.locator("img[src=x], b[onmouseover]").count() == 0
        assert page.title().startswith("Backtest: <img")

        # tables: metrics, trades, settings and the parity hash are in the page
        assert page.locator("[data-testid=trades] tbody tr").count() > 100
        assert page.locator("tr[data-metric=sharpe] td").nth(1).inner_text() not in ("", "n/a")
        assert len(page.inner_text("[data-testid=parity-hash]")) == 64

        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"backtest-report-{scheme}.png"))

        other = "light" if scheme == "dark" else "dark"
        background = page.evaluate("getComputedStyle(document.body).backgroundColor")
        page.click("#theme")
        page.wait_for_function(f"document.documentElement.dataset.theme === '{other}'")
        page.wait_for_selector("body[data-charts='3']")
        assert page.evaluate("getComputedStyle(document.body).backgroundColor") != background
        _, buys_after = page.evaluate(PIXELS, ["#price-chart", "--buy"])
        assert buys_after > 300  # redrawn in the other theme's buy colour

        assert errors == []
        assert [u for u in requests if not u.startswith("file://")] == []


def test_a_report_without_trades_or_equity_still_opens(tmp_path: Path) -> None:
    from tests.backtest.factory import result

    empty = write_report(result(hours=24, equity=[]), tmp_path).html
    with offline_page("dark") as (page, errors, _):
        page.goto(empty.as_uri())
        page.wait_for_selector("body[data-charts='0']")
        assert "No equity points in this result." in page.inner_text("#equity-chart")
        assert "No trades" in page.inner_text("body")
        assert page.inner_text("tr[data-metric=sharpe] td >> nth=1") == "n/a"
        assert errors == []


def test_compare_page_opens_offline_with_both_runs(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from okxbot.cli.main import app

    write_report(synthetic_grid(seed=3), tmp_path / "a")
    write_report(synthetic_grid(seed=4, bot=XSS_BOT), tmp_path / "b")
    page_path = tmp_path / "compare.html"
    out = CliRunner().invoke(
        app, ["backtest", "compare", str(tmp_path / "a"), str(tmp_path / "b"), "--html", str(page_path)]
    )
    assert out.exit_code == 0, out.output
    with offline_page("light") as (page, errors, requests):
        page.goto(page_path.as_uri())
        page.wait_for_selector("body[data-charts='2']")
        for chart in ("return-chart", "drawdown-chart"):
            _, a_line = page.evaluate(PIXELS, [f"#{chart}", "--accent"])
            _, b_line = page.evaluate(PIXELS, [f"#{chart}", "--hold"])
            assert a_line > 200 and b_line > 200, (chart, a_line, b_line)
        assert XSS_BOT in page.inner_text("[data-testid=runs]")
        assert page.evaluate("window.__xss") is None
        assert page.locator("tr[data-metric=sharpe] td.best").count() == 1
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "backtest-compare-light.png"))
        assert errors == []
        assert [u for u in requests if not u.startswith("file://")] == []


REAL_GRID = """name = "grid-real"
symbol = "BTC/USDT"
strategy = "grid"

[grid]
lower = "59500"
upper = "60500"
levels = 11
size = "0.01"

[backtest]
balances = { USDT = "20000", BTC = "0.5" }
"""


def test_a_real_backtest_run_writes_a_report_that_opens_offline(tmp_path: Path) -> None:
    """`okxbot backtest CONFIG --out DIR --json` on the engine: result.json + report.html, the same
    metrics from `okxbot backtest report DIR --json`, and the page draws the run's own fills."""
    from typer.testing import CliRunner

    from okxbot.cli.main import app
    from tests.backtest.histkit import walk, write_candles

    write_candles(tmp_path / "hist", walk(2 * 1440, seed=5))
    (tmp_path / "grid.toml").write_text(REAL_GRID)
    runner = CliRunner()
    out = runner.invoke(
        app,
        ["backtest", str(tmp_path / "grid.toml"), "--from", "2024-01-01", "--to", "2024-01-03",
         "--data-dir", str(tmp_path / "hist"), "--out", str(tmp_path / "run"), "--json"],
    )  # fmt: skip
    assert out.exit_code == 0, out.output
    ran = json.loads(out.stdout)
    assert ran["report"] == str(tmp_path / "run" / "report.html") and ran["metrics"]["fills"] > 0
    again = json.loads(runner.invoke(app, ["backtest", "report", str(tmp_path / "run"), "--json"]).stdout)
    assert again["metrics"] == ran["metrics"] and again["trades"] == ran["trades"]
    with offline_page("dark") as (page, errors, requests):
        page.goto((tmp_path / "run" / "report.html").as_uri())
        page.wait_for_selector("body[data-charts='3']")
        _, buys = page.evaluate(PIXELS, ["#price-chart", "--buy"])
        _, sells = page.evaluate(PIXELS, ["#price-chart", "--sell"])
        assert buys > 50 and sells > 50, (buys, sells)
        fills = page.inner_text("tr[data-metric=fills] td >> nth=1")
        assert fills == f"{ran['metrics']['fills']:,}"
        assert page.locator("[data-testid=trades] tbody tr").count() == len(ran["trades"])
        assert "latency_ms" in page.inner_text("[data-testid=settings]")
        assert errors == [] and [u for u in requests if not u.startswith("file://")] == []


# every text uPlot draws on a canvas, where it is drawn and how wide it is there
RECORD_LABELS = """
window.__labels = [];
const fillText = CanvasRenderingContext2D.prototype.fillText;
CanvasRenderingContext2D.prototype.fillText = function (text, x, y, ...rest) {
  const canvas = this.canvas;
  canvas.__id = canvas.__id || String(Math.random());
  const width = this.measureText(String(text)).width;
  window.__labels.push({ canvas: canvas.__id, text: String(text), x, y, width, align: this.textAlign });
  return fillText.call(this, text, x, y, ...rest);
};
"""

TIME_LABEL = r"^\d{4}-\d{2}(-\d{2})?$|^\d{2}:\d{2}$"


def test_time_axis_labels_never_overlap_on_a_long_run(tmp_path: Path) -> None:
    # six weeks: the time axis is labelled with dates (its widest labels), at any window width
    html = write_report(synthetic_grid(days=44), tmp_path).html
    with offline_page("light") as (page, errors, _):
        page.add_init_script(RECORD_LABELS)
        for width in (900, 1040, 1180, 1300, 1440):
            # opened at this width (a resize would redraw the charts while they are read)
            page.set_viewport_size({"width": width, "height": 1000})
            page.goto(html.as_uri())
            page.wait_for_selector("body[data-charts='3']")
            _no_overlap(page.evaluate("window.__labels"), width)
        assert errors == []


def _no_overlap(labels: list[dict[str, Any]], width: int) -> None:
    rows: dict[tuple[str, float], list[dict[str, Any]]] = {}
    for label in labels:
        if re.match(TIME_LABEL, label["text"]) and label["align"] == "center":
            rows.setdefault((label["canvas"], label["y"]), []).append(label)
    dated = [row for row in rows.values() if len({label["x"] for label in row}) >= 2]
    assert len(dated) == 3, f"each chart's time axis must have labels ({width} px)"
    for drawn in dated:
        row = sorted({(label["x"], label["text"]): label for label in drawn}.values(), key=lambda lb: lb["x"])
        for left, right in itertools.pairwise(row):
            gap = (right["x"] - right["width"] / 2) - (left["x"] + left["width"] / 2)
            assert gap >= 8, (
                f"{left['text']!r} and {right['text']!r} overlap at {width} px ({gap:.1f} px apart)"
            )
