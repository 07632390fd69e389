"""The API's control actions and data views on a bot trading on the simulator: cancel one order (the
dashboard's Cancel button), cancel all, balances, posture, journal status."""

from __future__ import annotations

from typing import Any

from okxbot.serve.server import Running
from tests.serve import kit


def test_cancel_one_order_then_all_and_read_balances_posture_journal(
    served: Running, client: kit.Client
) -> None:
    assert client.login().status_code == 200 and client.unlock().status_code == 200
    assert client.post("/api/bots/grid-a/start", {"confirm": True}).status_code == 200

    def open_orders() -> list[dict[str, Any]] | None:
        view = kit.bot_view(client, "grid-a")
        orders = [o for o in view["status"].get("orders") or [] if o["state"] == "live"]
        return orders if view["state"] == "running" and len(orders) >= 2 else None

    orders = kit.wait_for(open_orders, 90, "grid-a with live orders")
    cid = orders[0]["client_order_id"]
    unconfirmed = client.post(f"/api/bots/grid-a/orders/{cid}/cancel", {"confirm": False})
    assert unconfirmed.status_code == 400
    canceled = client.post(f"/api/bots/grid-a/orders/{cid}/cancel", {"confirm": True})
    assert canceled.status_code == 200, canceled.text
    assert canceled.json() == {"bot": "grid-a", "client_order_id": cid, "canceled": True}

    def journaled_canceled() -> bool:
        items = client.get("/api/orders", params={"bot": "grid-a", "limit": 500}).json()["items"]
        return any(o["client_order_id"] == cid and o["state"] == "canceled" for o in items)

    kit.wait_for(journaled_canceled, 30, "the order canceled in the journal")
    unknown = client.post("/api/bots/grid-a/orders/okxbnosuchorder/cancel", {"confirm": True})
    assert unknown.status_code == 409 and "no open order" in unknown.json()["detail"]

    balances = client.get("/api/balances").json()
    assert len(balances) == 1 and balances[0]["bots"] == ["grid-a"]
    assert {"BTC", "USDT"} <= set(balances[0]["balances"])
    usdt = balances[0]["balances"]["USDT"]
    assert all(isinstance(usdt[k], str) for k in ("total", "available", "frozen"))  # exact decimals

    posture = kit.wait_for(lambda: client.get("/api/posture").json()["profiles"], 60, "posture results")
    profile = next(iter(posture))
    checks = client.post(f"/api/posture/{profile}/check", {}).json()
    assert checks and "credentials" in str(checks)

    journal = client.get("/api/journal").json()
    assert journal["running"]["grid-a"]["reconciliation"] is not None

    left = client.post("/api/bots/grid-a/cancel-all", {"confirm": True})
    assert left.status_code == 200, left.text
    assert client.post("/api/bots/grid-a/stop", {"confirm": True}).status_code == 200
