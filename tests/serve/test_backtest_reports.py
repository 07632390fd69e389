"""Backtest reports through `okxbot serve`: the results `okxbot backtest CONFIG --out
DATA_DIR/backtests/NAME` wrote are listed and served by the API (read scope), the same figures as
`okxbot backtest report --json`, and the report page opens in the browser under its own strict policy
(only its own inline script and style run) with its charts drawn."""

from __future__ import annotations

import json
from typing import Any

import httpx

from okxbot.backtest.report import report_json, write_report
from okxbot.serve.server import Running
from tests.backtest.factory import synthetic_grid
from tests.serve import kit
from tests.serve.browser import browser_page, screenshot_on_failure


def test_backtest_reports_are_listed_and_served(served: Running, client: kit.Client) -> None:
    result = synthetic_grid(days=2)
    root = served.ctx.home / "backtests"
    write_report(result, root / "grid-week")
    (root / "broken").mkdir()
    (root / "broken" / "result.json").write_text("{not json")

    assert httpx.get(served.url + "/api/backtests/grid-week", timeout=10).status_code == 401
    assert client.login().status_code == 200
    listed = {row["name"]: row for row in client.get("/api/backtests").json()}
    assert set(listed) == {"grid-week", "broken"}
    row = listed["grid-week"]
    expected = json.loads(json.dumps(report_json(result)))  # as `okxbot backtest report --json` prints
    assert row["bot"] == result.bot and row["strategy"] == result.strategy and row["report"] is True
    assert row["metrics"]["net_profit"] == expected["metrics"]["net_profit"]  # exact decimal strings
    assert "not a readable result file" in listed["broken"]["error"]

    detail = client.get("/api/backtests/grid-week").json()
    assert detail["metrics"] == expected["metrics"] and detail["trades"] == expected["trades"]
    assert detail["parity_hash"] == result.parity_hash()
    for name in ("..%2F..%2Fjournal.sqlite", "nothing-here", ".hidden"):
        assert client.get(f"/api/backtests/{name}").status_code == 404, name

    page = client.get("/api/backtests/grid-week/report")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    policy = page.headers["Content-Security-Policy"]
    assert "'sha256-" in policy and "unsafe-inline" not in policy and "'self'" not in policy


def test_a_backtest_report_opens_in_the_browser_under_its_own_policy(served: Running) -> None:
    write_report(synthetic_grid(days=2), served.ctx.home / "backtests" / "grid-week")
    # the real Content-Security-Policy in force: a script or style it did not allow would not run
    with browser_page(bypass_csp=False) as page, screenshot_on_failure(page, "browser-backtest-report"):
        problems: list[str] = []

        def seen(message: Any) -> None:
            if message.type == "error":
                problems.append(message.text)

        page.goto(served.url + "/")
        page.fill("input[name=password]", kit.PASSWORD)
        page.click("button[name=login]")
        page.wait_for_selector("[data-testid=bots]")
        page.on("console", seen)  # (the login page's own check of a session answers 401)
        page.goto(served.url + "/api/backtests/grid-week/report")
        for chart in ("equity-chart", "drawdown-chart", "price-chart"):
            page.wait_for_selector(f"[data-testid={chart}] canvas")
        assert page.locator("[data-testid=metrics] tr").count() > 5
        assert not problems, problems
