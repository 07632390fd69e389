"""Which supervisor events become alerts, and what they say (plain text, secrets scrubbed)."""

from __future__ import annotations

from okxbot.serve.alert_text import RATE_LIMITED_EVERY_S, AlertMaker
from okxbot.serve.events import Event
from okxbot.vault import redact


def _ev(kind: str, data: dict, bot: str = "grid-a") -> Event:
    return Event(kind, bot, data, origin="sup-a")


def test_every_alert_kind_reads_as_a_sentence() -> None:
    maker = AlertMaker()
    fill = maker.alert(_ev("fill", {"side": "sell", "size": "0.001", "symbol": "BTC/USDT", "price": "43000.1",
                                    "fee": "-0.0344", "fee_ccy": "USDT"}))  # fmt: skip
    assert fill is not None and fill.kind == "fill"
    assert fill.text == "grid-a: sold 0.001 BTC/USDT at 43000.1 (fee -0.0344 USDT)"
    assert fill.payload()["data"]["price"] == "43000.1" and fill.payload()["origin"] == "sup-a"
    halted = maker.alert(_ev("halted", {"rule": "daily_loss_limit"}))
    assert halted is not None and "HALTED by the risk guard (rule daily_loss_limit)" in halted.text
    foreign = maker.alert(_ev("foreign_order", {"order_id": "99", "symbol": "BTC-USDT"}))
    assert foreign is not None and "order 99 on BTC-USDT" in foreign.text and "/panic" in foreign.text
    posture = maker.alert(_ev("posture", {"profile": "main", "checks": [
        {"check": "withdraw permission", "detail": "the key can withdraw", "fix": "remove it on OKX"}]}, bot=""))  # fmt: skip
    assert posture is not None and posture.text == (
        "Key posture of profile main is failing: withdraw permission: the key can withdraw (fix: remove it on OKX)"
    )
    panic = maker.alert(_ev("panic", {"profile": "main", "bots_stopped": ["grid-a"], "done": ["disabled"],
                                      "not_done": ["delete the key on OKX"]}, bot=""))  # fmt: skip
    assert panic is not None and "NOT DONE: delete the key on OKX" in panic.text
    assert maker.alert(_ev("order", {"state": "live"})) is None  # not an alert
    assert maker.alert(_ev("bot", {"state": "running", "previous": "starting"})) is None  # a normal start


def test_a_crash_then_the_restart_then_a_failure() -> None:
    maker = AlertMaker()
    crash = maker.alert(_ev("crash", {"error": "NetworkError: reset", "restart_in_s": 2.0, "restarts": 1}))
    assert crash is not None and crash.text == "grid-a CRASHED: NetworkError: reset. Restart #1 in 2.0 s."
    assert maker.alert(_ev("bot", {"state": "starting", "previous": "backoff"})) is None
    back = maker.alert(_ev("bot", {"state": "running", "previous": "starting"}))
    assert back is not None and back.kind == "crash" and back.event == "restarted"
    assert maker.alert(_ev("bot", {"state": "running", "previous": "starting"})) is None  # told once
    failed = maker.alert(_ev("bot", {"state": "failed", "previous": "starting", "error": "bad config"}))
    assert failed is not None and failed.event == "failed" and "will not restart" in failed.text


def test_rate_limit_bursts_alert_at_most_once_a_minute() -> None:
    now = [0.0]
    maker = AlertMaker(clock=lambda: now[0])
    burst = {"count": 4, "window_s": 10.0}
    assert maker.alert(_ev("rate_limited", burst)) is not None
    now[0] += 5
    assert maker.alert(_ev("rate_limited", burst)) is None
    assert maker.alert(_ev("rate_limited", burst)) is None
    assert maker.alert(_ev("rate_limited", burst, bot="grid-b")) is not None  # per bot
    now[0] += RATE_LIMITED_EVERY_S
    later = maker.alert(_ev("rate_limited", burst))
    assert later is not None and "(2 more bursts" in later.text


def test_names_stay_as_typed_and_secrets_are_scrubbed() -> None:
    secret = "a-registered-secret-value-0042"
    redact.register([secret])
    maker = AlertMaker()
    crash = maker.alert(_ev("crash", {"error": f"failed with {secret}", "restart_in_s": 1, "restarts": 1},
                            bot="<b>x</b>"))  # fmt: skip
    assert crash is not None and crash.text.startswith("<b>x</b> CRASHED") and secret not in crash.text
