"""Bad requests get OKX's error codes in the OKX envelope, never a stack trace or a bare 500."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from okxbot.sim.server import RunningSim
from tests.sim.okx_http import signed

ORDER = {
    "instId": "BTC-USDT",
    "tdMode": "cash",
    "side": "buy",
    "ordType": "limit",
    "px": "20000",
    "sz": "0.001",
}


@pytest.fixture(autouse=True)
def fresh_limits(sim: RunningSim) -> None:
    sim.admin("POST", "/__sim__/reset-limits")


def key_of(sim: RunningSim) -> dict[str, Any]:
    return next(k for k in sim.keys if not k["demo"])


def post(sim: RunningSim, path: str, body: bytes, **kw: Any) -> httpx.Response:
    return signed(sim.rest, key_of(sim), "POST", path, body, **kw)


def top_level(response: httpx.Response) -> tuple[int, str, str]:
    body = response.json()
    assert body["data"] == []
    return response.status_code, body["code"], body["msg"]


def test_malformed_json(sim: RunningSim) -> None:
    assert top_level(post(sim, "/api/v5/trade/order", b'{"instId": "BTC-USDT",')) == (
        400,
        "50002",
        "JSON syntax error",
    )


def test_wrong_content_type(sim: RunningSim) -> None:
    response = post(
        sim, "/api/v5/trade/order", json.dumps(ORDER).encode(), headers={"Content-Type": "text/plain"}
    )
    assert top_level(response) == (400, "50006", 'Invalid Content-Type. Please use "application/JSON".')


def test_empty_post_body(sim: RunningSim) -> None:
    assert top_level(post(sim, "/api/v5/trade/order", b"")) == (
        400,
        "50000",
        "Body for POST request cannot be empty.",
    )


def test_a_json_value_of_the_wrong_shape(sim: RunningSim) -> None:
    assert top_level(post(sim, "/api/v5/trade/order", b"[1, 2]"))[1] == "50002"
    assert top_level(post(sim, "/api/v5/trade/batch-orders", json.dumps(ORDER).encode()))[1] == "50002"


def order_result(response: httpx.Response) -> tuple[str, str, str]:
    body = response.json()
    assert response.status_code == 200
    assert body["code"] == "1"
    assert body["msg"] == "All operations failed"
    (item,) = body["data"]
    return item["sCode"], item["sMsg"], item["ordId"]


def test_order_validation_answers_per_item(sim: RunningSim) -> None:
    missing = {k: v for k, v in ORDER.items() if k != "sz"}
    assert order_result(post(sim, "/api/v5/trade/order", json.dumps(missing).encode())) == (
        "50014",
        "Parameter sz can not be empty.",
        "",
    )
    unknown = {**ORDER, "instId": "NOPE-USDT"}
    assert order_result(post(sim, "/api/v5/trade/order", json.dumps(unknown).encode()))[0] == "51001"
    wrong_type = {**ORDER, "sz": {"value": "1"}}
    assert order_result(post(sim, "/api/v5/trade/order", json.dumps(wrong_type).encode()))[:2] == (
        "51000",
        "Parameter sz error",
    )
    bad_side = {**ORDER, "side": 5}
    assert order_result(post(sim, "/api/v5/trade/order", json.dumps(bad_side).encode()))[:2] == (
        "51000",
        "Parameter side error",
    )


def test_batch_results_are_per_item_with_code_2_for_a_mix(sim: RunningSim) -> None:
    body = json.dumps([ORDER, {**ORDER, "instId": "NOPE-USDT"}]).encode()
    answer = post(sim, "/api/v5/trade/batch-orders", body).json()
    assert answer["code"] == "2"
    assert [item["sCode"] for item in answer["data"]] == ["0", "51001"]
    assert answer["inTime"].isdigit() and answer["outTime"].isdigit()


def test_a_batch_over_20_is_refused(sim: RunningSim) -> None:
    response = post(sim, "/api/v5/trade/batch-orders", json.dumps([ORDER] * 21).encode())
    assert top_level(response) == (200, "51111", "Maximum 20 orders can be placed in bulk.")


def test_exp_time_discards_late_requests(sim: RunningSim) -> None:
    key = sim.admin("POST", "/__sim__/keys", {"balances": {"USDT": "100000"}})
    body = json.dumps({**ORDER, "clOrdId": "late1"}).encode()
    server_ms = int(httpx.get(f"{sim.rest}/api/v5/public/time").json()["data"][0]["ts"])
    late = signed(sim.rest, key, "POST", "/api/v5/trade/order", body, headers={"expTime": str(server_ms - 1)})
    assert top_level(late)[:2] == (200, "50036")
    assert sim.admin("GET", f"/__sim__/orders?uid={key['uid']}")["orders"] == []
    for garbage in ("soon", "\u00b2", "\u0661\u0662"):  # "²" and Arabic-Indic digits pass str.isdigit()
        bad = signed(
            sim.rest, key, "POST", "/api/v5/trade/order", body, headers={"expTime": garbage.encode()}
        )
        assert top_level(bad) == (400, "51000", "Parameter expTime error"), garbage
    in_time = signed(
        sim.rest, key, "POST", "/api/v5/trade/order", body, headers={"expTime": str(server_ms + 60_000)}
    )
    assert in_time.json()["code"] == "0"


def test_an_oversized_body_is_refused(sim: RunningSim) -> None:
    response = post(sim, "/api/v5/trade/batch-orders", b"[" + b" " * (2 << 20) + b"]")
    assert top_level(response)[:2] == (413, "51000")


def test_unknown_paths_and_methods(sim: RunningSim) -> None:
    assert top_level(httpx.get(f"{sim.rest}/api/v5/market/nothing-here")) == (
        404,
        "50005",
        "API endpoint is inactive or unavailable.",
    )
    assert top_level(httpx.get(f"{sim.rest}/not-okx-at-all"))[:2] == (404, "50005")
    assert top_level(httpx.delete(f"{sim.rest}/api/v5/trade/order")) == (
        405,
        "50115",
        "Invalid request method.",
    )
    assert top_level(httpx.post(f"{sim.rest}/api/v5/public/time", json={}))[:2] == (405, "50115")


def test_bad_query_parameters(sim: RunningSim) -> None:
    assert top_level(httpx.get(f"{sim.rest}/api/v5/market/ticker"))[:3] == (
        400,
        "50014",
        "Parameter instId can not be empty.",
    )
    assert top_level(httpx.get(f"{sim.rest}/api/v5/market/ticker?instId=NOPE-USDT"))[:2] == (200, "51001")
    assert top_level(httpx.get(f"{sim.rest}/api/v5/market/books?instId=BTC-USDT&sz=abc")) == (
        400,
        "51000",
        "Parameter sz error",
    )
    assert top_level(httpx.get(f"{sim.rest}/api/v5/market/candles?instId=BTC-USDT&bar=7m"))[:3] == (
        400,
        "51000",
        "Parameter bar error",
    )
    assert top_level(httpx.get(f"{sim.rest}/api/v5/public/instruments"))[1] == "50014"
    assert top_level(httpx.get(f"{sim.rest}/api/v5/public/instruments?instType=BOND"))[1] == "51000"
    response = signed(sim.rest, key_of(sim), "GET", "/api/v5/trade/orders-pending?limit=0")
    assert top_level(response)[1:] == ("51000", "Parameter limit error")
    response = signed(sim.rest, key_of(sim), "GET", "/api/v5/trade/order?instId=BTC-USDT")
    assert top_level(response)[1] == "51003"
    response = signed(sim.rest, key_of(sim), "GET", "/api/v5/trade/order?instId=BTC-USDT&ordId=123")
    assert top_level(response)[1:] == ("51603", "Order does not exist")


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=8,
)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    fields=st.dictionaries(
        st.sampled_from([*ORDER, "clOrdId", "tag", "tgtCcy", "ordId"]), json_values, max_size=7
    )
)
def test_no_order_body_makes_the_simulator_fail(sim: RunningSim, fields: dict[str, Any]) -> None:
    sim.admin("POST", "/__sim__/reset-limits")
    for path in ("/api/v5/trade/order", "/api/v5/trade/cancel-order", "/api/v5/trade/amend-order"):
        response = post(sim, path, json.dumps(fields).encode())
        assert response.status_code in (200, 400), response.text
        body = response.json()
        assert isinstance(body["code"], str) and isinstance(body["msg"], str)
        for item in body["data"]:
            assert isinstance(item["sCode"], str)
