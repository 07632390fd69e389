"""The admin API: accounts, keys, prices, clock, faults, stats, orders, limits; loopback only."""

from __future__ import annotations

import json
import socket
from decimal import Decimal
from typing import Any

import httpx
import pytest

from okxbot.sim.server import RunningSim, start_sim
from tests.sim.okx_http import signed


@pytest.fixture(autouse=True)
def fresh_limits(sim: RunningSim) -> None:
    sim.admin("POST", "/__sim__/reset-limits")


def new_key(sim: RunningSim, **extra: Any) -> dict[str, Any]:
    return sim.admin("POST", "/__sim__/keys", {"balances": {"USDT": "50000", "BTC": "1"}, **extra})


def resting_order(sim: RunningSim, cl_ord_id: str) -> bytes:
    bid = httpx.get(f"{sim.rest}/api/v5/market/ticker?instId=BTC-USDT").json()["data"][0]["bidPx"]
    px = (Decimal(bid) * Decimal("0.9")).quantize(Decimal("0.1"))
    return json.dumps(
        {"instId": "BTC-USDT", "tdMode": "cash", "side": "buy", "ordType": "limit", "px": str(px), "sz": "0.001",
         "clOrdId": cl_ord_id}
    ).encode()  # fmt: skip


def orders_of(sim: RunningSim, uid: str) -> list[dict[str, Any]]:
    return sim.admin("GET", f"/__sim__/orders?uid={uid}")["orders"]


def test_accounts_and_keys(sim: RunningSim) -> None:
    uid = sim.admin("POST", "/__sim__/accounts", {"balances": {"USDT": "1234.5"}, "demo": False})["uid"]
    key = sim.admin("POST", "/__sim__/keys", {"uid": uid, "perm": "read_only,trade", "label": "bot1"})
    assert {k: key[k] for k in ("uid", "perm", "ip", "label", "demo")} == {
        "uid": uid, "perm": "read_only,trade", "ip": "127.0.0.1", "label": "bot1", "demo": False,
    }  # fmt: skip
    balance = signed(sim.rest, key, "GET", "/api/v5/account/balance").json()["data"][0]
    assert [(d["ccy"], d["cashBal"], d["availBal"]) for d in balance["details"]] == [
        ("USDT", "1234.5", "1234.5")
    ]
    with pytest.raises(RuntimeError, match="no account with uid"):
        sim.admin("POST", "/__sim__/keys", {"uid": "999"})
    with pytest.raises(RuntimeError, match="unknown permission"):
        sim.admin("POST", "/__sim__/keys", {"perm": "read_only,admin"})
    with pytest.raises(RuntimeError, match="balance of USDT must be a decimal"):
        sim.admin("POST", "/__sim__/accounts", {"balances": {"USDT": "lots"}})


def test_price_jump_moves_the_market(sim: RunningSim) -> None:
    answer = sim.admin("POST", "/__sim__/price", {"instId": "ETH-USDT", "px": "3000"})
    assert answer == {"instId": "ETH-USDT", "px": "3000"}
    ticker = httpx.get(f"{sim.rest}/api/v5/market/ticker?instId=ETH-USDT").json()["data"][0]
    assert Decimal("2900") < Decimal(ticker["bidPx"]) < Decimal(ticker["askPx"]) < Decimal("3100")
    moved = sim.admin("POST", "/__sim__/price", {"instId": "ETH-USDT", "movePct": "-10"})
    assert Decimal("2600") < Decimal(moved["px"]) < Decimal("2800")
    with pytest.raises(RuntimeError, match="unknown instId"):
        sim.admin("POST", "/__sim__/price", {"instId": "NOPE-USDT", "px": "1"})
    with pytest.raises(RuntimeError, match='give "px"'):
        sim.admin("POST", "/__sim__/price", {"instId": "ETH-USDT"})


def test_clock_offset_is_what_public_time_reports(sim: RunningSim) -> None:
    before = int(httpx.get(f"{sim.rest}/api/v5/public/time").json()["data"][0]["ts"])
    sim.admin("POST", "/__sim__/clock", {"offsetMs": 3_600_000})
    try:
        after = int(httpx.get(f"{sim.rest}/api/v5/public/time").json()["data"][0]["ts"])
    finally:
        sim.admin("POST", "/__sim__/clock", {"offsetMs": 0})
    assert 3_600_000 <= after - before < 3_600_000 + 60_000


def test_drop_executes_then_closes_without_an_answer(sim: RunningSim) -> None:
    key = new_key(sim)
    sim.admin("POST", "/__sim__/faults", {"path": "/api/v5/trade/order", "count": 1, "kind": "drop"})
    with pytest.raises(httpx.RemoteProtocolError):
        signed(sim.rest, key, "POST", "/api/v5/trade/order", resting_order(sim, "dropped1"))
    assert [o["clOrdId"] for o in orders_of(sim, key["uid"])] == ["dropped1"]
    # The fault is used up: the next request is answered.
    answer = signed(sim.rest, key, "POST", "/api/v5/trade/order", resting_order(sim, "answered1")).json()
    assert answer["code"] == "0"


def test_delay_answers_late_after_executing(sim: RunningSim) -> None:
    key = new_key(sim)
    sim.admin(
        "POST",
        "/__sim__/faults",
        {"path": "/api/v5/trade/order", "count": 1, "kind": "delay", "delayMs": 3000},
    )
    with httpx.Client(timeout=0.5) as impatient, pytest.raises(httpx.ReadTimeout):
        signed(sim.rest, key, "POST", "/api/v5/trade/order", resting_order(sim, "slow1"), client=impatient)
    assert [o["clOrdId"] for o in orders_of(sim, key["uid"])] == ["slow1"]


@pytest.mark.parametrize(
    ("kind", "status", "code"),
    [("50013", 429, "50013"), ("50001", 503, "50001"), ("http500", 500, None)],
)
def test_error_faults_do_not_execute(sim: RunningSim, kind: str, status: int, code: str | None) -> None:
    key = new_key(sim)
    sim.admin("POST", "/__sim__/faults", {"path": "/api/v5/trade/order", "count": 2, "kind": kind})
    for n in range(2):
        response = signed(sim.rest, key, "POST", "/api/v5/trade/order", resting_order(sim, f"f{kind}n{n}"))
        assert response.status_code == status
        if code is not None:
            assert response.json()["code"] == code
    assert orders_of(sim, key["uid"]) == []
    assert (
        signed(sim.rest, key, "POST", "/api/v5/trade/order", resting_order(sim, "ok1")).json()["code"] == "0"
    )


def test_bad_faults_are_refused(sim: RunningSim) -> None:
    with pytest.raises(RuntimeError, match="kind must be one of"):
        sim.admin("POST", "/__sim__/faults", {"path": "/api/v5/trade/order", "kind": "explode"})
    with pytest.raises(RuntimeError, match="count must be >= 1"):
        sim.admin("POST", "/__sim__/faults", {"path": "/api/v5/trade/order", "kind": "drop", "count": 0})


def test_stats_count_requests_per_path_and_uid(sim: RunningSim) -> None:
    key = new_key(sim)
    before = sim.admin("GET", "/__sim__/stats")
    for _ in range(3):
        signed(sim.rest, key, "GET", "/api/v5/account/balance")
    signed(sim.rest, {**key, "passphrase": "wrong"}, "GET", "/api/v5/account/balance")
    after = sim.admin("GET", "/__sim__/stats")
    path = "/api/v5/account/balance"
    assert after["paths"][path] - before["paths"].get(path, 0) == 4
    assert after["uids"][key["uid"]] == 3  # the refused request never reached the account
    assert after["paths"].get("/api/v5/trade/order", 0) == before["paths"].get("/api/v5/trade/order", 0)


def test_orders_lists_every_state(sim: RunningSim) -> None:
    key = new_key(sim)
    placed = signed(sim.rest, key, "POST", "/api/v5/trade/order", resting_order(sim, "keep1")).json()
    ord_id = placed["data"][0]["ordId"]
    cancel = json.dumps({"instId": "BTC-USDT", "ordId": ord_id}).encode()
    assert signed(sim.rest, key, "POST", "/api/v5/trade/cancel-order", cancel).json()["code"] == "0"
    signed(sim.rest, key, "POST", "/api/v5/trade/order", resting_order(sim, "keep2"))
    states = {o["clOrdId"]: o["state"] for o in orders_of(sim, key["uid"])}
    assert states == {"keep1": "canceled", "keep2": "live"}


def test_admin_refuses_peers_that_are_not_loopback() -> None:
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        probe.connect(("192.0.2.1", 9))  # no packet is sent: this only picks the outgoing interface
        own_ip = probe.getsockname()[0]
    except OSError:
        pytest.skip("this machine has no non-loopback IPv4 address")
    finally:
        probe.close()
    if own_ip.startswith("127."):
        pytest.skip("this machine has no non-loopback IPv4 address")
    with start_sim(host="0.0.0.0", port=0, seed=1, config={"market": False}) as outside:
        url = f"http://{own_ip}:{outside.port}/__sim__/stats"
        response = httpx.get(url)
        assert response.status_code == 403
        assert response.json() == {"error": "the admin API answers loopback peers only"}
        assert httpx.get(f"http://127.0.0.1:{outside.port}/__sim__/stats").status_code == 200
