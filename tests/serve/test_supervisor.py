"""The supervisor on the simulator: a bot runs, reports live, stops cleanly; a failed start is retried
with a backoff; a restarted supervisor resumes its bots; /metrics shows what happened."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

import httpx

from okxbot.serve.registry import Registry
from okxbot.serve.server import Running
from tests.serve import kit


def _start_bot(c: kit.Client, name: str = "grid-a") -> None:
    assert c.login().status_code == 200
    assert c.unlock().status_code == 200
    r = c.post(f"/api/bots/{name}/start", {"confirm": True})
    assert r.status_code == 200, r.text


def _trading(c: kit.Client, name: str = "grid-a") -> dict[str, Any]:
    def ready() -> dict[str, Any] | None:
        view = kit.bot_view(c, name)
        return view if view["state"] == "running" and (view["status"].get("fills") or 0) > 0 else None

    return kit.wait_for(ready, 90, f"{name} running with fills")


def test_a_bot_runs_reports_and_stops_cleanly(served: Running, client: kit.Client) -> None:
    _start_bot(client)
    view = _trading(client)
    status = view["status"]
    assert view["owner"] == "sup-a" and status["symbol"] == "BTC/USDT"
    assert status["reconciliation"]["journal_open_before"] == 0  # reconciled before trading
    assert status["open_orders"] > 0 and status["placed"] > 0
    for key in ("pnl", "position", "mid", "rate_limited", "latency", "headroom", "errors"):
        assert key in status
    assert all(isinstance(status[k], str) for k in ("pnl", "position", "mid"))  # exact decimals
    orders = client.get("/api/orders", params={"bot": "grid-a", "state": "open", "limit": 5}).json()
    assert orders["total"] == status["open_orders"] and len(orders["items"]) == min(5, orders["total"])
    page2 = client.get("/api/orders", params={"bot": "grid-a", "limit": 2, "offset": 2}).json()
    assert page2["offset"] == 2 and len(page2["items"]) == 2
    fills = client.get("/api/fills", params={"bot": "grid-a"}).json()
    assert fills["total"] >= 1 and fills["items"][0]["price"]
    assert client.get("/api/fills", params={"side": "sideways"}).status_code == 422
    stopped = client.post("/api/bots/grid-a/stop", {"confirm": True})
    assert stopped.status_code == 200, stopped.text
    summary = stopped.json()["summary"]
    assert summary["reconciled"] == "True" and summary["open_orders_left"] == "0"
    after = kit.bot_view(client, "grid-a")
    assert after["state"] == "stopped" and after["desired"] == "stopped"
    assert client.get("/api/orders", params={"bot": "grid-a", "state": "open"}).json()["total"] == 0


def test_live_events_reach_the_stream(served: Running, client: kit.Client) -> None:
    _start_bot(client)
    seen: list[dict[str, Any]] = []
    got_fill = threading.Event()

    def listen() -> None:
        with httpx.Client(base_url=served.url, cookies=client.http.cookies, timeout=120) as http:
            with http.stream("GET", "/api/stream") as stream:
                kind = ""
                for line in stream.iter_lines():
                    if line.startswith("event: "):
                        kind = line[7:]
                    elif line.startswith("data: ") and kind in ("fill", "order", "status", "bot"):
                        seen.append(json.loads(line[6:]))
                        if kind == "fill":
                            got_fill.set()
                            return

    thread = threading.Thread(target=listen, daemon=True)
    thread.start()
    assert got_fill.wait(90), f"no fill event on the stream; saw {[e['kind'] for e in seen][:20]}"
    assert any(e["kind"] == "order" and e["bot"] == "grid-a" for e in seen)
    client.post("/api/bots/grid-a/stop", {"confirm": True})


def test_a_failed_start_is_retried_with_backoff(served: Running, client: kit.Client, sim: Any) -> None:
    # OKX answers 500 twice where the bot's start reads its account: crash, backoff, crash, backoff, run
    sim.admin("POST", "/__sim__/faults", {"path": "/api/v5/account/config", "kind": "http500", "count": 2})
    try:
        _start_bot(client)
        view = _trading(client)
        assert view["restarts"] >= 2
        events = client.get("/api/bots/grid-a/events").json()
        crashes = [e for e in events if e["kind"] == "crash"]
        assert len(crashes) >= 2
        delays = sorted(e["data"]["restart_in_s"] for e in crashes)
        assert delays[-1] > delays[0]  # the backoff grows
        assert view["status"]["reconciliation"]  # each start reconciles before trading
    finally:
        sim.call(sim.ctx.faults.clear)
        client.post("/api/bots/grid-a/stop", {"confirm": True})


def test_a_restarted_supervisor_resumes_its_bots(home: Path, sim: Any) -> None:
    kit.set_password(home)
    first = kit.start(home, sid="sup-r")
    first.ctx.registry.add_bot("grid-r", kit.grid_config("grid-r", kit.sim_mid(sim.rest)), sim_url=sim.rest)
    c = kit.Client(first.url)
    try:
        _start_bot(c, "grid-r")
        before = _trading(c, "grid-r")["status"]["placed"]
    finally:
        c.close()
        first.stop()  # clean shutdown: the bot stops, but stays wanted
    registry = Registry(first.ctx.registry.engine)
    row = registry.bot("grid-r")
    assert row is not None and row.desired == "running" and not row.lease_valid()
    second = kit.start(home, sid="sup-r")
    c = kit.Client(second.url)
    try:
        assert c.login().status_code == 200
        view = kit.wait_for(
            lambda: (
                (v := kit.bot_view(c, "grid-r"))["state"] == "running" and v["status"].get("placed") and v
            ),
            90,
            "grid-r running again",
        )
        assert view["owner"] == "sup-r"
        # the journal kept everything: the orders placed before the restart are still listed
        total = c.get("/api/orders", params={"bot": "grid-r"}).json()["total"]
        assert total >= before
        assert c.unlock().status_code == 200
        c.post("/api/bots/grid-r/stop", {"confirm": True})
    finally:
        c.close()
        second.stop()


def test_metrics_show_trading(served: Running, client: kit.Client) -> None:
    _start_bot(client)
    _trading(client)
    token = served.ctx.access.create_token("prometheus", ("read",))
    with httpx.Client(base_url=served.url, timeout=30) as http:
        assert http.get("/metrics").status_code == 401
        text = http.get("/metrics", headers={"Authorization": f"Bearer {token}"}).text
    for series in (
        'okxbot_orders_placed_total{bot="grid-a"}',
        'okxbot_fills_total{bot="grid-a"}',
        "okxbot_limiter_wait_seconds_bucket",
        "okxbot_journal_write_seconds_bucket",
        "okxbot_ws_connects_total",
        'okxbot_pnl_quote{bot="grid-a",quote="USDT"}',
        "okxbot_position_base{",
        'okxbot_balance{bot="grid-a",ccy="USDT"}',
        'okxbot_unresolved_intents{bot="grid-a"}',
        'okxbot_bot_running{bot="grid-a"} 1.0',
    ):
        assert series in text, series
    assert "# TYPE okxbot_rate_limit_answers_total counter" in text
    assert "# TYPE okxbot_tick_to_order_seconds histogram" in text
    # the Grafana dashboard in docs/ asks only for series this server exposes
    import re

    grafana = (Path(__file__).resolve().parents[2] / "docs" / "grafana-okxbot.json").read_text()
    exposed = set(re.findall(r"# TYPE (okxbot_\w+)", text))
    for name in set(re.findall(r"okxbot_[a-z_]+", grafana)) - {"okxbot_serve"}:
        base = re.sub(r"_(bucket|total)$", "", name)
        assert name in exposed or base in exposed or f"{base}_total" in exposed, name
    client.post("/api/bots/grid-a/stop", {"confirm": True})


def test_panic_from_the_dashboard(served: Running, client: kit.Client) -> None:
    """The control action runs okxbot panic's own response for the key, after stopping the key's bots
    on every supervisor; the supervisor itself keeps serving."""
    from okxbot.vault.store import Vault

    _start_bot(client)
    profile = _trading(client)["status"]["key_profile"]
    assert profile
    wrong = client.post("/api/panic", {"profile": profile, "confirm": profile.upper()})
    assert wrong.status_code == 400
    assert kit.bot_view(client, "grid-a")["state"] == "running"
    r = client.post("/api/panic", {"profile": profile, "confirm": profile})
    assert r.status_code == 200, r.text
    result = r.json()
    assert result["bots_stopped"] == ["grid-a"] and result["report_dir"]
    assert any("disabled" in line for line in result["done"])
    assert Path(result["report_dir"], "report.json").is_file()
    assert Vault().profiles.get(profile).disabled
    assert kit.bot_view(client, "grid-a")["state"] == "stopped"
    assert client.get("/api/orders", params={"bot": "grid-a", "state": "open"}).json()["total"] == 0
    assert client.get("/api/session").status_code == 200  # the supervisor did not SIGTERM itself
    kit.wait_for(
        lambda: any(e["kind"] == "panic" for e in client.get("/api/events").json()), 10, "panic event"
    )


def test_two_bots_on_one_key_share_a_client_and_keep_their_orders_apart(
    served: Running, client: kit.Client, sim: Any
) -> None:
    """Both bots trade through one shared client (one limiter, one orders subscription); each sees
    only its own orders (pushes routed by the journal, REST polls filtered), none is called foreign."""
    served.ctx.registry.add_bot(
        "grid-b", kit.grid_config("grid-b", kit.sim_mid(sim.rest), step_pct="0.0006"), sim_url=sim.rest
    )
    _start_bot(client, "grid-a")
    assert client.post("/api/bots/grid-b/start", {"confirm": True}).status_code == 200
    _trading(client, "grid-a")
    _trading(client, "grid-b")
    shared = client.get("/api/limits").json()["shared_keys"]
    assert sorted(next(iter(shared.values()))) == ["grid-a", "grid-b"] and len(shared) == 1
    # past a REST poll cycle (5 poll periods while the orders channel is up), which lists every open
    # order of the key, both bots' included
    start = time.monotonic()
    while time.monotonic() - start < 8:
        for name in ("grid-a", "grid-b"):
            status = kit.bot_view(client, name)["status"]
            assert status["foreign"] == [], (name, status["foreign"])
            assert {o["bot"] for o in status["orders"]} <= {name}, (name, status["orders"][:3])
        time.sleep(0.5)  # sampling the bots' views over the window
    for name in ("grid-a", "grid-b"):
        fills = client.get("/api/fills", params={"bot": name, "limit": 500}).json()["items"]
        ids = {
            o["client_order_id"]
            for o in client.get("/api/orders", params={"bot": name, "limit": 500}).json()["items"]
        }
        assert fills and all(f["client_order_id"] in ids for f in fills)  # each fill under its own bot
        client.post(f"/api/bots/{name}/stop", {"confirm": True})
