"""Section 5: the dashboard as a person uses it, in Debian's headless chromium.

Log in (a wrong password first), watch a bot on the simulator update live without reloading, stop
it, and see a request without the CSRF token refused; markup in a bot name, an order id and a log
line is shown as text. A failing step leaves a screenshot in test-artifacts/.
"""

from __future__ import annotations

import asyncio
import logging
import re
from typing import Any

from okxbot.serve.botlogs import current_bot
from okxbot.serve.server import Running
from tests.serve import kit
from tests.serve.browser import browser_page, screenshot_on_failure

XSS_NAME = '<img src=x onerror="window.__xss=1">'
XSS_ORDER = "<img src=x onerror=window.__xss=2>"
XSS_LOG = "<script>window.__xss=3</script><img src=x onerror=window.__xss=4>"


def _login(page: Any, url: str) -> None:
    page.goto(url + "/")
    page.fill("input[name=password]", kit.PASSWORD)
    page.click("button[name=login]")
    page.wait_for_selector("[data-testid=bots]")


def _confirm(page: Any, password: str | None = None) -> None:
    dialog = page.locator("dialog[open]")
    if password is not None:
        dialog.locator("input[name=password]").fill(password)
    dialog.locator("button[name=confirm]").click()
    page.wait_for_selector("dialog[open]", state="detached")


def test_log_in_watch_live_stop_and_csrf(served: Running) -> None:
    with browser_page() as page, screenshot_on_failure(page, "browser-person"):
        page.goto(served.url + "/")
        page.fill("input[name=password]", "this is not my password")
        page.click("button[name=login]")
        page.wait_for_function(
            "document.querySelector('#login-error').textContent.includes('Wrong password')"
        )
        assert page.locator("[data-testid=bots]").count() == 0

        _login(page, served.url)
        row = page.locator("tr[data-bot='grid-a']")
        assert row.get_attribute("data-state") == "stopped"
        # read-only by default: the Start button is disabled until control is unlocked
        assert row.locator("button[name=start-grid-a]").is_disabled()
        page.click("button[name=control-lock]")
        _confirm(page, kit.PASSWORD)
        row.locator("button[name=start-grid-a]").click()
        _confirm(page)
        page.evaluate("window.__sameDocument = 'yes'")
        page.wait_for_selector("tr[data-bot='grid-a'][data-state='running']", timeout=60_000)
        first = int(
            row.locator("[data-testid=bot-fills]").inner_text().replace("\u2009", "").replace("–", "0")
        )
        # live: the fills count grows with no reload (the marker set above survives)
        page.wait_for_function(
            "(n) => Number(document.querySelector(\"tr[data-bot='grid-a'] [data-testid=bot-fills]\")"
            ".textContent.replace(/\\u2009/g, '')) > n",
            arg=first,
            timeout=90_000,
        )
        assert page.evaluate("window.__sameDocument") == "yes"

        # the bot page: chart, orders and fills, updated live as well
        row.locator("a.bot-link").click()
        page.wait_for_selector("[data-testid=price-chart] canvas")
        page.wait_for_selector("[data-testid=open-orders] tr[data-cid]")
        fills_before = page.locator("[data-testid=fills] tr[data-trade]").count()
        page.wait_for_function(
            "(n) => document.querySelectorAll('[data-testid=fills] tr[data-trade]').length > n",
            arg=fills_before,
            timeout=90_000,
        )
        assert page.evaluate("window.__sameDocument") == "yes"

        # a state change without the CSRF token is refused (the page's own cookie goes along)
        status = page.evaluate(
            """async () => (await fetch('/api/bots/grid-a/stop', {method: 'POST',
                 headers: {'Content-Type': 'application/json'}, body: '{"confirm": true}'})).status"""
        )
        assert status == 403
        assert page.locator("[data-testid=bot-name] [data-state]").get_attribute("data-state") == "running"

        page.click("button[name=stop]")
        _confirm(page)
        page.wait_for_selector("[data-testid=bot-name] [data-state='stopped']", timeout=60_000)
        page.wait_for_selector("[data-testid=open-orders] tr.empty")


def test_markup_in_names_ids_and_logs_is_shown_as_text(served: Running, sim: Any) -> None:
    registry = served.ctx.registry
    registry.add_bot(XSS_NAME, kit.grid_config("grid-x", kit.sim_mid(sim.rest)), sim_url=sim.rest)

    async def hostile_event_and_log() -> None:
        served.ctx.supervisor.bus.publish(
            "foreign_order", "grid-a", {"order_id": XSS_ORDER, "symbol": "BTC/USDT"}
        )
        token = current_bot.set("grid-a")
        try:
            logging.getLogger("okxbot.test").warning(XSS_LOG)
        finally:
            current_bot.reset(token)
        await asyncio.sleep(0)

    served.call(hostile_event_and_log)
    kit.wait_for(lambda: registry.recent_events("grid-a", 5), 10, "the event in the database")
    with browser_page() as page, screenshot_on_failure(page, "browser-escaping"):
        _login(page, served.url)
        page.wait_for_function("document.body.innerText.includes('was not placed by okxbot')")
        text = page.inner_text("body")
        assert XSS_NAME in text and XSS_ORDER in text
        page.goto(served.url + "/#/bot/grid-a")
        page.wait_for_function("document.querySelector('[data-testid=logs]').textContent.includes('__xss=3')")
        assert XSS_LOG in page.inner_text("[data-testid=logs]")
        page.goto(
            served.url + "/#/bot/" + re.sub("[<>]", lambda m: "%3C" if m[0] == "<" else "%3E", XSS_NAME)
        )
        page.wait_for_selector("[data-testid=bot-name]")
        assert XSS_NAME in page.inner_text("[data-testid=bot-name]")
        assert page.evaluate("window.__xss") is None
        assert page.locator("img[src=x]").count() == 0 and page.locator("main script").count() == 0


def test_bot_chart_reaches_the_nearest_orders(served: Running, sim: Any) -> None:
    """A grid's orders sit a step or more away from where the price has been: the price axis reaches
    the nearest open order on each side, so the chart shows the bot's orders from the first second."""
    wide = kit.grid_config("grid-wide", kit.sim_mid(sim.rest), step_pct="0.004")
    served.ctx.registry.add_bot("grid-wide", wide, sim_url=sim.rest)
    with browser_page() as page, screenshot_on_failure(page, "browser-chart-orders"):
        _login(page, served.url)
        page.click("button[name=control-lock]")
        _confirm(page, kit.PASSWORD)
        page.locator("tr[data-bot='grid-wide'] button[name=start-grid-wide]").click()
        _confirm(page)
        page.wait_for_selector("tr[data-bot='grid-wide'][data-state='running']", timeout=60_000)
        page.locator("tr[data-bot='grid-wide'] a.bot-link").click()
        page.wait_for_selector("[data-testid=open-orders] tr[data-cid][data-state=live]", timeout=60_000)
        page.wait_for_selector("[data-testid=price-chart][data-order-sides='buy,sell']", timeout=30_000)
        drawn = int(page.get_attribute("[data-testid=price-chart]", "data-orders-shown") or "0")
        assert drawn >= 2
        # every money figure says its currency (fees are summed in the quote currency)
        assert "fees paid (usdt)" in page.inner_text("body").lower()


def test_a_phone_reaches_every_page(served: Running) -> None:
    """On a phone-sized screen the navigation stays (it used to vanish below 1000 px wide, leaving the
    orders, fills, posture and rate-limit pages unreachable), and the figures sit two to a row."""
    with browser_page(viewport=(390, 844)) as page, screenshot_on_failure(page, "browser-phone"):
        _login(page, served.url)
        for route, marker in (("#/orders", "Orders"), ("#/fills", "Fills"), ("#/posture", "Posture")):
            link = page.locator(f"nav a[href='{route}']")
            assert link.is_visible(), f"no visible link to {marker}"
            link.scroll_into_view_if_needed()
            link.click()
            page.wait_for_function("(r) => location.hash === r", arg=route)
            page.wait_for_selector("nav a.active", timeout=10_000)
            assert page.locator("nav a.active").get_attribute("href") == route
        page.locator("nav a[href='#/']").click()
        page.wait_for_selector("[data-testid=bots]")
        boxes = [k.bounding_box() for k in page.locator(".kpi").all()[:2]]
        assert boxes[0] and boxes[1] and abs(boxes[0]["y"] - boxes[1]["y"]) < 2, boxes
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390 + 1, f"the page is {width} px wide on a 390 px screen"


def test_the_api_docs_render_in_the_browser(served: Running) -> None:
    """/docs shows the operations (it showed only "Unable to render this definition": FastAPI's
    OpenAPI 3.1 is beyond the bundled Swagger UI)."""
    with browser_page() as page, screenshot_on_failure(page, "browser-docs"):
        _login(page, served.url)
        page.goto(served.url + "/docs")
        page.wait_for_selector(".opblock", timeout=60_000)
        text = page.inner_text("body")
        assert "Unable to render" not in text
        assert "/api/bots/{name}/stop" in text and "/api/panic" in text
        assert page.locator(".opblock").count() >= 20
