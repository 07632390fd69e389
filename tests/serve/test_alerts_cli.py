"""`okxbot serve telegram|webhook|alerts ...` as a user runs them: secrets never on the command line
nor echoed, bad input refused with what to fix, a test alert reaching the fake Telegram and a real
receiver that verifies the signature with the secret `webhook add` printed."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.serve import alerts_kit as ak
from tests.telegram_fake import FakeTelegram, make_token
from tests.webhook_receiver import Receiver


@pytest.fixture
def fake() -> Iterator[FakeTelegram]:
    with FakeTelegram(make_token()) as server:
        yield server


def test_telegram_setup_checks_and_hides_the_token(home: Path, fake: FakeTelegram, tmp_path: Path) -> None:
    helped = ak.cli("serve", "telegram", "setup", "--help")
    assert "--token-file" in helped.output and "--token " not in helped.output  # never an argument
    bad = tmp_path / "bad"
    bad.write_text("not-a-token")
    result = ak.cli("serve", "telegram", "setup", "--token-file", str(bad), "--api-url", fake.url)
    assert result.exit_code == 2 and "not a bot token" in result.output
    result = ak.cli("serve", "telegram", "setup", "--api-url", fake.url)  # no terminal to prompt at
    assert result.exit_code == 2 and "no terminal" in result.output
    other = tmp_path / "other"
    other.write_text(make_token(7099999999))  # a well-formed token the Bot API does not know
    result = ak.cli("serve", "telegram", "setup", "--token-file", str(other), "--api-url", fake.url)
    assert result.exit_code == 1 and "refused this bot token" in result.output
    assert other.read_text().split(":")[1] not in result.output
    good = tmp_path / "good"
    good.write_text(fake.token)
    result = ak.cli(
        "serve", "telegram", "setup", "--token-file", str(good), "--api-url", "http://example.com"
    )
    assert result.exit_code == 2 and "in the clear" in result.output
    result = ak.cli("serve", "telegram", "allow", "123")
    assert result.exit_code == 2 and "telegram setup" in result.output
    result = ak.setup_telegram(tmp_path, fake, None)
    assert "Token works: bot @okxbot_alerts_bot" in result.output and "telegram allow ID" in result.output
    assert fake.token not in result.output and fake.token.split(":")[1] not in result.output
    assert ak.cli("serve", "telegram", "allow", str(ak.OWNER)).exit_code == 0
    shown = ak.cli("serve", "telegram", "show")
    assert f"Authorised chat: {ak.OWNER}" in shown.output and fake.token.split(":")[1] not in shown.output
    listed = ak.cli("serve", "alerts", "show")
    assert "fill" in listed.output and "silent" in listed.output and f"chat {ak.OWNER}" in listed.output


def test_alerts_test_reaches_telegram_and_a_verifying_webhook(
    home: Path, fake: FakeTelegram, tmp_path: Path
) -> None:
    ak.setup_telegram(tmp_path, fake, ak.OWNER)
    fake.add_chat(ak.OWNER)
    refused = ak.cli("serve", "webhook", "add", "ops", "http://example.com/hook")
    assert refused.exit_code == 2 and "plain http" in refused.output
    with Receiver("unknown until okxbot prints it") as receiver:
        added = ak.cli("serve", "webhook", "add", "ops", receiver.url, "--events", "crash,panic")
        assert added.exit_code == 0, added.output
        receiver.secret = added.output.strip().splitlines()[-1]  # printed once, for the receiver
        assert len(receiver.secret) >= 32
        result = ak.cli("serve", "alerts", "test")
        assert result.exit_code == 0, result.output
        assert "Telegram: sent" in result.output and "Webhook ops" in result.output
        fake.wait_sent(ak.OWNER, lambda m: "test alert" in m["text"], 10, "the test alert")
        (delivery,) = receiver.verified()
        assert delivery.payload["kind"] == "test"
        receiver.default = "500"
        failed = ak.cli("serve", "alerts", "test")
        assert failed.exit_code == 1 and "FAILED" in failed.output
    assert ak.cli("serve", "webhook", "remove", "ops").exit_code == 0
    assert ak.cli("serve", "webhook", "remove", "ops").exit_code == 1
    assert ak.cli("serve", "telegram", "remove").exit_code == 0
    nothing = ak.cli("serve", "alerts", "test")
    assert nothing.exit_code == 1 and "no alert channel" in nothing.output
