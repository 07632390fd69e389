from __future__ import annotations

import json

import ccxt.async_support as ccxt_async
import pytest

from okxbot.okx.errors import (
    CODES,
    OkxAuthError,
    OkxClockError,
    OkxError,
    OkxInsufficientFunds,
    OkxInvalidOrder,
    OkxNetworkError,
    OkxOrderNotFound,
    OkxPermissionError,
    OkxRateLimited,
    OkxUnavailable,
    explain,
    from_code,
)


def test_table_names_the_class_ccxt_really_raises() -> None:
    """Our table may not drift from ccxt's: same class, or ExchangeError where ccxt has none."""
    exact = ccxt_async.okx().exceptions["exact"]
    for code, entry in CODES.items():
        expected = exact[code].__name__ if code in exact else "ExchangeError"
        assert entry.ccxt_class == expected, code


@pytest.mark.parametrize(
    ("code", "family", "words"),
    [
        ("50111", OkxAuthError, "API key"),
        ("50119", OkxAuthError, "my.okx.com"),
        ("50105", OkxAuthError, "passphrase"),
        ("50113", OkxAuthError, "secret key"),
        ("50101", OkxAuthError, "Demo/live"),
        ("50102", OkxClockError, "clock"),
        ("50110", OkxPermissionError, "whitelist"),
        ("50120", OkxPermissionError, "Trade"),
        ("51121", OkxInvalidOrder, "lot size"),
        ("51020", OkxInvalidOrder, "minimum"),
        ("51400", OkxOrderNotFound, "canceled"),
        ("50011", OkxRateLimited, "another program"),
        ("50061", OkxRateLimited, "1000 orders"),
        ("50001", OkxUnavailable, "maintenance"),
    ],
)
def test_every_family_has_its_plain_hint(code: str, family: type[OkxError], words: str) -> None:
    err = from_code(code, "msg from OKX")
    assert type(err) is family
    assert err.code == code and err.message == "msg from OKX"
    assert words in err.hint
    assert code in str(err) and words in str(err)
    assert err.as_dict()["error"] == family.family


def test_insufficient_funds_names_the_currency_and_what_is_available() -> None:
    err = from_code("51008", "Order failed. Insufficient USDT balance in account", available="12.5")
    assert isinstance(err, OkxInsufficientFunds)
    assert "Not enough USDT available (available: 12.5 USDT)" in err.hint


def test_unknown_code_and_5xx_are_still_explained() -> None:
    unknown = from_code("59999", "Something new")
    assert type(unknown) is OkxError and unknown.ccxt_class == "ExchangeError"
    http500 = from_code("", "Internal Server Error", http_status=500)
    assert isinstance(http500, OkxUnavailable) and http500.outcome_unknown


def _ccxt_error(klass: type[Exception], envelope: dict) -> Exception:
    return klass("okx " + json.dumps(envelope))


def test_explain_reads_the_per_order_scode_inside_a_ccxt_exception() -> None:
    envelope = {
        "code": "1",
        "msg": "All operations failed",
        "data": [
            {"clOrdId": "", "ordId": "", "sCode": "51008", "sMsg": "Order failed. Insufficient BTC balance"}
        ],
    }
    err = explain(_ccxt_error(ccxt_async.InsufficientFunds, envelope))
    assert isinstance(err, OkxInsufficientFunds)
    assert err.code == "51008" and err.ccxt_class == "InsufficientFunds"
    assert "BTC" in err.hint


def test_explain_top_level_codes_and_outcome_unknown() -> None:
    e50102 = explain(
        _ccxt_error(
            ccxt_async.InvalidNonce, {"code": "50102", "msg": "Timestamp request expired", "data": []}
        )
    )
    assert isinstance(e50102, OkxClockError) and e50102.ccxt_class == "InvalidNonce"
    e50013 = explain(
        _ccxt_error(ccxt_async.ExchangeNotAvailable, {"code": "50013", "msg": "Systems are busy", "data": []})
    )
    assert isinstance(e50013, OkxUnavailable) and e50013.outcome_unknown


def test_explain_network_failures_without_a_code() -> None:
    timeout = explain(ccxt_async.RequestTimeout("okx POST http://127.0.0.1/api/v5/trade/order"))
    assert isinstance(timeout, OkxNetworkError) and timeout.code is None and timeout.outcome_unknown
    assert timeout.ccxt_class == "RequestTimeout"
    down = explain(ccxt_async.ExchangeNotAvailable("okx GET http://127.0.0.1:1/api/v5/public/time"))
    assert isinstance(down, OkxUnavailable) and down.outcome_unknown
    assert isinstance(explain(TimeoutError()), OkxNetworkError)
    assert isinstance(explain(ConnectionRefusedError("refused")), OkxNetworkError)
    same = from_code("51400", "x")
    assert explain(same) is same
