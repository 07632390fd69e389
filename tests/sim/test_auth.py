"""The simulator authenticates exactly as OKX: signature on the raw bytes, every §1.5 failure."""

from __future__ import annotations

import json
from typing import Any

import ccxt
import pytest

from okxbot.sim.auth import KeyStore, WsAuthError, prehash, sign
from okxbot.sim.server import RunningSim
from tests.sim.okx_http import iso_now, okx_sign, signed

DOC_SECRET = "22582BD0CFF14C41EDBF1AB98506286D"


def test_reference_signature_vectors() -> None:
    ts = "2020-12-08T09:08:57.715Z"
    assert sign(DOC_SECRET, prehash(ts, "GET", "/api/v5/account/balance?ccy=BTC")) == (
        "HiZhvSfMtWJA3uUIVXV3a/bSXNPCWvYFXoGCVS8V4zY="
    )
    body = b'{"instId":"BTC-USDT","tdMode":"cash","side":"buy","ordType":"limit","px":"2.15","sz":"2"}'
    assert sign(DOC_SECRET, prehash(ts, "POST", "/api/v5/trade/order", body)) == (
        "iwrdSpN7pm4G4u8+fswZUyH6mOM48+sBF6WvKpj4Dvk="
    )
    assert sign(DOC_SECRET, prehash("1538054050", "GET", "/users/self/verify")) == (
        "+LdIr8lkkvhr5hoA3g9TMC0+uQJ849ftAcocA/ouu4M="
    )


def live(sim: RunningSim) -> dict[str, Any]:
    return next(k for k in sim.keys if not k["demo"])


def demo(sim: RunningSim) -> dict[str, Any]:
    return next(k for k in sim.keys if k["demo"])


def error_of(response: Any) -> tuple[int, str, str]:
    body = response.json()
    return response.status_code, body["code"], body["msg"]


def test_a_correctly_signed_request_is_answered(sim: RunningSim) -> None:
    response = signed(sim.rest, live(sim), "GET", "/api/v5/account/config")
    assert response.status_code == 200
    body = response.json()
    assert body["code"] == "0"
    config = body["data"][0]
    assert config["uid"] == live(sim)["uid"]
    assert config["perm"] == "read_only,trade"
    assert config["ip"] == "127.0.0.1"
    assert config["acctLv"] == "1"
    assert config["posMode"] == "net_mode"


@pytest.mark.parametrize(
    ("header", "code", "msg"),
    [
        ("OK-ACCESS-KEY", "50103", 'Request header "OK-ACCESS-KEY" cannot be empty.'),
        ("OK-ACCESS-PASSPHRASE", "50104", 'Request header "OK-ACCESS-PASSPHRASE" cannot be empty.'),
        ("OK-ACCESS-SIGN", "50106", 'Request header "OK-ACCESS-SIGN" cannot be empty.'),
        ("OK-ACCESS-TIMESTAMP", "50107", 'Request header "OK-ACCESS-TIMESTAMP" cannot be empty.'),
    ],
)
def test_a_missing_header_is_named(sim: RunningSim, header: str, code: str, msg: str) -> None:
    response = signed(sim.rest, live(sim), "GET", "/api/v5/account/balance", drop=(header,))
    assert error_of(response) == (401, code, msg)


def test_failures_answer_the_documented_code_message_and_status(sim: RunningSim) -> None:
    key = live(sim)
    path = "/api/v5/account/balance"
    cases = {
        "bad timestamp format": (
            signed(sim.rest, key, "GET", path, timestamp="2020-12-08 09:08:57"),
            (401, "50112", "Invalid OK-ACCESS-TIMESTAMP."),
        ),
        "unknown key": (
            signed(sim.rest, {**key, "apiKey": "no-such-key"}, "GET", path),
            (401, "50111", "Invalid OK-ACCESS-KEY."),
        ),
        "live key sends x-simulated-trading 1": (
            signed(sim.rest, key, "GET", path, headers={"x-simulated-trading": "1"}),
            (401, "50101", "APIKey does not match current environment."),
        ),
        "demo key without the header": (
            signed(sim.rest, demo(sim), "GET", path, headers={"x-simulated-trading": "0"}),
            (401, "50101", "APIKey does not match current environment."),
        ),
        "wrong passphrase": (
            signed(sim.rest, {**key, "passphrase": "wrong"}, "GET", path),
            (401, "50105", 'Request header "OK-ACCESS-PASSPHRASE" incorrect.'),
        ),
        "timestamp 31 s old": (
            signed(sim.rest, key, "GET", path, timestamp=iso_now(-31)),
            (401, "50102", "Timestamp request expired."),
        ),
        "timestamp 31 s ahead": (
            signed(sim.rest, key, "GET", path, timestamp=iso_now(31)),
            (401, "50102", "Timestamp request expired."),
        ),
        "wrong secret": (
            signed(sim.rest, key, "GET", path, secret="0" * 32),
            (401, "50113", "Invalid signature."),
        ),
    }
    for name, (response, expected) in cases.items():
        assert error_of(response) == expected, name
    # python-okx's live flag sends "0": that is a live request.
    assert signed(sim.rest, key, "GET", path, headers={"x-simulated-trading": "0"}).json()["code"] == "0"


def test_a_request_from_outside_the_ip_whitelist_is_refused(sim: RunningSim) -> None:
    bound = sim.admin("POST", "/__sim__/keys", {"ip": "10.1.2.3", "balances": {"USDT": "10"}})
    response = signed(sim.rest, bound, "GET", "/api/v5/account/balance")
    assert error_of(response) == (
        401,
        "50110",
        "Your IP 127.0.0.1 is not included in your API key's IP whitelist.",
    )
    network = sim.admin(
        "POST", "/__sim__/keys", {"ip": "10.0.0.0/8, 127.0.0.0/8", "balances": {"USDT": "10"}}
    )
    assert signed(sim.rest, network, "GET", "/api/v5/account/balance").json()["code"] == "0"


def test_the_signature_covers_the_query_exactly_as_sent(sim: RunningSim) -> None:
    key = live(sim)
    # python-okx sends the comma raw, ccxt URL-encodes it: both sign what they send.
    raw = signed(sim.rest, key, "GET", "/api/v5/account/balance?ccy=BTC,USDT")
    encoded = signed(sim.rest, key, "GET", "/api/v5/account/balance?ccy=BTC%2CUSDT")
    assert raw.json()["code"] == "0"
    assert encoded.json()["code"] == "0"
    assert {d["ccy"] for d in raw.json()["data"][0]["details"]} == {"BTC", "USDT"}
    # Signing a re-ordered query (hummingbot#5800) is a bad signature.
    reordered = signed(
        sim.rest,
        key,
        "GET",
        "/api/v5/trade/fills?limit=5&instType=SPOT",
        sign_path="/api/v5/trade/fills?instType=SPOT&limit=5",
    )
    assert error_of(reordered) == (401, "50113", "Invalid signature.")


def test_the_signature_covers_the_body_bytes_as_sent(sim: RunningSim) -> None:
    key = live(sim)
    # python-okx's json.dumps spacing, "" fields and a null: accepted because it was signed as sent.
    body = json.dumps(
        {"instId": "BTC-USDT", "tdMode": "cash", "side": "buy", "ordType": "limit", "px": "20000", "sz": "0.001",
         "ccy": "", "clOrdId": "", "attachAlgoOrds": None}
    ).encode()  # fmt: skip
    response = signed(sim.rest, key, "POST", "/api/v5/trade/order", body)
    assert response.json()["code"] == "0", response.text
    # The same order re-serialised after signing is refused.
    ts = iso_now()
    headers = {
        "OK-ACCESS-TIMESTAMP": ts,
        "OK-ACCESS-SIGN": okx_sign(key["secretKey"], ts, "POST", "/api/v5/trade/order", body),
    }
    compact = json.dumps(json.loads(body), separators=(",", ":")).encode()
    tampered = signed(sim.rest, key, "POST", "/api/v5/trade/order", compact, headers=headers)
    assert error_of(tampered) == (401, "50113", "Invalid signature.")


def test_permissions_are_enforced(sim: RunningSim) -> None:
    reader = sim.admin("POST", "/__sim__/keys", {"perm": "read_only", "balances": {"USDT": "1000"}})
    order = json.dumps(
        {
            "instId": "BTC-USDT",
            "tdMode": "cash",
            "side": "buy",
            "ordType": "limit",
            "px": "20000",
            "sz": "0.001",
        }
    )
    assert signed(sim.rest, reader, "GET", "/api/v5/account/balance").json()["code"] == "0"
    refused = signed(sim.rest, reader, "POST", "/api/v5/trade/order", order.encode())
    assert error_of(refused) == (401, "50120", "This API key doesn't have permission to use this function")
    withdraw = json.dumps(
        {"ccy": "USDT", "amt": "1", "dest": "4", "toAddr": "TXyz", "chain": "USDT-TRC20"}
    ).encode()
    assert error_of(signed(sim.rest, live(sim), "POST", "/api/v5/asset/withdrawal", withdraw))[1] == "50120"
    assert sim.admin("GET", f"/__sim__/orders?uid={reader['uid']}")["orders"] == []


def test_the_admin_clock_offset_moves_the_timestamp_window(sim: RunningSim) -> None:
    key = live(sim)
    sim.admin("POST", "/__sim__/clock", {"offsetMs": 40_000})
    try:
        assert error_of(signed(sim.rest, key, "GET", "/api/v5/account/balance"))[1] == "50102"
        # A client that signs with the exchange's time passes.
        assert (
            signed(sim.rest, key, "GET", "/api/v5/account/balance", timestamp=iso_now(40)).json()["code"]
            == "0"
        )
    finally:
        sim.admin("POST", "/__sim__/clock", {"offsetMs": 0})


def ccxt_okx(sim: RunningSim, key: dict[str, Any], **overrides: Any) -> ccxt.okx:
    exchange = ccxt.okx(
        {
            "apiKey": key["apiKey"],
            "secret": key["secretKey"],
            "password": key["passphrase"],
            "enableRateLimit": False,
        }
        | overrides
    )
    exchange.urls["api"]["rest"] = sim.rest
    return exchange


def test_ccxt_sees_the_right_exception_classes(sim: RunningSim) -> None:
    key = live(sim)
    with pytest.raises(ccxt.AuthenticationError, match="50113"):
        ccxt_okx(sim, key, secret="0" * 32).fetch_balance()
    with pytest.raises(ccxt.AuthenticationError, match="50105"):
        ccxt_okx(sim, key, password="wrong-passphrase").fetch_balance()
    bound = sim.admin("POST", "/__sim__/keys", {"ip": "192.0.2.7", "balances": {"USDT": "10"}})
    with pytest.raises(ccxt.PermissionDenied, match="50110"):
        ccxt_okx(sim, bound).fetch_balance()
    sim.admin("POST", "/__sim__/clock", {"offsetMs": -45_000})
    try:
        with pytest.raises(ccxt.InvalidNonce, match="50102"):
            ccxt_okx(sim, key).fetch_balance()
    finally:
        sim.admin("POST", "/__sim__/clock", {"offsetMs": 0})
    reader = sim.admin("POST", "/__sim__/keys", {"perm": "read_only", "balances": {"USDT": "1000"}})
    with pytest.raises(ccxt.ExchangeError, match="50120"):
        ccxt_okx(sim, reader).private_post_trade_order(
            {
                "instId": "BTC-USDT",
                "tdMode": "cash",
                "side": "buy",
                "ordType": "limit",
                "px": "20000",
                "sz": "0.001",
            }
        )


def test_ws_login_check() -> None:
    now = [1_538_054_050_000]
    store = KeyStore(lambda: now[0])
    key = store.create("1001", ip="127.0.0.1")
    demo_key = store.create("1002", demo=True)
    ts = "1538054050"
    args = {"apiKey": key.api_key, "passphrase": key.passphrase, "timestamp": ts,
            "sign": sign(key.secret_key, prehash(ts, "GET", "/users/self/verify"))}  # fmt: skip
    assert store.verify_ws_login(args, "127.0.0.1", demo=False) == key
    assert store.verify_ws_login(
        {**args, "timestamp": "1538054050.123"}, "127.0.0.1", demo=False
    ) == WsAuthError("60007", "Invalid sign")
    assert store.verify_ws_login({**args, "sign": "AAAA"}, "127.0.0.1", demo=False) == WsAuthError(
        "60007", "Invalid sign"
    )
    assert store.verify_ws_login({**args, "passphrase": "x"}, "127.0.0.1", demo=False) == WsAuthError(
        "60024", "Wrong passphrase"
    )
    assert store.verify_ws_login({**args, "apiKey": "nope"}, "127.0.0.1", demo=False).code == "60005"
    assert store.verify_ws_login(args, "10.0.0.1", demo=False).code == "60009"
    assert store.verify_ws_login(args, "127.0.0.1", demo=True).code == "60032"
    assert store.verify_ws_login({**args, "timestamp": "abc"}, "127.0.0.1", demo=False).code == "60004"
    now[0] += 31_000
    assert store.verify_ws_login(args, "127.0.0.1", demo=False).code == "60006"
    demo_ts = str(now[0] // 1000)
    demo_args = {"apiKey": demo_key.api_key, "passphrase": demo_key.passphrase, "timestamp": demo_ts,
                 "sign": sign(demo_key.secret_key, prehash(demo_ts, "GET", "/users/self/verify"))}  # fmt: skip
    assert store.verify_ws_login(demo_args, "203.0.113.9", demo=True) == demo_key


@pytest.mark.parametrize(
    ("header", "value", "expected"),
    [
        (
            "OK-ACCESS-PASSPHRASE",
            "pässwörd€",
            (401, "50105", 'Request header "OK-ACCESS-PASSPHRASE" incorrect.'),
        ),
        ("OK-ACCESS-SIGN", "ßïgñ✓=", (401, "50113", "Invalid signature.")),
        ("OK-ACCESS-KEY", "kéy", (401, "50111", "Invalid OK-ACCESS-KEY.")),
        (
            "OK-ACCESS-TIMESTAMP",
            "２０２０-12-08T09:08:57.715Z",
            (401, "50112", "Invalid OK-ACCESS-TIMESTAMP."),
        ),
    ],
)
def test_non_ascii_credentials_are_refused_by_name_not_with_a_system_error(
    sim: RunningSim, header: str, value: str, expected: tuple[int, str, str]
) -> None:
    # Headers travel as bytes; a client may send UTF-8 (a passphrase chosen with an accent).
    response = signed(sim.rest, live(sim), "GET", "/api/v5/account/balance", headers={header: value.encode()})
    assert error_of(response) == expected
