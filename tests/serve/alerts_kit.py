"""Helpers for the alert tests: a served supervisor with fast alert loops, Telegram set up through the
real CLI against the local fake Bot API, and a bot trading on the simulator."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from okxbot.cli.main import app
from okxbot.serve.server import Running
from okxbot.serve.webhooks import RetryPolicy
from tests.serve import kit
from tests.telegram_fake import FakeTelegram

OWNER = 5_551_234_567  # the owner's private chat (= their user id)
STRANGER = 6_660_000_001
# fast alert loops: settings re-read twice a second, short long-polls, no pacing between messages
FAST_ALERTS: dict[str, Any] = {
    "reload_s": 0.3,
    "lease_ttl_s": 3.0,
    "poll_timeout_s": 2,
    "min_interval_s": 0.05,
    "webhook_policy": RetryPolicy(attempts=3, base_s=0.2, cap_s=2.0, timeout_s=2.0),
}


def cli(*args: str, input: str | None = None) -> Any:
    result = CliRunner().invoke(app, list(args), input=input)
    return result


def setup_telegram(tmp: Path, fake: FakeTelegram, chat_id: int | None = OWNER, *extra: str) -> Any:
    """`okxbot serve telegram setup` with the token in a file (the prompt needs a terminal)."""
    token_file = tmp / "telegram-token"
    token_file.write_text(fake.token + "\n", encoding="utf-8")
    token_file.chmod(0o600)
    args = ["serve", "telegram", "setup", "--token-file", str(token_file), "--api-url", fake.url, *extra]
    if chat_id is not None:
        args += ["--chat-id", str(chat_id)]
    result = cli(*args)
    assert result.exit_code == 0, result.output
    return result


def start(home: Path, **alerts: Any) -> Running:
    return kit.start(home, alerts=dict(FAST_ALERTS, **alerts))


def telegram_ready(running: Running, timeout: float = 30.0) -> Any:
    """The running server's Telegram channel once it has introduced itself to the Bot API."""

    def ready() -> Any:
        channel = running.ctx.alerts.telegram
        return channel if channel is not None and channel.ready.is_set() else None

    return kit.wait_for(ready, timeout, "the Telegram channel ready")


def start_bot(running: Running, name: str = "grid-a") -> None:
    running.call(lambda: running.ctx.supervisor.start_bot(name))


def fills(running: Running, name: str = "grid-a") -> int:
    view = running.call(lambda: running.ctx.supervisor.bot_view(name))
    return int((view or {}).get("status", {}).get("fills") or 0)
