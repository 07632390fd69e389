"""The funding account as OKX serves it: deposits, withdrawals, funding bills, transfers between the
funding and trading accounts, deposit addresses; their wire fields, paging, errors and permissions."""

from __future__ import annotations

import json
import time
from decimal import Decimal
from typing import Any

import ccxt
import pytest

from okxbot.sim.server import RunningSim
from tests.sim.okx_http import signed

pytestmark = pytest.mark.timeout(60)

DEPOSIT_FIELDS = {
    "actualDepBlkConfirm", "amt", "areaCodeFrom", "ccy", "chain", "depId", "from", "fromWdId", "state", "to",
    "ts", "txId",
}  # fmt: skip
WITHDRAWAL_FIELDS = {
    "amt", "areaCodeFrom", "areaCodeTo", "ccy", "chain", "clientId", "fee", "feeCcy", "from", "nonTradableAsset",
    "note", "state", "to", "toAddrType", "ts", "txId", "wdId",
}  # fmt: skip


@pytest.fixture(autouse=True)
def fresh_limits(sim: RunningSim) -> None:
    sim.admin("POST", "/__sim__/reset-limits")


@pytest.fixture
def key(sim: RunningSim) -> dict[str, Any]:
    return sim.admin("POST", "/__sim__/keys", {"balances": {"USDT": "1000"}, "perm": "read_only,trade"})


def call(sim: RunningSim, key: dict[str, Any], method: str, path: str, payload: Any = None) -> dict[str, Any]:
    body = json.dumps(payload).encode() if payload is not None else b""
    response = signed(sim.rest, key, method, path, body)
    answer = response.json()
    answer["status"] = response.status_code
    return answer


def data(sim: RunningSim, key: dict[str, Any], path: str) -> list[dict[str, Any]]:
    answer = call(sim, key, "GET", path)
    assert answer["code"] == "0", answer
    return answer["data"]


def deposit(sim: RunningSim, uid: str, amt: str, ccy: str = "USDT", **extra: Any) -> dict[str, Any]:
    return sim.admin("POST", "/__sim__/deposits", {"uid": uid, "ccy": ccy, "amt": amt, **extra})


def withdraw(sim: RunningSim, uid: str, amt: str, ccy: str = "USDT", **extra: Any) -> dict[str, Any]:
    return sim.admin(
        "POST", "/__sim__/withdrawals", {"uid": uid, "ccy": ccy, "amt": amt, "toAddr": "TAttacker01", **extra}
    )


def funding(sim: RunningSim, key: dict[str, Any]) -> dict[str, Decimal]:
    return {row["ccy"]: Decimal(row["availBal"]) for row in data(sim, key, "/api/v5/asset/balances")}


def trading(sim: RunningSim, key: dict[str, Any]) -> dict[str, Decimal]:
    details = data(sim, key, "/api/v5/account/balance")[0]["details"]
    return {row["ccy"]: Decimal(row["availBal"]) for row in details}


def test_deposits_and_withdrawals_are_listed_with_okx_fields_newest_first(
    sim: RunningSim, key: dict[str, Any]
) -> None:
    uid = key["uid"]
    first = deposit(sim, uid, "500")
    pending = deposit(sim, uid, "0.5", "BTC", state="0")  # waiting for confirmations: not credited
    taken = withdraw(sim, uid, "120")
    reader = sim.admin("POST", "/__sim__/keys", {"uid": uid, "perm": "read_only"})

    deposits = data(sim, reader, "/api/v5/asset/deposit-history")  # a read-only key may read them
    assert [d["depId"] for d in deposits] == [pending["depId"], first["depId"]]
    assert set(deposits[1]) == DEPOSIT_FIELDS
    assert (deposits[1]["amt"], deposits[1]["ccy"], deposits[1]["state"]) == ("500", "USDT", "2")
    assert deposits[1]["chain"] == "USDT-TRC20" and deposits[1]["txId"]
    assert deposits[1]["to"] == data(sim, reader, "/api/v5/asset/deposit-address?ccy=USDT")[0]["addr"]

    (withdrawal,) = data(sim, reader, "/api/v5/asset/withdrawal-history")
    assert set(withdrawal) == WITHDRAWAL_FIELDS
    assert (withdrawal["wdId"], withdrawal["amt"], withdrawal["to"], withdrawal["state"]) == (
        taken["wdId"],
        "120",
        "TAttacker01",
        "2",
    )
    assert withdrawal["nonTradableAsset"] is False and withdrawal["txId"].startswith("0x")
    # only credited deposits count; the withdrawal left the funding account
    assert funding(sim, reader) == {"USDT": Decimal("380")}

    bills = data(sim, reader, "/api/v5/asset/bills")
    assert [(b["type"], b["balChg"], b["bal"]) for b in bills] == [("2", "-120", "380"), ("1", "500", "500")]
    assert set(bills[0]) == {"bal", "balChg", "billId", "ccy", "clientId", "notes", "ts", "type"}

    assert [d["ccy"] for d in data(sim, reader, "/api/v5/asset/deposit-history?ccy=BTC")] == ["BTC"]
    assert data(sim, reader, "/api/v5/asset/deposit-history?state=2") == [deposits[1]]
    assert data(sim, reader, f"/api/v5/asset/withdrawal-history?wdId={taken['wdId']}") == [withdrawal]
    assert data(sim, reader, "/api/v5/asset/withdrawal-history?type=3") == []


def test_histories_page_by_time_and_bills_by_time_or_bill_id(sim: RunningSim, key: dict[str, Any]) -> None:
    uid = key["uid"]
    now = int(time.time() * 1000)
    made = [deposit(sim, uid, str(i + 1), ts=now - 10_000 + i * 1000) for i in range(5)]
    times = [int(d["ts"]) for d in made]
    page = data(sim, key, "/api/v5/asset/deposit-history?limit=2")
    assert [d["depId"] for d in page] == [made[4]["depId"], made[3]["depId"]]
    # after = records earlier than a ts; before = newer; both exclusive
    page = data(sim, key, f"/api/v5/asset/deposit-history?limit=2&after={times[3]}")
    assert [d["depId"] for d in page] == [made[2]["depId"], made[1]["depId"]]
    page = data(sim, key, f"/api/v5/asset/deposit-history?after={times[4]}&before={times[1]}")
    assert [d["depId"] for d in page] == [made[3]["depId"], made[2]["depId"]]

    bills = data(sim, key, "/api/v5/asset/bills")
    assert len(bills) == 5
    by_id = data(sim, key, f"/api/v5/asset/bills?pagingType=2&after={bills[1]['billId']}&limit=2")
    assert by_id == bills[2:4]
    by_ts = data(sim, key, f"/api/v5/asset/bills?after={bills[1]['ts']}&limit=2")
    assert by_ts == bills[2:4]


def test_transfers_move_money_between_funding_and_trading(sim: RunningSim, key: dict[str, Any]) -> None:
    deposit(sim, key["uid"], "300")
    moved = call(
        sim, key, "POST", "/api/v5/asset/transfer", {"ccy": "USDT", "amt": "250", "from": "6", "to": "18"}
    )
    assert moved["code"] == "0", moved
    (answer,) = moved["data"]
    assert {k: answer[k] for k in ("ccy", "amt", "from", "to", "clientId")} == {
        "ccy": "USDT",
        "amt": "250",
        "from": "6",
        "to": "18",
        "clientId": "",
    }
    assert funding(sim, key) == {"USDT": Decimal("50")}
    assert trading(sim, key)["USDT"] == Decimal("1250")
    back = call(
        sim,
        key,
        "POST",
        "/api/v5/asset/transfer",
        {"ccy": "USDT", "amt": "1000", "from": "18", "to": "6", "clientId": "back1"},
    )
    assert back["code"] == "0", back
    assert funding(sim, key) == {"USDT": Decimal("1050")}
    assert trading(sim, key)["USDT"] == Decimal("250")

    # each account keeps its own bills: trading type 1 (subType 11 in / 12 out), funding 131 / 130
    trading_bills = data(sim, key, "/api/v5/account/bills?type=1")
    assert [(b["subType"], b["balChg"], b["bal"], b["from"], b["to"]) for b in trading_bills] == [
        ("12", "-1000", "250", "18", "6"),
        ("11", "250", "1250", "6", "18"),
    ]
    assert data(sim, key, "/api/v5/account/bills-archive?type=1") == trading_bills
    assert [(b["type"], b["balChg"], b["clientId"]) for b in data(sim, key, "/api/v5/asset/bills")][:2] == [
        ("130", "1000", "back1"),
        ("131", "-250", ""),
    ]
    (state,) = data(sim, key, "/api/v5/asset/transfer-state?clientId=back1")
    assert (state["transId"], state["state"], state["amt"]) == (back["data"][0]["transId"], "success", "1000")


@pytest.mark.parametrize(
    ("payload", "code"),
    [
        ({"ccy": "USDT", "amt": "5000", "from": "6", "to": "18"}, "58116"),  # more than the funding holds
        ({"ccy": "USDT", "amt": "5000", "from": "18", "to": "6"}, "58116"),  # more than trading holds
        ({"ccy": "USDT", "amt": "1", "from": "6", "to": "6"}, "58123"),
        ({"ccy": "USDT", "amt": "0", "from": "6", "to": "18"}, "58114"),
        ({"ccy": "USDT", "amt": "abc", "from": "6", "to": "18"}, "51000"),
        ({"ccy": "USDT", "amt": "1", "from": "7", "to": "18"}, "51000"),
        ({"ccy": "NOPE", "amt": "1", "from": "6", "to": "18"}, "51000"),
        ({"ccy": "USDT", "from": "6", "to": "18"}, "50014"),
        ({"ccy": "USDT", "amt": "1", "from": "6", "to": "6", "type": "1", "subAcct": "mini1"}, "58115"),
        ({"ccy": "USDT", "amt": "1", "from": "6", "to": "6", "type": "4", "subAcct": "mini1"}, "58127"),
    ],
)
def test_refused_transfers_say_why_and_move_nothing(
    sim: RunningSim, key: dict[str, Any], payload: dict[str, str], code: str
) -> None:
    deposit(sim, key["uid"], "10")
    before = (funding(sim, key), trading(sim, key))
    answer = call(sim, key, "POST", "/api/v5/asset/transfer", payload)
    assert (answer["code"], answer["data"]) == (code, [])
    assert (funding(sim, key), trading(sim, key)) == before


def test_permissions_follow_okx(sim: RunningSim, key: dict[str, Any]) -> None:
    reader = sim.admin("POST", "/__sim__/keys", {"uid": key["uid"], "perm": "read_only"})
    refused = call(
        sim, reader, "POST", "/api/v5/asset/transfer", {"ccy": "USDT", "amt": "1", "from": "18", "to": "6"}
    )
    assert (refused["status"], refused["code"]) == (401, "50120")  # a transfer needs Trade
    for path in ("deposit-history", "withdrawal-history", "bills", "balances", "deposit-address?ccy=BTC"):
        assert call(sim, reader, "GET", f"/api/v5/asset/{path}")["code"] == "0", path
    body = {"ccy": "USDT", "amt": "10", "dest": "4", "toAddr": "TAttacker01"}
    assert call(sim, key, "POST", "/api/v5/asset/withdrawal", body)["code"] == "50120"  # needs Withdraw


def test_a_withdrawal_request_waits_and_a_canceled_one_pays_back(sim: RunningSim) -> None:
    key = sim.admin("POST", "/__sim__/keys", {"perm": "read_only,withdraw"})
    body = {"ccy": "USDT", "amt": "40", "dest": "4", "toAddr": "TSomewhere", "clientId": "wd1"}
    assert call(sim, key, "POST", "/api/v5/asset/withdrawal", body)["code"] == "58350"  # empty funding
    deposit(sim, key["uid"], "100")
    assert call(sim, key, "POST", "/api/v5/asset/withdrawal", body | {"amt": "0.0001"})["code"] == "58206"
    answer = call(sim, key, "POST", "/api/v5/asset/withdrawal", body)
    assert answer["code"] == "0", answer
    (made,) = answer["data"]
    assert (made["amt"], made["ccy"], made["chain"], made["clientId"]) == ("40", "USDT", "USDT-TRC20", "wd1")
    (listed,) = data(sim, key, "/api/v5/asset/withdrawal-history?clientId=wd1")
    assert (listed["wdId"], listed["state"], listed["txId"]) == (made["wdId"], "0", "")
    assert funding(sim, key) == {"USDT": Decimal("60")}

    sim.admin("POST", "/__sim__/withdrawals", {"uid": key["uid"], "wdId": made["wdId"], "state": "-2"})
    assert data(sim, key, "/api/v5/asset/withdrawal-history")[0]["state"] == "-2"
    assert funding(sim, key) == {"USDT": Decimal("100")}
    assert [b["type"] for b in data(sim, key, "/api/v5/asset/bills")][:2] == ["13", "2"]
    demo = next(k for k in sim.keys if k["demo"])
    demo_key = sim.admin(
        "POST", "/__sim__/keys", {"uid": demo["uid"], "perm": "read_only,withdraw", "demo": True}
    )
    assert call(sim, demo_key, "POST", "/api/v5/asset/withdrawal", body)["code"] == "50038"


def test_admin_hooks_refuse_bad_input_with_a_fix(sim: RunningSim, key: dict[str, Any]) -> None:
    cases = [
        ("/__sim__/deposits", {"uid": "nope", "ccy": "USDT", "amt": "1"}, "no account"),
        ("/__sim__/deposits", {"uid": key["uid"], "ccy": "XYZ", "amt": "1"}, "ccy must be one of"),
        ("/__sim__/deposits", {"uid": key["uid"], "ccy": "USDT", "amt": "-1"}, "must be > 0"),
        ("/__sim__/deposits", {"uid": key["uid"], "ccy": "USDT", "amt": "1", "state": "7"}, "deposit state"),
        ("/__sim__/withdrawals", {"uid": key["uid"], "ccy": "USDT", "amt": "1"}, "toAddr is required"),
        (
            "/__sim__/withdrawals",
            {"uid": key["uid"], "ccy": "USDT", "amt": "1e9", "toAddr": "T1"},
            "POST /__sim__/deposits",
        ),
        ("/__sim__/withdrawals", {"uid": key["uid"], "wdId": "1", "state": "2"}, "does not exist"),
    ]
    for path, body, words in cases:
        with pytest.raises(RuntimeError, match="HTTP 400") as err:
            sim.admin("POST", path, body)
        assert words in str(err.value), (path, body, str(err.value))


def test_unmodified_ccxt_reads_and_moves_funding(sim: RunningSim, key: dict[str, Any]) -> None:
    deposit(sim, key["uid"], "75")
    withdraw(sim, key["uid"], "5")
    okx = ccxt.okx({"apiKey": key["apiKey"], "secret": key["secretKey"], "password": key["passphrase"]})
    okx.urls["api"]["rest"] = sim.rest
    okx.options["fetchMarkets"] = {"types": ["spot"]}
    (dep,) = okx.fetch_deposits("USDT")
    assert (dep["amount"], dep["currency"], dep["status"], dep["type"]) == (75, "USDT", "ok", "deposit")
    (wd,) = okx.fetch_withdrawals("USDT")
    assert (wd["amount"], wd["address"], wd["status"], wd["type"]) == (5, "TAttacker01", "ok", "withdrawal")
    assert okx.fetch_deposit_address("USDT")["address"] == dep["addressTo"]
    okx.transfer("USDT", 20, "funding", "trading")
    assert okx.fetch_balance({"type": "funding"})["USDT"]["free"] == 50
    assert okx.fetch_balance()["USDT"]["free"] == 1020
