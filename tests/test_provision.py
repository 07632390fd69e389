"""`okxbot keys provision`, `keys list --master` and `budget` on the simulator: each bot gets its own
sub-account, trade-only IP-bound key and budget; the exchange (not only okxbot) keeps a bot from the
master's money and from the other bots'; refusals come before any request."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from okxbot.vault.made_keys import MadeKeys
from okxbot.vault.profiles import ProfileStore
from tests.sim.okx_http import signed
from tests.subacct_kit import (
    add_profile,
    home,
    master_key,
    okxbot,
    open_orders,
    provision,
    stored_key,
    sub_uid,
)

__all__ = ["home"]
pytestmark = pytest.mark.timeout(120)


def send(sim: Any, key: dict[str, Any], method: str, path: str, body: Any = None) -> dict[str, Any]:
    sim.admin("POST", "/__sim__/reset-limits")  # these checks are about permissions, not rate limits
    raw = json.dumps(body).encode() if body is not None else b""
    answer = signed(sim.rest, key, method, path, raw).json()
    return dict(answer)


def order(sz: str, px: str = "60000", side: str = "buy") -> dict[str, str]:
    return {"instId": "BTC-USDT", "tdMode": "cash", "side": side, "ordType": "limit", "px": px, "sz": sz}


def test_a_bot_cannot_reach_the_masters_money_or_another_bots(sim: Any, home: Path) -> None:
    master = master_key(sim)
    add_profile(sim, "main", master)
    first = provision("bot-a", "--budget", "USDT=500")
    provision("bot-b", "--budget", "USDT=300", "--budget", "BTC=0.01")
    assert first["subAccount"] != "" and first["perm"] == "read_only,trade" and first["ip"] == "127.0.0.1"
    a, b = stored_key("bot-a"), stored_key("bot-b")
    a_sub, b_sub = ProfileStore().get("bot-a").sub_acct, ProfileStore().get("bot-b").sub_acct

    # its own budget, nothing more: an order beyond it is refused by the exchange (51008)
    balance = send(sim, a, "GET", "/api/v5/account/balance")["data"][0]["details"]
    assert [(d["ccy"], d["availBal"]) for d in balance] == [("USDT", "500")]
    assert send(sim, a, "POST", "/api/v5/trade/order", order("0.009"))["data"][0]["sCode"] == "51008"
    placed = send(sim, a, "POST", "/api/v5/trade/order", order("0.008"))["data"][0]
    assert placed["sCode"] == "0"
    # the master's endpoints answer 59500 to a bot's key
    for method, path, body in [
        ("GET", "/api/v5/users/subaccount/list", None),
        ("GET", f"/api/v5/account/subaccount/balances?subAcct={b_sub}", None),
        ("GET", f"/api/v5/users/subaccount/apikey?subAcct={b_sub}", None),
        (
            "POST",
            "/api/v5/users/subaccount/apikey",
            {"subAcct": b_sub, "label": "x1", "passphrase": "Aa1-aaaa"},
        ),
    ]:
        assert send(sim, a, method, path, body)["code"] == "59500", path
    # no way to move money: types 1 / 2 are the master's (58128), its own transfer-out is off (58119)
    transfer = {"ccy": "USDT", "amt": "1", "from": "18", "to": "18"}
    assert (
        send(sim, a, "POST", "/api/v5/asset/transfer", transfer | {"type": "2", "subAcct": a_sub})["code"]
        == "58128"
    )
    assert send(sim, a, "POST", "/api/v5/asset/transfer", transfer | {"type": "3"})["code"] == "58119"
    assert (
        send(sim, a, "POST", "/api/v5/asset/transfer", transfer | {"type": "4", "subAcct": b_sub})["code"]
        == "58119"
    )
    # another bot's orders are invisible and out of reach
    theirs = send(sim, b, "POST", "/api/v5/trade/order", order("0.001", "50000"))["data"][0]
    assert theirs["sCode"] == "0"
    pending = send(sim, a, "GET", "/api/v5/trade/orders-pending?instType=SPOT")["data"]
    assert [o["ordId"] for o in pending] == [placed["ordId"]]
    cancel = send(
        sim, a, "POST", "/api/v5/trade/cancel-order", {"instId": "BTC-USDT", "ordId": theirs["ordId"]}
    )
    assert cancel["data"][0]["sCode"] != "0"
    assert len(open_orders(sim, sub_uid(sim, master["uid"], b_sub))) == 1
    master_usdt = send(sim, master, "GET", "/api/v5/account/balance?ccy=USDT")["data"][0]["details"][0]
    assert Decimal(master_usdt["availBal"]) == Decimal("100000") - 800


def test_a_provisioned_key_passes_doctor_with_no_warning(sim: Any, home: Path) -> None:
    add_profile(sim, "main", master_key(sim))
    report = provision("clean-bot", "--budget", "USDT=100")
    assert [c["status"] for c in report["doctor"]] == ["pass"] * len(report["doctor"])
    doctor = okxbot("doctor", "--profile", "clean-bot", "--json")
    assert doctor.exit_code == 0, doctor.output
    checks = json.loads(doctor.stdout)["checks"]
    assert {c["status"] for c in checks} == {"pass"}, checks
    assert {c["check"] for c in checks} >= {"withdraw permission", "IP binding", "least privilege"}
    profile = ProfileStore().get("clean-bot")
    assert (profile.purpose, profile.master, profile.sim_url) == ("trade", "main", sim.rest)


def test_keys_list_master_flags_a_hand_made_withdraw_key(sim: Any, home: Path) -> None:
    master = master_key(sim)
    add_profile(sim, "main", master)
    provision("listed", "--budget", "USDT=10")
    sub = ProfileStore().get("listed").sub_acct
    uid = sub_uid(sim, master["uid"], sub)
    # made by hand on the website: Withdraw, no IP binding, an okxbot-looking label
    sim.admin(
        "POST",
        "/__sim__/keys",
        {"uid": uid, "perm": "read_only,trade,withdraw", "ip": "", "label": "okxbotlisted"},
    )
    result = okxbot("keys", "list", "--master", "main", "--json")
    assert result.exit_code == 0, result.output
    rows = {r["profile"] or "hand": r for r in json.loads(result.stdout)["keys"]}
    assert set(rows) == {"listed", "hand"}
    ours, theirs = rows["listed"], rows["hand"]
    assert (ours["madeByOkxbot"], ours["flags"], ours["perm"], ours["ip"]) == (
        True,
        [],
        "read_only,trade",
        "127.0.0.1",
    )
    assert theirs["madeByOkxbot"] is False and theirs["perm"] == "read_only,trade,withdraw"
    assert theirs["flags"][:2] == ["CAN WITHDRAW", "not made by okxbot"]
    assert any("expires after 14 days" in f for f in theirs["flags"])
    assert ours["ageDays"] is not None and ours["subAccount"] == sub
    shown = okxbot("keys", "list", "--master", "main", COLUMNS="220")
    assert "need a look" in shown.stdout and "CAN WITHDRAW" in shown.stdout
    # listing needs no more than Read: a read-only key of the master account will do
    add_profile(
        sim, "watcher", sim.admin("POST", "/__sim__/keys", {"uid": master["uid"], "perm": "read_only"})
    )
    watched = okxbot("keys", "list", "--master", "watcher", "--json")
    assert watched.exit_code == 0 and len(json.loads(watched.stdout)["keys"]) == 2, watched.output


def test_budget_moves_money_but_never_what_open_orders_hold(sim: Any, home: Path) -> None:
    master = master_key(sim)
    add_profile(sim, "main", master)
    provision("budgeted", "--budget", "USDT=200")
    key = stored_key("budgeted")
    added = okxbot("budget", "budgeted", "--add", "USDT=100", "--json")
    assert added.exit_code == 0, added.output
    assert json.loads(added.stdout)["balances"]["USDT"]["free"] == "300"
    resting = send(sim, key, "POST", "/api/v5/trade/order", order("0.004", "50000"))["data"][0]
    assert resting["sCode"] == "0"  # 200 USDT now held by an open order
    too_much = okxbot("budget", "budgeted", "--withdraw", "USDT=150", "--json")
    report = json.loads(too_much.stdout)
    assert too_much.exit_code == 1 and "held by its open orders" in report["notDone"][0]
    everything = okxbot("budget", "budgeted", "--withdraw-to-master", "--json")
    assert (
        everything.exit_code == 1
        and "open orders holding 200 USDT" in json.loads(everything.stdout)["notDone"][0]
    )
    kept = json.loads(okxbot("budget", "budgeted", "--withdraw-to-master", "--keep-orders", "--json").stdout)
    assert kept["notDone"] == [] and kept["balances"]["USDT"] == {
        "total": "200",
        "free": "0",
        "inOrders": "200",
    }
    assert open_orders(sim, sub_uid(sim, master["uid"], kept["subAccount"]))[0]["ordId"] == resting["ordId"]
    shown = okxbot("budget", "budgeted")
    assert shown.exit_code == 0 and "in open orders 200" in shown.stdout


@pytest.mark.parametrize(
    ("args", "problem"),
    [
        (["keys", "provision", "b1", "--master", "main", "--budget", "USDT"], "is not CURRENCY=AMOUNT"),
        (["keys", "provision", "b1", "--master", "main", "--budget", "USDT=-5"], "must be more than 0"),
        (["keys", "provision", "b1", "--master", "main", "--budget", "USDT=1e999x"], "is not a number"),
        (["keys", "provision", "b1", "--master", "main", "--ip", "300.1.1.1"], "is not an IP address"),
        (
            ["keys", "provision", "b1", "--master", "main", "--sub-account", "ab"],
            "not a valid OKX sub-account",
        ),
        (["keys", "provision", "b 1", "--master", "main"], "not a valid profile name"),
        (["keys", "provision", "b1", "--master", "nobody"], "no profile named 'nobody'"),
        (["keys", "provision", "b1", "--master", "main", "--from-account", "savings"], "--from-account"),
        (["budget", "b1", "--add", "USDT=5"], "no profile named 'b1'"),
        (["budget", "main", "--add", "USDT=5"], "was not made by `okxbot keys provision`"),
        (["keys", "rotate", "main", "--auto"], "was not made by `okxbot keys provision`"),
        (["keys", "rotate", "--auto"], "name one profile, or pass --all"),
        (["panic", "--master", "main", "--profile", "main"], "--master goes alone"),
    ],
)
def test_bad_input_is_refused_before_any_request(sim: Any, home: Path, args: list[str], problem: str) -> None:
    add_profile(sim, "main", master_key(sim))
    before = sim.admin("GET", "/__sim__/stats")["total"]
    result = okxbot(*args)
    assert result.exit_code == 2, result.output
    assert problem in result.output
    assert sim.admin("GET", "/__sim__/stats")["total"] == before  # nothing was sent


@pytest.mark.parametrize(
    ("fields", "problem"),
    [
        ({"perm": "read_only,trade,withdraw"}, "can WITHDRAW; okxbot refuses it"),
        ({"ip": ""}, "not bound to an IP address"),
        ({"perm": "read_only"}, "is read-only"),
    ],
)
def test_an_unfit_master_key_is_explained_and_nothing_is_created(
    sim: Any, home: Path, fields: dict[str, str], problem: str
) -> None:
    add_profile(sim, "main", master_key(sim, **fields))
    before = sim.admin("GET", "/__sim__/stats")["paths"]
    result = okxbot("keys", "provision", "b2", "--master", "main", "--yes", "--json")
    report = json.loads(result.stdout)
    assert result.exit_code == 1 and problem in report["notDone"][0], result.output
    assert "Fix:" in report["notDone"][0]
    after = sim.admin("GET", "/__sim__/stats")["paths"]
    changed = {p: n - before.get(p, 0) for p, n in after.items() if n != before.get(p, 0)}
    changed.pop("/api/v5/public/time", None)  # the clock measurement (public)
    assert changed == {"/api/v5/account/config": 1}  # one read of the key's own config, nothing else
    assert ProfileStore().find("b2") is None and MadeKeys().all() == []


def test_a_sub_accounts_key_is_no_master(sim: Any, home: Path) -> None:
    add_profile(sim, "main", master_key(sim))
    provision("inner")
    result = okxbot("keys", "provision", "b3", "--master", "inner", "--yes")
    assert result.exit_code == 2 and "pass --master main" in result.output


def test_website_only_sub_accounts_are_explained_then_reused(sim: Any, home: Path) -> None:
    master = master_key(sim)
    add_profile(sim, "main", master)
    sim.admin("POST", "/__sim__/subaccount-config", {"apiCreate": False})
    try:
        refused = okxbot("keys", "provision", "web-bot", "--master", "main", "--yes", "--json")
        report = json.loads(refused.stdout)
        assert refused.exit_code == 1 and "59518" in report["notDone"][0]
        assert "--sub-account NAME" in report["notDone"][0] and ProfileStore().find("web-bot") is None
        sim.admin("POST", "/__sim__/subaccounts", {"uid": master["uid"], "subAcct": "website01"})
        reused = provision("web-bot", "--sub-account", "website01", "--budget", "USDT=5")
        assert any("reusing sub-account website01" in line for line in reused["done"])
    finally:
        sim.admin("POST", "/__sim__/subaccount-config", {"apiCreate": True})


def test_a_timer_rotates_only_old_keys_and_warns_about_keys_okx_will_expire(sim: Any, home: Path) -> None:
    master = master_key(sim)
    add_profile(sim, "main", master)
    provision("timer-a")
    provision("timer-b")
    old_a, old_b = stored_key("timer-a"), stored_key("timer-b")
    sub_a = ProfileStore().get("timer-a").sub_acct
    # made by hand on the website: Trade, no IP binding (OKX deletes it after 14 days unused)
    sim.admin("POST", "/__sim__/keys", {"uid": sub_uid(sim, master["uid"], sub_a), "perm": "read_only,trade",
                                        "ip": "", "label": "byhand7"})  # fmt: skip

    young = okxbot("keys", "rotate", "--auto", "--all", "--older-than", "7", "--json")
    assert young.exit_code == 0, young.output
    reports = {r["profile"]: r for r in json.loads(young.stdout)}
    assert set(reports) == {"timer-a", "timer-b"}
    assert all("days old (< 7)" in r["skipped"] and not r["rotated"] for r in reports.values())
    (warning,) = reports["timer-a"]["warnings"]
    assert "byhand7" in warning and "no IP binding" in warning and "14 days unused" in warning
    assert reports["timer-b"]["warnings"] == []
    assert send(sim, old_a, "GET", "/api/v5/account/config")["code"] == "0"  # nothing was rotated

    due = okxbot("keys", "rotate", "--auto", "--all", "--older-than", "0", "--json")
    assert due.exit_code == 0, due.output
    reports = {r["profile"]: r for r in json.loads(due.stdout)}
    assert all(r["rotated"] and r["notDone"] == [] for r in reports.values()), reports
    for old, name in ((old_a, "timer-a"), (old_b, "timer-b")):
        assert send(sim, old, "GET", "/api/v5/account/config")["code"] == "50111"
        assert send(sim, stored_key(name), "GET", "/api/v5/account/config")["code"] == "0"
    warnings = reports["timer-a"]["warnings"]
    assert any("byhand7" in w and "was not made by okxbot: kept" in w for w in warnings)
    assert any("byhand7" in w and "14 days unused" in w for w in warnings)


def test_provision_binds_the_key_to_the_addresses_given_or_asks_for_them(sim: Any, home: Path) -> None:
    add_profile(sim, "main", master_key(sim))
    given = provision("ip-given", "--ip", "127.0.0.1,10.20.0.0/16")
    assert given["ip"] == "127.0.0.1,10.20.0.0/16"
    assert [c["status"] for c in given["doctor"]] == ["pass"] * len(given["doctor"])
    # a master bound to several addresses: okxbot cannot tell which one is this host
    add_profile(sim, "wide", master_key(sim, ip="127.0.0.1,203.0.113.7"))
    result = okxbot("keys", "provision", "ip-asked", "--master", "wide", "--json")
    report = json.loads(result.stdout)
    assert result.exit_code == 1 and "pass --ip ADDRESS" in report["notDone"][0], result.output
    assert ProfileStore().find("ip-asked") is None
    assert [k.profile for k in MadeKeys().all()] == ["ip-given"]  # no key was made for ip-asked
