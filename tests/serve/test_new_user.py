"""Issue 15 "Done when", in one go, as a new user does it: set the password and Telegram up with the
CLI, run `okxbot serve` (the real command, in its own process), open the URL it prints in Debian's
chromium, log in, add a bot on the simulator from the page and start it there, watch it trade, get
the fill on Telegram (the local fake of the Bot API), stop it from the page, and scrape /metrics
with an API token made by `okxbot serve token create`.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from okxbot.cli.main import app
from tests.serve import alerts_kit as ak
from tests.serve import kit
from tests.serve.browser import browser_page, screenshot_on_failure
from tests.telegram_fake import FakeTelegram, make_token


@pytest.fixture
def fake() -> Iterator[FakeTelegram]:
    with FakeTelegram(make_token()) as server:
        yield server


def _serve(lines: list[str]) -> tuple[subprocess.Popen[str], str]:
    """`okxbot serve --port 0` in its own process; (the process, the URL it printed)."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "okxbot", "serve", "--port", "0"],
        env=dict(os.environ), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    printed: list[str] = []
    ready = threading.Event()

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line)
            found = re.search(r"dashboard at (http://127\.0\.0\.1:\d+/)", line)
            if found:
                printed.append(found.group(1))
                ready.set()

    threading.Thread(target=read, daemon=True).start()
    if not ready.wait(120):
        proc.kill()
        raise AssertionError("okxbot serve printed no URL:\n" + "".join(lines))
    return proc, printed[0]


def test_a_new_user_starts_a_bot_from_the_page(
    home: Path, sim: Any, fake: FakeTelegram, tmp_path: Path
) -> None:
    runner = CliRunner()
    password_file = tmp_path / "password"
    password_file.write_text(kit.PASSWORD + "\n")
    assert runner.invoke(app, ["serve", "passwd", "--password-file", str(password_file)]).exit_code == 0
    ak.setup_telegram(tmp_path, fake, ak.OWNER)
    fake.add_chat(ak.OWNER)
    created = runner.invoke(app, ["serve", "token", "create", "prometheus"])
    assert created.exit_code == 0, created.output
    token = created.stdout.strip().splitlines()[0]
    config = kit.grid_config("first-bot", kit.sim_mid(sim.rest))

    lines: list[str] = []
    proc, url = _serve(lines)
    try:
        with browser_page() as page, screenshot_on_failure(page, "browser-new-user"):
            page.goto(url)
            page.fill("input[name=password]", kit.PASSWORD)
            page.click("button[name=login]")
            page.wait_for_selector("[data-testid=bots] tr.empty")  # no bots yet
            page.click("button[name=add-bot]")
            # read-only by default: adding a bot asks for the password first
            dialog = page.locator("dialog[open]")
            dialog.locator("input[name=password]").fill(kit.PASSWORD)
            dialog.locator("button[name=confirm]").click()
            form = page.locator("dialog[open]:has(textarea[name=config])")
            form.locator("textarea[name=config]").fill(config)
            form.locator("input[name=sim_url]").fill(sim.rest)
            assert form.locator("input[name=start]").is_checked()
            form.locator("button[type=submit]").click()
            page.wait_for_selector("dialog[open]", state="detached")
            page.wait_for_selector("tr[data-bot='first-bot'][data-state='running']", timeout=90_000)
            page.locator("tr[data-bot='first-bot'] a.bot-link").click()
            page.wait_for_selector("[data-testid=fills] tr[data-trade]", timeout=120_000)
            fill = fake.wait_sent(
                ak.OWNER,
                lambda m: re.search(r"first-bot: (bought|sold) [\d.]+ BTC/USDT at [\d.]+", m["text"]),
                90,
                "the fill on Telegram",
            )
            assert fill["chat"]["id"] == ak.OWNER
            page.click("button[name=stop]")
            page.locator("dialog[open] button[name=confirm]").click()
            page.wait_for_selector("[data-testid=bot-name] [data-state='stopped']", timeout=90_000)
        scraped = httpx.get(url + "metrics", headers={"Authorization": f"Bearer {token}"}, timeout=30)
        assert scraped.status_code == 200
        fills = re.search(r'^okxbot_fills_total\{bot="first-bot"\} ([\d.]+)$', scraped.text, re.M)
        assert fills and float(fills.group(1)) >= 1, scraped.text[:2000]
        assert httpx.get(url + "metrics", timeout=30).status_code == 401
    finally:
        proc.terminate()
        try:
            proc.wait(90)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise
    assert proc.returncode == 0, "".join(lines)
