"""Telegram, end to end: `okxbot serve` with a bot trading on the simulator talks over real HTTP to a
local fake of the Bot API (tests/telegram_fake.py), set up through the real CLI. A fill reaches the
owner's chat; strangers are ignored; /stop and /panic act only once confirmed."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from okxbot.serve.server import Running
from okxbot.serve.telegram_commands import Confirmations
from tests.serve import alerts_kit as ak
from tests.serve import kit
from tests.telegram_fake import FakeTelegram, make_token

OWNER, STRANGER = ak.OWNER, ak.STRANGER


@pytest.fixture
def fake() -> Iterator[FakeTelegram]:
    with FakeTelegram(make_token()) as server:
        yield server


@pytest.fixture
def alerting(home: Path, sim: Any, fake: FakeTelegram, tmp_path: Path) -> Iterator[Running]:
    """okxbot serve with Telegram set up for the owner's chat and grid-a registered (not started)."""
    kit.set_password(home)
    ak.setup_telegram(tmp_path, fake, OWNER)
    fake.add_chat(OWNER)  # the owner has started the bot: it may write to them
    running = ak.start(home)
    running.ctx.registry.add_bot("grid-a", kit.grid_config("grid-a", kit.sim_mid(sim.rest)), sim_url=sim.rest)
    try:
        ak.telegram_ready(running)
        yield running
    finally:
        running.stop()


def _reply(fake: FakeTelegram, after: int, what: str, match: Any, timeout: float = 60.0) -> dict[str, Any]:
    """The first message to the owner, after the first `after` ones, that matches."""
    return fake.wait_sent(
        OWNER,
        lambda m: m["message_id"] > after and bool(match(m["text"])),
        timeout,
        what,
    )


def _last_id(fake: FakeTelegram) -> int:
    sent = fake.sent(OWNER)
    return sent[-1]["message_id"] if sent else 0


def test_a_fill_reaches_the_owners_telegram(alerting: Running, fake: FakeTelegram) -> None:
    """Done when: a bot on the simulator fills an order -> the Telegram fake gets the fill message."""
    ak.start_bot(alerting)
    message = fake.wait_sent(
        OWNER, lambda m: re.search(r"grid-a: (bought|sold) [\d.]+ BTC/USDT at [\d.]+", m["text"]), 90, "fill"
    )
    assert message["silent"] is True  # fills are "silent" by default: delivered without a sound
    # the bot introduced itself the way python-telegram-bot does, with the token in the URL path
    assert fake.calls("getMe") and fake.calls("deleteWebhook")
    assert {c["command"] for c in fake.commands()} >= {
        "status",
        "balance",
        "profit",
        "daily",
        "bots",
        "stop",
        "panic",
    }
    assert all(m["chat"]["id"] == OWNER for m in fake.sent())
    # plain text: a name or an error holding markup is shown as typed, never interpreted
    assert all("parse_mode" not in params for _, params in fake.calls("sendMessage"))

    def sent() -> float:  # counted once sendMessage has returned
        metrics = alerting.ctx.metrics.render().decode()
        found = re.search(r'okxbot_notifications_sent_total\{channel="telegram"\} ([\d.]+)', metrics)
        return float(found.group(1)) if found else 0.0

    kit.wait_for(lambda: sent() >= 1, 30, "the sent counter")


def test_strangers_are_ignored_and_the_owner_is_answered(
    alerting: Running, fake: FakeTelegram, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="okxbot.serve.telegram")
    ak.start_bot(alerting)
    kit.wait_for(lambda: ak.fills(alerting) > 0, 90, "a fill")
    fake.send(STRANGER, "/start", name="Mallory")
    fake.send(STRANGER, "/stop grid-a", name="Mallory")
    fake.send(STRANGER, "/panic main 12345678", name="Mallory")
    before = _last_id(fake)
    fake.send(OWNER, "/status")
    status = _reply(fake, before, "/status answer", lambda t: "grid-a · running" in t)
    assert "PnL" in status["text"] and "fills" in status["text"]
    # the owner's answer came after the stranger's updates: they were read, and nothing was sent back
    assert not fake.sent(STRANGER)
    assert all(m["chat"]["id"] == OWNER for m in fake.sent())
    # the stranger's /stop was not acted on
    assert alerting.call(lambda: alerting.ctx.supervisor.bot_view("grid-a"))["state"] == "running"
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert f"chat {STRANGER}" in logged and f"okxbot serve telegram allow {STRANGER}" in logged
    assert "12345678" not in logged and "/panic" not in logged  # the content is not logged, nor acted on
    assert alerting.ctx.alerts.metrics.ignored._value.get() >= 3


def test_read_commands_answer_from_the_bots(alerting: Running, fake: FakeTelegram) -> None:
    ak.start_bot(alerting)
    kit.wait_for(lambda: ak.fills(alerting) > 0, 90, "a fill")
    for command, expect in (
        ("/bots", r"grid-a: running on sup-a"),
        ("/balance", r"USDT [\d.]+ \(available"),
        ("/profit", r"grid-a: [+-]?[\d.]+ USDT.*\nTotal: "),
        ("/daily", r"\d{4}-\d\d-\d\d: grid-a [+-]?[\d.]+ USDT \(\d+ fills\)"),
        ("/help", r"/panic - "),
        ("/nonsense", r"Unknown command /nonsense"),
    ):
        before = _last_id(fake)
        fake.send(OWNER, command)
        _reply(fake, before, f"{command} answer", lambda t, e=expect: re.search(e, t, re.S))


def test_stop_asks_to_confirm_then_stops(alerting: Running, fake: FakeTelegram) -> None:
    ak.start_bot(alerting)
    kit.wait_for(lambda: ak.fills(alerting) > 0, 90, "a fill")

    def state() -> str:
        return str(alerting.call(lambda: alerting.ctx.supervisor.bot_view("grid-a"))["state"])

    # asked, then declined with the button
    before = _last_id(fake)
    fake.send(OWNER, "/stop grid-a")
    prompt = _reply(fake, before, "stop prompt", lambda t: t.startswith("Stop bot grid-a?"))
    buttons = [b for row in prompt["reply_markup"]["inline_keyboard"] for b in row]
    assert [b["text"] for b in buttons] == ["Stop grid-a", "Keep it running"]
    keep = fake.press(OWNER, prompt["message_id"], buttons[1]["callback_data"])
    kit.wait_for(lambda: fake.query(keep)["answered"], 30, "the button answered")
    kit.wait_for(lambda: "keeps running" in fake.message(OWNER, prompt["message_id"])["text"], 30, "edit")
    assert state() == "running"
    # a used confirmation does nothing
    again = fake.press(OWNER, prompt["message_id"], buttons[0]["callback_data"])
    kit.wait_for(lambda: fake.query(again)["answered"], 30, "the button answered")
    assert "expired" in fake.query(again)["text"]
    assert state() == "running"
    # a wrong code does nothing, and spends the confirmation
    before = _last_id(fake)
    fake.send(OWNER, "/stop grid-a")
    prompt = _reply(fake, before, "stop prompt", lambda t: t.startswith("Stop bot grid-a?"))
    code = re.search(r"/stop grid-a (\d{6})", prompt["text"]).group(1)  # type: ignore[union-attr]
    wrong = "000000" if code != "000000" else "111111"
    before = _last_id(fake)
    fake.send(OWNER, f"/stop grid-a {wrong}")
    _reply(fake, before, "refusal", lambda t: "Wrong or expired code" in t)
    before = _last_id(fake)
    fake.send(OWNER, f"/stop grid-a {code}")
    _reply(fake, before, "refusal", lambda t: "Wrong or expired code" in t)
    assert state() == "running"
    # asked, then confirmed with the button: stopped (orders canceled), told so
    before = _last_id(fake)
    fake.send(OWNER, "/stop grid-a")
    prompt = _reply(fake, before, "stop prompt", lambda t: t.startswith("Stop bot grid-a?"))
    stop = prompt["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
    fake.press(OWNER, prompt["message_id"], stop)
    _reply(
        fake, prompt["message_id"], "stopped", lambda t: t.startswith("grid-a stopped. Open orders left: 0")
    )
    assert state() == "stopped"
    assert "reply_markup" not in fake.message(OWNER, prompt["message_id"])  # buttons gone
    # ... and /stop NAME CODE works too (after a start)
    ak.start_bot(alerting)
    kit.wait_for(lambda: state() == "running", 60, "grid-a running again")
    before = _last_id(fake)
    fake.send(OWNER, "/stop grid-a")
    prompt = _reply(fake, before, "stop prompt", lambda t: t.startswith("Stop bot grid-a?"))
    code = re.search(r"/stop grid-a (\d{6})", prompt["text"]).group(1)  # type: ignore[union-attr]
    fake.send(OWNER, f"/stop grid-a {code}")
    _reply(fake, prompt["message_id"], "stopped", lambda t: t.startswith("grid-a stopped."))
    assert state() == "stopped"


def test_panic_needs_a_fresh_single_use_code(alerting: Running, fake: FakeTelegram) -> None:
    from okxbot.vault.store import Vault

    ak.start_bot(alerting)
    kit.wait_for(lambda: ak.fills(alerting) > 0, 90, "a fill")
    view = alerting.call(lambda: alerting.ctx.supervisor.bot_view("grid-a"))
    profile = view["status"]["key_profile"]
    before = _last_id(fake)
    fake.send(OWNER, "/panic")
    _reply(fake, before, "usage", lambda t: t.startswith("Usage: /panic PROFILE") and profile in t)
    before = _last_id(fake)
    fake.send(OWNER, f"/panic {profile}")
    prompt = _reply(fake, before, "panic prompt", lambda t: t.startswith(f"PANIC for profile {profile}"))
    code = re.search(rf"/panic {re.escape(profile)} (\d{{8}})", prompt["text"]).group(1)  # type: ignore[union-attr]
    wrong = "0" * 8 if code != "0" * 8 else "1" * 8
    before = _last_id(fake)
    fake.send(OWNER, f"/panic {profile} {wrong}")
    _reply(fake, before, "refusal", lambda t: "nothing was done" in t)
    before = _last_id(fake)
    fake.send(OWNER, f"/panic {profile} {code}")  # the right code, after a wrong one: spent
    _reply(fake, before, "refusal", lambda t: "nothing was done" in t)
    assert not Vault().profiles.get(profile).disabled
    assert alerting.call(lambda: alerting.ctx.supervisor.bot_view("grid-a"))["state"] == "running"
    before = _last_id(fake)
    fake.send(OWNER, f"/panic {profile}")
    prompt = _reply(fake, before, "panic prompt", lambda t: t.startswith(f"PANIC for profile {profile}"))
    code = re.search(rf"/panic {re.escape(profile)} (\d{{8}})", prompt["text"]).group(1)  # type: ignore[union-attr]
    fake.send(OWNER, f"/panic {profile} {code}")
    done = _reply(
        fake, prompt["message_id"], "panic result", lambda t: t.startswith(f"Panic done for {profile}"), 120
    )
    assert "Bots stopped: grid-a" in done["text"] and "Report: " in done["text"]
    # the same path as the dashboard's panic: profile disabled, bot stopped, the panic alert sent
    assert Vault().profiles.get(profile).disabled
    assert alerting.call(lambda: alerting.ctx.supervisor.bot_view("grid-a"))["state"] == "stopped"
    _reply(fake, before, "panic alert", lambda t: t.startswith(f"PANIC ran for profile {profile}"))


def test_levels_choose_what_is_sent_and_how(alerting: Running, fake: FakeTelegram) -> None:
    """on: with sound; silent: disable_notification; off: not sent (set through the CLI, applied live)."""
    for kinds, level in (("foreign_order", "off"), ("halted", "on"), ("crash,rate_limited", "silent")):
        result = ak.cli("serve", "alerts", "level", kinds, level)
        assert result.exit_code == 0, result.output
    bad = ak.cli("serve", "alerts", "level", "fills", "on")
    assert bad.exit_code == 2 and "unknown alert kind fills" in bad.output
    bad = ak.cli("serve", "alerts", "level", "fill", "loud")
    assert bad.exit_code == 2 and "level must be one of on, silent, off" in bad.output
    kit.wait_for(lambda: alerting.ctx.alerts.settings.level("foreign_order") == "off", 10, "levels applied")
    bus = alerting.ctx.supervisor.bus

    def publish() -> Any:
        async def go() -> None:
            bus.publish("foreign_order", "grid-a", {"order_id": "777", "symbol": "BTC-USDT"})
            bus.publish("rate_limited", "grid-a", {"count": 5, "window_s": 10.0})
            bus.publish("halted", "grid-a", {"rule": "daily_loss_limit"})

        return go

    alerting.call(publish())
    halted = fake.wait_sent(
        OWNER, lambda m: "HALTED by the risk guard (rule daily_loss_limit)" in m["text"], 30, "halt"
    )
    limited = fake.wait_sent(OWNER, lambda m: "5 rate-limit answers (50011)" in m["text"], 30, "burst")
    texts = "\n".join(m["text"] for m in fake.sent(OWNER))
    assert "order 777" not in texts  # published first, and off: never sent
    if halted["message_id"] == limited["message_id"]:  # sent together: loud wins
        assert halted["silent"] is False
    else:
        assert limited["silent"] is True and halted["silent"] is False


def test_flood_control_and_stale_commands(alerting: Running, fake: FakeTelegram) -> None:
    fake.flood("sendMessage", retry_after=1, count=2)
    alerting.call(
        lambda: _async(lambda: alerting.ctx.supervisor.bus.publish("halted", "grid-a", {"rule": "x"}))
    )
    fake.wait_sent(OWNER, lambda m: "HALTED" in m["text"], 30, "the alert after Telegram's 429s")
    assert len(fake.calls("sendMessage")) >= 3
    before = _last_id(fake)
    fake.send(OWNER, "/stop grid-a", age_s=900)  # sent 15 minutes ago, while nobody was polling
    _reply(fake, before, "stale notice", lambda t: t.startswith("Ignored /stop"))
    assert not any(m["text"].startswith("Stop bot") for m in fake.sent(OWNER))


async def _async(fn: Any) -> Any:
    return fn()


def test_confirmations_expire_and_are_single_use() -> None:
    now = [1000.0]
    c = Confirmations(clock=lambda: now[0])
    p = c.new("panic", "main", 60, digits=8)
    assert len(p.code) == 8 and p.code.isdigit()
    now[0] += 61
    assert c.take_code("panic", "main", p.code) is None  # expired
    p = c.new("panic", "main", 60, digits=8)
    assert c.take_code("panic", "other", p.code) is None  # for another profile
    assert c.take_code("panic", "main", p.code) is not None
    assert c.take_code("panic", "main", p.code) is None  # used
    p = c.new("stop", "a", 120)
    q = c.new("stop", "a", 120)  # a new request replaces the old one
    assert c.take_token(p.token) is None and c.take_token(q.token) is not None


def test_read_only_telegram_refuses_control(alerting: Running, fake: FakeTelegram) -> None:
    from okxbot.serve.alert_settings import AlertStore

    AlertStore(alerting.ctx.registry.engine).set_telegram(control=False)  # what setup --read-only stores
    kit.wait_for(lambda: not alerting.ctx.alerts.settings.telegram_control, 10, "read-only applied")
    for command in ("/stop grid-a", "/panic main"):
        before = _last_id(fake)
        fake.send(OWNER, command)
        _reply(fake, before, f"refusal of {command}", lambda t: t.startswith("Control from Telegram is off"))
    before = _last_id(fake)
    fake.send(OWNER, "/bots")  # reading still works
    _reply(fake, before, "/bots answer", lambda t: "grid-a: " in t)
