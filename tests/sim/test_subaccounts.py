"""A master account and its sub-accounts as OKX serves them: create, list, API keys (create / query /
modify / delete) with OKX's refusals, transfers master <-> sub-account, balances and bills; a deleted
key is refused at once on REST and WebSocket; each sub-account has its own uid, money and buckets."""

from __future__ import annotations

import asyncio
import itertools
import json
from typing import Any

import aiohttp
import pytest

from okxbot.sim.server import RunningSim
from tests.sim.okx_http import signed
from tests.sim.ws_client import login_args

pytestmark = pytest.mark.timeout(60)

PASSPHRASE = "Bot-pass1"
_NAMES = itertools.count(1)


def unique(prefix: str) -> str:
    """Sub-account names are unique across the exchange (the simulator lives for the whole module)."""
    return f"{prefix}{next(_NAMES):04d}"


@pytest.fixture(autouse=True)
def fresh_limits(sim: RunningSim) -> None:
    sim.admin("POST", "/__sim__/reset-limits")


@pytest.fixture
def master(sim: RunningSim) -> dict[str, Any]:
    return sim.admin(
        "POST",
        "/__sim__/keys",
        {"balances": {"USDT": "10000", "BTC": "1"}, "ip": "127.0.0.1", "label": "master"},
    )


def call(sim: RunningSim, key: dict[str, Any], method: str, path: str, payload: Any = None) -> dict[str, Any]:
    # the master-key endpoints allow 1 request per second: the buckets are emptied between calls
    sim.admin("POST", "/__sim__/reset-limits")
    body = json.dumps(payload).encode() if payload is not None else b""
    response = signed(sim.rest, key, method, path, body)
    answer = response.json()
    answer["status"] = response.status_code
    return answer


def ok(answer: dict[str, Any]) -> list[dict[str, Any]]:
    assert answer["code"] == "0", answer
    return answer["data"]


def new_sub(sim: RunningSim, master: dict[str, Any], name: str) -> dict[str, Any]:
    return ok(
        call(
            sim, master, "POST", "/api/v5/users/subaccount/create-subaccount", {"subAcct": name, "type": "1"}
        )
    )[0]


def new_sub_key(sim: RunningSim, master: dict[str, Any], name: str, **fields: str) -> dict[str, Any]:
    body = {
        "subAcct": name,
        "label": "bot1",
        "passphrase": PASSPHRASE,
        "perm": "read_only,trade",
        "ip": "127.0.0.1",
    }
    row = ok(call(sim, master, "POST", "/api/v5/users/subaccount/apikey", body | fields))[0]
    return {**row, "demo": False}


def transfer(sim: RunningSim, key: dict[str, Any], **body: str) -> dict[str, Any]:
    return call(sim, key, "POST", "/api/v5/asset/transfer", {"ccy": "USDT", "from": "18", "to": "18", **body})


def usdt(rows: list[dict[str, Any]]) -> str:
    return next((d["availBal"] for d in rows[0]["details"] if d["ccy"] == "USDT"), "0")


def test_create_list_and_own_uid(sim: RunningSim, master: dict[str, Any]) -> None:
    made = new_sub(sim, master, "alpha01")
    assert set(made) == {"label", "subAcct", "ts", "uid"} and made["uid"] != master["uid"]
    rows = ok(call(sim, master, "GET", "/api/v5/users/subaccount/list"))
    assert [(r["subAcct"], r["uid"], r["type"], r["canTransOut"], r["enable"]) for r in rows] == [
        ("alpha01", made["uid"], "1", True, True)
    ]
    again = call(
        sim, master, "POST", "/api/v5/users/subaccount/create-subaccount", {"subAcct": "alpha01", "type": "1"}
    )
    assert again["code"] == "59601"
    for bad in ("abc12", "abcdefgh", "12345678", "has space1", "a" * 20 + "1"):
        answer = call(
            sim, master, "POST", "/api/v5/users/subaccount/create-subaccount", {"subAcct": bad, "type": "1"}
        )
        assert answer["code"] == "51000", (bad, answer)


def test_sub_key_sees_only_its_account_and_is_refused_master_endpoints(
    sim: RunningSim, master: dict[str, Any]
) -> None:
    sub = new_sub(sim, master, "beta0001")
    key = new_sub_key(sim, master, "beta0001")
    assert (key["perm"], key["ip"], key["passphrase"]) == ("read_only,trade", "127.0.0.1", PASSPHRASE)
    config = ok(call(sim, key, "GET", "/api/v5/account/config"))[0]
    assert (config["uid"], config["mainUid"], config["type"]) == (sub["uid"], master["uid"], "1")
    assert ok(call(sim, key, "GET", "/api/v5/account/balance"))[0]["details"] == []
    for method, path, body in [
        ("GET", "/api/v5/users/subaccount/list", None),
        ("POST", "/api/v5/users/subaccount/create-subaccount", {"subAcct": "gamma001", "type": "1"}),
        (
            "POST",
            "/api/v5/users/subaccount/apikey",
            {"subAcct": "beta0001", "label": "x1", "passphrase": PASSPHRASE},
        ),
        ("GET", "/api/v5/users/subaccount/apikey?subAcct=beta0001", None),
        ("POST", "/api/v5/users/subaccount/delete-apikey", {"subAcct": "beta0001", "apiKey": key["apiKey"]}),
        (
            "POST",
            "/api/v5/users/subaccount/modify-apikey",
            {"subAcct": "beta0001", "apiKey": key["apiKey"], "ip": ""},
        ),
        ("POST", "/api/v5/users/subaccount/set-transfer-out", {"subAcct": "beta0001", "canTransOut": True}),
        ("GET", "/api/v5/account/subaccount/balances?subAcct=beta0001", None),
        ("GET", "/api/v5/asset/subaccount/balances?subAcct=beta0001", None),
        ("GET", "/api/v5/asset/subaccount/bills", None),
    ]:
        assert call(sim, key, method, path, body)["code"] == "59500", path
    # the master's money is out of reach: type 1 / 2 are master-only, and an order beyond the budget fails
    assert transfer(sim, key, amt="1", type="2", subAcct="beta0001")["code"] == "58128"
    order = {
        "instId": "BTC-USDT",
        "tdMode": "cash",
        "side": "buy",
        "ordType": "limit",
        "px": "60000",
        "sz": "0.01",
    }
    assert call(sim, key, "POST", "/api/v5/trade/order", order)["data"][0]["sCode"] == "51008"


def test_master_key_rules(sim: RunningSim, master: dict[str, Any]) -> None:
    unbound = sim.admin("POST", "/__sim__/keys", {"uid": master["uid"], "ip": ""})
    new_sub(sim, master, "delta001")
    create = {"subAcct": "delta001", "label": "bot1", "passphrase": PASSPHRASE}
    refused = call(sim, unbound, "POST", "/api/v5/users/subaccount/apikey", create)
    assert (refused["status"], refused["code"]) == (403, "50035")
    assert call(sim, unbound, "GET", "/api/v5/users/subaccount/list")["code"] == "0"  # reading needs no IP
    reader = sim.admin("POST", "/__sim__/keys", {"uid": master["uid"], "perm": "read_only"})
    assert call(sim, reader, "POST", "/api/v5/users/subaccount/apikey", create)["code"] == "50120"


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"passphrase": "short1A!"[:7]}, "59505"),
        ({"passphrase": "nouppercase1!"}, "59505"),
        ({"passphrase": "NoSpecial123"}, "59505"),
        ({"passphrase": "NoDigits!!ab"}, "59505"),
        ({"passphrase": "A1!" + "a" * 30}, "59505"),
        ({"perm": "read_only,trade,withdraw"}, "51000"),
        ({"perm": "admin"}, "51000"),
        ({"ip": ",".join(f"10.0.0.{i}" for i in range(21))}, "59503"),
        ({"ip": "not-an-ip"}, "51000"),
        ({"subAcct": "nosuch001"}, "59510"),
        ({"label": "has-dash"}, "51000"),
    ],
)
def test_key_creation_refusals(
    sim: RunningSim, master: dict[str, Any], fields: dict[str, str], code: str
) -> None:
    name = unique("eps")
    new_sub(sim, master, name)
    body = {"subAcct": name, "label": "bot1", "passphrase": PASSPHRASE, "perm": "trade"} | fields
    answer = call(sim, master, "POST", "/api/v5/users/subaccount/apikey", body)
    assert (answer["code"], answer["data"]) == (code, [])
    assert sim.admin("GET", f"/__sim__/subaccounts?uid={master['uid']}")["subaccounts"][0]["keys"] == []


def test_duplicate_label_key_limit_query_modify_delete(sim: RunningSim, master: dict[str, Any]) -> None:
    new_sub(sim, master, "zeta0001")
    first = new_sub_key(sim, master, "zeta0001", perm="trade", ip="")
    assert first["perm"] == "read_only,trade" and first["ip"] == ""
    dup = call(sim, master, "POST", "/api/v5/users/subaccount/apikey",
               {"subAcct": "zeta0001", "label": "bot1", "passphrase": PASSPHRASE})  # fmt: skip
    assert dup["code"] == "59502"
    rows = ok(call(sim, master, "GET", "/api/v5/users/subaccount/apikey?subAcct=zeta0001"))
    assert [(r["apiKey"], r["label"], r["perm"], r["ip"]) for r in rows] == [
        (first["apiKey"], "bot1", "read_only,trade", "")
    ]
    assert "secretKey" not in rows[0] and "passphrase" not in rows[0]
    modify = {
        "subAcct": "zeta0001",
        "apiKey": first["apiKey"],
        "perm": "read_only",
        "ip": "127.0.0.1,10.1.0.0/16",
    }
    changed = ok(call(sim, master, "POST", "/api/v5/users/subaccount/modify-apikey", modify))[0]
    assert (changed["perm"], changed["ip"]) == ("read_only", "127.0.0.1,10.1.0.0/16")
    assert ok(call(sim, first, "GET", "/api/v5/account/config"))[0]["perm"] == "read_only"
    unknown = call(sim, master, "POST", "/api/v5/users/subaccount/delete-apikey",
                   {"subAcct": "zeta0001", "apiKey": "0f0f0f0f-0000-0000-0000-000000000000"})  # fmt: skip
    assert unknown["code"] == "59506"
    # 50 keys per account: the 51st is refused
    sim.admin("POST", "/__sim__/subaccount-config", {"maxKeys": 2})
    try:
        new_sub_key(sim, master, "zeta0001", label="bot2")
        third = call(sim, master, "POST", "/api/v5/users/subaccount/apikey",
                     {"subAcct": "zeta0001", "label": "bot3", "passphrase": PASSPHRASE})  # fmt: skip
        assert third["code"] == "59501"
    finally:
        sim.admin("POST", "/__sim__/subaccount-config", {"maxKeys": 50})
    gone = ok(call(sim, master, "POST", "/api/v5/users/subaccount/delete-apikey",
                   {"subAcct": "zeta0001", "apiKey": first["apiKey"]}))  # fmt: skip
    assert gone == [{"subAcct": "zeta0001"}]
    refused = call(sim, first, "GET", "/api/v5/account/balance")
    assert (refused["status"], refused["code"]) == (401, "50111")


def test_transfers_between_master_and_sub(sim: RunningSim, master: dict[str, Any]) -> None:
    sub = new_sub(sim, master, "eta00001")
    key = new_sub_key(sim, master, "eta00001")
    moved = ok(transfer(sim, master, amt="500", type="1", subAcct="eta00001"))[0]
    assert (moved["amt"], moved["from"], moved["to"]) == ("500", "18", "18")
    assert usdt(ok(call(sim, master, "GET", "/api/v5/account/subaccount/balances?subAcct=eta00001"))) == "500"
    assert usdt(ok(call(sim, key, "GET", "/api/v5/account/balance"))) == "500"
    assert usdt(ok(call(sim, master, "GET", "/api/v5/account/balance"))) == "9500"
    # master -> sub funding account, and back from the sub's funding to the master's trading account
    ok(transfer(sim, master, amt="20", type="1", subAcct="eta00001", to="6"))
    funding = ok(call(sim, master, "GET", "/api/v5/asset/subaccount/balances?subAcct=eta00001"))
    assert [(r["ccy"], r["bal"]) for r in funding] == [("USDT", "20")]
    ok(transfer(sim, master, amt="20", type="2", subAcct="eta00001", **{"from": "6"}))
    # the sub-account's own key moves money back to its master (type 3) while transfer-out is allowed
    assert transfer(sim, master, amt="1", type="3")["code"] == "58127"
    ok(transfer(sim, key, amt="100", type="3", loanTrans=False, omitPosRisk="false"))
    set_out = ok(call(sim, master, "POST", "/api/v5/users/subaccount/set-transfer-out",
                      {"subAcct": "eta00001", "canTransOut": False}))  # fmt: skip
    assert set_out == [{"canTransOut": False, "subAcct": "eta00001"}]
    assert transfer(sim, key, amt="1", type="3")["code"] == "58119"
    assert transfer(sim, master, amt="100000", type="2", subAcct="eta00001")["code"] == "58116"
    ok(transfer(sim, master, amt="400", type="2", subAcct="eta00001"))
    assert usdt(ok(call(sim, master, "GET", "/api/v5/account/balance"))) == "10000"
    bills = ok(call(sim, master, "GET", "/api/v5/asset/subaccount/bills?subAcct=eta00001"))
    assert [(b["type"], b["amt"]) for b in bills] == [
        ("1", "400"),
        ("1", "100"),
        ("1", "20"),
        ("0", "20"),
        ("0", "500"),
    ]
    assert ok(call(sim, master, "GET", "/api/v5/asset/subaccount/bills?type=0&limit=1"))[0]["amt"] == "20"
    assert sub["uid"] != master["uid"]


def test_sub_accounts_have_their_own_rate_limit_buckets(sim: RunningSim, master: dict[str, Any]) -> None:
    new_sub(sim, master, "theta001")
    key = new_sub_key(sim, master, "theta001")
    sim.admin("POST", "/__sim__/reset-limits")
    codes = [signed(sim.rest, master, "GET", "/api/v5/account/config").json()["code"] for _ in range(6)]
    assert codes[-1] == "50011"  # 5 per 2 s per uid
    assert signed(sim.rest, key, "GET", "/api/v5/account/config").json()["code"] == "0"


def test_deleted_key_is_refused_on_websocket_and_its_sessions_closed(
    sim: RunningSim, master: dict[str, Any]
) -> None:
    new_sub(sim, master, "iota0001")
    key = new_sub_key(sim, master, "iota0001")

    async def scenario() -> tuple[list[int], dict[str, Any], dict[str, Any]]:
        async with aiohttp.ClientSession() as http:
            sessions = []
            for endpoint in ("private", "business"):  # every session the key logged in, on each endpoint
                ws = await http.ws_connect(f"{sim.ws}/{endpoint}")
                await ws.send_json({"op": "login", "args": [login_args(key)]})
                assert (await ws.receive_json(timeout=10))["event"] == "login"
                sessions.append(ws)
            await asyncio.to_thread(
                call, sim, master, "POST", "/api/v5/users/subaccount/delete-apikey",
                {"subAcct": "iota0001", "apiKey": key["apiKey"]},
            )  # fmt: skip
            codes = []
            for ws in sessions:
                closing = await ws.receive(timeout=10)
                while closing.type == aiohttp.WSMsgType.TEXT:
                    closing = await ws.receive(timeout=10)
                assert closing.type == aiohttp.WSMsgType.CLOSE
                codes.append(closing.data)
            again = await _connect(http, f"{sim.ws}/private")
            await again.send_json({"op": "login", "args": [login_args(key)]})
            relogin = await again.receive_json(timeout=10)
            await again.close()
            rest = await asyncio.to_thread(call, sim, key, "GET", "/api/v5/account/balance")
            return codes, relogin, rest

    codes, relogin, rest = asyncio.run(scenario())
    assert codes == [4007, 4007]  # "API key has been updated or deleted. Please reconnect."
    assert (relogin["event"], relogin["code"]) == ("error", "60005")
    assert rest["code"] == "50111"


def test_website_only_creation_and_hand_made_keys(sim: RunningSim, master: dict[str, Any]) -> None:
    sim.admin("POST", "/__sim__/subaccount-config", {"apiCreate": False})
    try:
        refused = call(sim, master, "POST", "/api/v5/users/subaccount/create-subaccount",
                       {"subAcct": "kappa001", "type": "1"})  # fmt: skip
        assert refused["code"] == "59518"
    finally:
        sim.admin("POST", "/__sim__/subaccount-config", {"apiCreate": True})
    row = sim.admin("POST", "/__sim__/subaccounts", {"uid": master["uid"], "subAcct": "kappa001"})
    manual = sim.admin(
        "POST", "/__sim__/keys", {"uid": row["uid"], "perm": "read_only,trade,withdraw", "ip": ""}
    )
    rows = ok(call(sim, master, "GET", "/api/v5/users/subaccount/apikey?subAcct=kappa001"))
    assert [(r["apiKey"], r["perm"]) for r in rows] == [(manual["apiKey"], "read_only,trade,withdraw")]
    sim.admin("POST", "/__sim__/deposits", {"uid": row["uid"], "ccy": "USDT", "amt": "5"})
    withdrawal = {"ccy": "USDT", "amt": "1", "dest": "4", "toAddr": "TAttacker01", "chain": "USDT-TRC20"}
    assert call(sim, manual, "POST", "/api/v5/asset/withdrawal", withdrawal)["code"] == "59504"


@pytest.mark.filterwarnings("ignore:Use 'content=<...>':DeprecationWarning")
def test_unmodified_python_okx_manages_sub_accounts(sim: RunningSim, master: dict[str, Any]) -> None:
    from okx.Funding import FundingAPI
    from okx.SubAccount import SubAccountAPI

    name = unique("pyokx")
    new_sub(sim, master, name)
    key = new_sub_key(sim, master, name)
    creds = (master["apiKey"], master["secretKey"], master["passphrase"])
    subs = SubAccountAPI(*creds, flag="0", domain=sim.rest, debug=False)
    funding = FundingAPI(*creds, flag="0", domain=sim.rest, debug=False)
    sim.admin("POST", "/__sim__/reset-limits")
    assert [r["subAcct"] for r in subs.get_subaccount_list(subAcct=name)["data"]] == [name]
    moved = funding.funds_transfer(ccy="USDT", amt="25", from_="18", to="18", type="1", subAcct=name)
    assert moved["code"] == "0", moved
    trading = subs.get_account_balance(subAcct=name)["data"][0]["details"]
    assert [(d["ccy"], d["availBal"]) for d in trading] == [("USDT", "25")]
    assert subs.get_funding_balance(subAcct=name)["data"] == []
    assert [(b["type"], b["amt"]) for b in subs.bills(subAcct=name)["data"]] == [("0", "25")]
    sim.admin("POST", "/__sim__/reset-limits")
    assert (
        subs.set_permission_transfer_out(subAcct=name, canTransOut="false")["data"][0]["canTransOut"] is False
    )
    sim.admin("POST", "/__sim__/reset-limits")
    reset = subs.reset_subaccount_apikey(subAcct=name, apiKey=key["apiKey"], perm="read_only")
    assert (
        reset["code"] == "0"
        and reset["data"][0]["perm"] == "read_only"
        and reset["data"][0]["ip"] == "127.0.0.1"
    )


@pytest.mark.filterwarnings("ignore:Use 'content=<...>':DeprecationWarning")
def test_python_okx_moves_money_between_sub_accounts_through_the_master(
    sim: RunningSim, master: dict[str, Any]
) -> None:
    from okx.SubAccount import SubAccountAPI

    first, second = unique("from"), unique("into")
    new_sub(sim, master, first)
    new_sub(sim, master, second)
    ok(transfer(sim, master, amt="40", type="1", subAcct=first))
    # even with its own transfer-out off, the master may move a sub-account's money
    ok(call(sim, master, "POST", "/api/v5/users/subaccount/set-transfer-out",
            {"subAcct": first, "canTransOut": False}))  # fmt: skip
    subs = SubAccountAPI(master["apiKey"], master["secretKey"], master["passphrase"], flag="0",
                         domain=sim.rest, debug=False)  # fmt: skip
    sim.admin("POST", "/__sim__/reset-limits")
    moved = subs.subAccount_transfer("USDT", "15", "18", "6", first, second)
    assert moved["code"] == "0" and set(moved["data"][0]) == {"transId"}, moved
    assert usdt(ok(call(sim, master, "GET", f"/api/v5/account/subaccount/balances?subAcct={first}"))) == "25"
    funding = ok(call(sim, master, "GET", f"/api/v5/asset/subaccount/balances?subAcct={second}"))
    assert [(r["ccy"], r["bal"]) for r in funding] == [("USDT", "15")]
    sim.admin("POST", "/__sim__/reset-limits")
    assert subs.subAccount_transfer("USDT", "1000", "18", "18", first, second)["code"] == "58116"
    sim.admin("POST", "/__sim__/reset-limits")
    assert subs.subAccount_transfer("USDT", "1", "18", "18", first, first)["code"] == "59507"
    sim.admin("POST", "/__sim__/reset-limits")
    assert subs.subAccount_transfer("USDT", "1", "18", "18", first, "nosuch999")["code"] == "58115"
    sim.admin("POST", "/__sim__/reset-limits")
    assert subs.get_entrust_subaccount_list() == {"code": "0", "data": [], "msg": ""}
    # a sub-account's key is no master
    key = new_sub_key(sim, master, first)
    body = {
        "ccy": "USDT",
        "amt": "1",
        "from": "18",
        "to": "18",
        "fromSubAccount": first,
        "toSubAccount": second,
    }
    assert call(sim, key, "POST", "/api/v5/asset/subaccount/transfer", body)["code"] == "59500"
    assert call(sim, key, "GET", "/api/v5/users/entrust-subaccount-list")["code"] == "59500"


def test_unmodified_ccxt_manages_sub_account_keys(sim: RunningSim, master: dict[str, Any]) -> None:
    import ccxt

    name = unique("ccxt")
    exchange = ccxt.okx({"apiKey": master["apiKey"], "secret": master["secretKey"],
                         "password": master["passphrase"], "enableRateLimit": False})  # fmt: skip
    exchange.urls["api"]["rest"] = sim.rest
    sim.admin("POST", "/__sim__/reset-limits")
    made = exchange.privatePostUsersSubaccountCreateSubaccount({"subAcct": name, "type": "1"})
    assert made["code"] == "0" and made["data"][0]["subAcct"] == name
    sim.admin("POST", "/__sim__/reset-limits")
    key = exchange.privatePostUsersSubaccountApikey(
        {
            "subAcct": name,
            "label": "ccxt1",
            "passphrase": PASSPHRASE,
            "perm": "read_only,trade",
            "ip": "127.0.0.1",
        }
    )["data"][0]
    assert (key["perm"], key["ip"], key["subAcct"]) == ("read_only,trade", "127.0.0.1", name)
    listed = exchange.privateGetUsersSubaccountApikey({"subAcct": name})["data"]
    assert [k["apiKey"] for k in listed] == [key["apiKey"]]
    sim.admin("POST", "/__sim__/reset-limits")
    with pytest.raises(ccxt.ExchangeError, match="59506"):
        exchange.privateGetUsersSubaccountApikey(
            {"subAcct": name, "apiKey": "0f0f0f0f-0000-0000-0000-000000000000"}
        )
    sim.admin("POST", "/__sim__/reset-limits")
    with pytest.raises(ccxt.ExchangeError, match="59506"):
        exchange.privatePostUsersSubaccountModifyApikey(
            {"subAcct": name, "apiKey": "0f0f0f0f-0000-0000-0000-000000000000", "label": "other1"}
        )
    sim.admin("POST", "/__sim__/reset-limits")
    gone = exchange.privatePostUsersSubaccountDeleteApikey({"subAcct": name, "apiKey": key["apiKey"]})
    assert gone["data"] == [{"subAcct": name}]
    bot = ccxt.okx({"apiKey": key["apiKey"], "secret": key["secretKey"], "password": key["passphrase"]})
    bot.urls["api"]["rest"] = sim.rest
    with pytest.raises(ccxt.AuthenticationError):
        bot.privateGetAccountBalance()


async def _connect(http: aiohttp.ClientSession, url: str) -> aiohttp.ClientWebSocketResponse:
    """Connect as a client that keeps to OKX's 3 connections a second per IP: the module's other
    tests may have used this second's connections (429), so try again in the next one."""
    for _ in range(20):
        try:
            return await http.ws_connect(url)
        except aiohttp.WSServerHandshakeError as err:
            if err.status != 429:
                raise
            await asyncio.sleep(0.25)  # the limit's window moves on; nothing else to wait for
    return await http.ws_connect(url)


def test_a_modified_keys_sessions_are_closed_and_it_logs_in_again_with_its_new_rights(
    sim: RunningSim, master: dict[str, Any]
) -> None:
    name = unique("mod")
    new_sub(sim, master, name)
    key = new_sub_key(sim, master, name)

    async def scenario() -> tuple[int | None, dict[str, Any]]:
        async with aiohttp.ClientSession() as http:
            ws = await _connect(http, f"{sim.ws}/private")
            await ws.send_json({"op": "login", "args": [login_args(key)]})
            assert (await ws.receive_json(timeout=10))["event"] == "login"
            await asyncio.to_thread(
                call, sim, master, "POST", "/api/v5/users/subaccount/modify-apikey",
                {"subAcct": name, "apiKey": key["apiKey"], "perm": "read_only"},
            )  # fmt: skip
            closing = await ws.receive(timeout=10)
            while closing.type == aiohttp.WSMsgType.TEXT:
                closing = await ws.receive(timeout=10)
            again = await http.ws_connect(f"{sim.ws}/private")
            await again.send_json({"op": "login", "args": [login_args(key)]})
            relogin = await again.receive_json(timeout=10)
            await again.close()
            return closing.data, relogin

    code, relogin = asyncio.run(scenario())
    assert code == 4007 and (relogin["event"], relogin["code"]) == ("login", "0")
    order = {
        "instId": "BTC-USDT",
        "tdMode": "cash",
        "side": "buy",
        "ordType": "limit",
        "px": "1000",
        "sz": "0.001",
    }
    assert call(sim, key, "POST", "/api/v5/trade/order", order)["code"] == "50120"  # now read-only
