"""A bot that crashes while it trades (an unexpected error ends one of its loops) is restarted by the
supervisor after a backoff, reconciling with the exchange first: its open orders adopted, none
foreign, no grid level doubled; the crash is an event (what alerts are sent from) and a count."""

from __future__ import annotations

from typing import Any

from okxbot.serve.server import Running
from tests.serve import kit


def _open_ids(view: dict[str, Any]) -> set[str]:
    return {o["client_order_id"] for o in view["status"].get("orders") or []}


def test_a_bot_crashing_while_it_trades_is_restarted_after_reconciling(
    served: Running, client: kit.Client
) -> None:
    assert client.login().status_code == 200 and client.unlock().status_code == 200
    assert client.post("/api/bots/grid-a/start", {"confirm": True}).status_code == 200
    view = kit.wait_for(
        lambda: (v := kit.bot_view(client, "grid-a"))["state"] == "running" and _open_ids(v) and v,
        90,
        "grid-a trading",
    )
    assert view["restarts"] == 0
    left_open = _open_ids(view)

    async def break_the_poll_loop() -> None:
        manager = served.ctx.supervisor.slots["grid-a"].runner.manager

        async def broken() -> None:
            raise RuntimeError("an error no loop expects")

        manager.poll = broken  # the bot's REST poll loop meets it at its next round

    served.call(break_the_poll_loop)

    def back() -> dict[str, Any] | None:
        v = kit.bot_view(client, "grid-a")
        rec = v["status"].get("reconciliation") or {}
        # the new life's reconciliation: it found the orders the crashed one left in the journal
        ok = v["restarts"] >= 1 and v["state"] == "running" and rec.get("journal_open_before")
        return v if ok and _open_ids(v) else None

    view = kit.wait_for(back, 90, "grid-a restarted and trading again")
    crashes = [e for e in client.get("/api/bots/grid-a/events").json() if e["kind"] == "crash"]
    assert crashes and "an error no loop expects" in crashes[0]["data"]["error"]
    assert crashes[0]["data"]["restart_in_s"] > 0  # after a backoff, not at once
    rec = view["status"]["reconciliation"]
    assert rec["foreign"] == 0, rec  # (an order in flight at the crash may be in doubt: settled later)
    levels = [(o["side"], o["price"]) for o in view["status"]["orders"]]
    assert len(levels) == len(set(levels)), f"a grid level holds two orders: {sorted(levels)}"
    assert _open_ids(view) & left_open, "the orders open at the crash were replaced instead of adopted"
    assert client.post("/api/bots/grid-a/stop", {"confirm": True}).status_code == 200
