"""Webhooks against a real receiver on loopback (tests/webhook_receiver.py), which verifies the HMAC as
the README tells users to: signed deliveries, retries with a growing backoff on 500 and timeouts, no
retry on 4xx, a bounded outbox whose drops are counted, and a bot that keeps trading while an
endpoint hangs."""

from __future__ import annotations

import asyncio
import re
import time
from pathlib import Path
from typing import Any

import httpx

from okxbot.serve.alert_outbox import AlertMetrics
from okxbot.serve.alert_text import Alert
from okxbot.serve.webhooks import RetryPolicy, WebhookChannel, sign, verify
from okxbot.vault.secret import Secret
from tests.serve import alerts_kit as ak
from tests.serve import kit
from tests.webhook_receiver import Receiver

SECRET = "whsec-test-0123456789abcdefghijklmnop"


def _readme_receiver() -> Any:
    """The `verify` function of the README's webhook section, as a user would copy it."""
    text = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    found = re.search(r"A receiver verifies like this:\n\n```python\n(.*?)```", text, re.S)
    assert found, "the README lost its webhook verification example"
    namespace: dict[str, Any] = {}
    exec(found.group(1), namespace)  # noqa: S102 - the README's own example
    return namespace["verify"]


def _alert(n: int = 0) -> Alert:
    return Alert("fill", "fill", "grid-a", f"grid-a: bought 0.001 BTC/USDT at 4300{n}", {"price": f"4300{n}"})


def _channel(
    receiver: Receiver, policy: RetryPolicy, maxsize: int = 1000, secret: str = SECRET
) -> WebhookChannel:
    return WebhookChannel(
        "test", Secret(receiver.url), Secret(secret), AlertMetrics(None), policy=policy, maxsize=maxsize
    )


def _count(channel: WebhookChannel, counter: str) -> float:
    return float(getattr(channel.metrics, counter).labels(channel.channel)._value.get())


async def _deliver(channel: WebhookChannel, alert: Alert) -> bool:
    channel.start()
    try:
        return await channel.deliver(alert)
    finally:
        await channel.close()


def test_deliveries_are_signed_and_verifiable() -> None:
    with Receiver(SECRET) as receiver:
        channel = _channel(receiver, RetryPolicy(attempts=1))
        alert = _alert()
        assert asyncio.run(_deliver(channel, alert))
        (got,) = receiver.verified()
        assert got.payload == alert.payload()
        assert got.headers["X-Okxbot-Event"] == "fill" and got.headers["X-Okxbot-Delivery"] == alert.id
        assert got.headers["Content-Type"] == "application/json"
        ts, signature = got.headers["X-Okxbot-Timestamp"], got.headers["X-Okxbot-Signature"]
        assert verify(SECRET, ts, signature, got.body)
        assert not verify(SECRET, ts, signature, got.body.replace(b"43000", b"43001"))  # tampered
        assert not verify("another secret", ts, signature, got.body)
        assert not verify(SECRET, ts, signature, got.body, now=int(ts) + 301)  # a replay, later
        assert sign(SECRET, int(ts), got.body) == signature
        # the receiver code the README shows accepts it, once, and refuses an altered body
        readme_verify, seen = _readme_receiver(), set()
        assert readme_verify(SECRET, got.headers, got.body, seen)
        assert not readme_verify(SECRET, got.headers, got.body, seen)  # the same delivery again
        assert not readme_verify(SECRET, got.headers, got.body.replace(b"43000", b"43001"), set())
        assert _count(channel, "sent") == 1
        # signed with the wrong secret: the receiver refuses (401), which is final: no retry
        wrong = _channel(receiver, RetryPolicy(attempts=3, base_s=0.05), secret="not-the-receiver-secret-123")
        assert not asyncio.run(_deliver(wrong, _alert(1)))
        assert [d.why for d in receiver.all()[1:]] == ["bad signature"]
        assert _count(wrong, "failed") == 1 and _count(wrong, "retries") == 0


def test_server_errors_are_retried_with_a_growing_backoff() -> None:
    with Receiver(SECRET) as receiver:
        receiver.script = ["500", "500"]
        channel = _channel(receiver, RetryPolicy(attempts=4, base_s=0.2, cap_s=5.0))
        assert asyncio.run(_deliver(channel, _alert()))
        tries = receiver.all()
        assert [d.answered for d in tries] == ["500", "500", "ok"]
        assert len({d.headers["X-Okxbot-Delivery"] for d in tries}) == 1  # one delivery, retried
        assert [d.headers["X-Okxbot-Attempt"] for d in tries] == ["1", "2", "3"]
        assert all(d.verified for d in tries)  # each attempt freshly signed
        first_gap, second_gap = tries[1].at - tries[0].at, tries[2].at - tries[1].at
        assert first_gap >= 0.1 and second_gap >= 0.2  # half of 0.2 s, then half of 0.4 s, at least
        assert (_count(channel, "sent"), _count(channel, "retries"), _count(channel, "failed")) == (1, 2, 0)


def test_client_errors_are_not_retried_and_timeouts_are() -> None:
    with Receiver(SECRET) as receiver:
        receiver.script = ["400"]
        channel = _channel(receiver, RetryPolicy(attempts=3, base_s=0.05))
        assert not asyncio.run(_deliver(channel, _alert()))
        assert len(receiver.all()) == 1 and _count(channel, "failed") == 1
        receiver.script = ["hang", "ok"]
        channel = _channel(receiver, RetryPolicy(attempts=3, base_s=0.05, timeout_s=0.5))
        assert asyncio.run(_deliver(channel, _alert(2)))
        assert [d.answered for d in receiver.all()[1:]] == ["hang", "ok"]
        assert _count(channel, "retries") == 1 and _count(channel, "sent") == 1


def test_a_dead_endpoint_keeps_memory_bounded_and_counts_drops() -> None:
    async def main(receiver: Receiver) -> WebhookChannel:
        channel = _channel(receiver, RetryPolicy(attempts=2, base_s=0.05, timeout_s=0.3), maxsize=5)
        channel.start()
        try:
            for n in range(50):
                channel.offer(_alert(n))  # never waits, whatever the endpoint does
                await asyncio.sleep(0)
            assert len(channel.outbox) <= 5
            deadline = time.monotonic() + 30
            while _count(channel, "failed") < 1 and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
        finally:
            await channel.close()
        return channel

    with Receiver(SECRET) as receiver:
        receiver.default = "hang"
        channel = asyncio.run(main(receiver))
    dropped = _count(channel, "dropped")
    assert dropped >= 44 and dropped == channel.outbox.dropped  # 50 offered, <= 5 queued, 1 in flight
    assert _count(channel, "failed") >= 1


def test_a_hanging_webhook_never_blocks_trading(home: Path, sim: Any, tmp_path: Path) -> None:
    """A bot trades on under `okxbot serve` while one webhook endpoint hangs; another webhook gets
    every fill, signed; /metrics counts what the hanging one dropped."""
    kit.set_password(home)
    good_secret, slow_secret = "good-secret-0123456789abcdef", "slow-secret-0123456789abcdef"
    with Receiver(good_secret) as good, Receiver(slow_secret) as slow:
        slow.default = "hang"
        for name, receiver, secret, events in (
            ("good", good, good_secret, "fill,crash"),
            ("slow", slow, slow_secret, "all"),
        ):
            secret_file = tmp_path / f"{name}.secret"
            secret_file.write_text(secret)
            result = ak.cli(
                "serve",
                "webhook",
                "add",
                name,
                receiver.url,
                "--events",
                events,
                "--secret-file",
                str(secret_file),
            )
            assert result.exit_code == 0, result.output
            assert secret not in result.output  # the user's own secret is not echoed
        listed = ak.cli("serve", "webhook", "list")
        assert "good" in listed.output and "/hooks/okxbot" not in listed.output  # host only
        running = ak.start(
            home,
            webhook_maxsize=3,
            webhook_policy=RetryPolicy(attempts=2, base_s=0.2, cap_s=1.0, timeout_s=1.5),
        )
        try:
            running.ctx.registry.add_bot(
                "grid-a", kit.grid_config("grid-a", kit.sim_mid(sim.rest)), sim_url=sim.rest
            )
            ak.start_bot(running)
            kit.wait_for(lambda: slow.all(), 90, "a delivery to the hanging endpoint")
            hung_at = ak.fills(running)
            # the endpoint hangs; the bot goes on filling orders
            kit.wait_for(lambda: ak.fills(running) >= hung_at + 4, 120, "fills while the webhook hangs")
            fills = kit.wait_for(
                lambda: len(good.verified()) >= 4 and good.verified(), 60, "fills at the good hook"
            )
            payload = fills[0].payload
            assert payload["kind"] == "fill" and payload["bot"] == "grid-a" and payload["data"]["price"]
            assert all(d.headers["X-Okxbot-Event"] in ("fill", "crash") for d in good.all())
            token = running.ctx.access.create_token("prometheus", ("read",))

            def dropped() -> float:
                text = httpx.get(f"{running.url}/metrics", headers={"Authorization": f"Bearer {token}"}).text
                found = re.search(
                    r'okxbot_notifications_dropped_total\{channel="webhook:slow"\} ([\d.e+]+)', text
                )
                return float(found.group(1)) if found else 0.0

            assert kit.wait_for(lambda: dropped() > 0, 120, "drops counted for the hanging webhook")
            assert ak.fills(running) >= hung_at + 4
        finally:
            running.stop()
