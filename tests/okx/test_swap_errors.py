"""The swap errors users hit most, said in plain words: posSide against the position mode (51000), the
account mode (51010) and the 59000 family of refused settings changes."""

from __future__ import annotations

import ccxt.async_support as ccxt_async
import pytest

from okxbot.okx.errors import (
    PARAM_HINTS,
    OkxInvalidOrder,
    OkxPermissionError,
    OkxSettingsRefused,
    explain,
    from_code,
)


def test_a_posside_error_says_what_the_position_mode_wants() -> None:
    err = from_code("51000", "Parameter posSide error ")
    assert isinstance(err, OkxInvalidOrder) and err.hint == PARAM_HINTS["posSide"]
    assert "net mode" in err.hint and "long/short mode" in err.hint
    err = from_code("51000", "Parameter tdMode error")
    assert "Futures mode" in err.hint
    assert "parameter is wrong: sz" in from_code("51000", "Parameter sz error").hint  # others stay generic


def test_account_mode_is_explained() -> None:
    err = from_code("51010", "You can't complete this request under your current account mode.")
    assert isinstance(err, OkxPermissionError)
    assert "Futures mode (acctLv 2)" in err.hint and "Spot mode" in err.hint


@pytest.mark.parametrize("code", ["59000", "59002", "59101", "59102", "59107", "59112"])
def test_refused_settings_are_their_own_family_and_never_retried(code: str) -> None:
    err = from_code(code, "Setting failed.")
    assert isinstance(err, OkxSettingsRefused) and err.family == "settings_refused"
    assert not err.outcome_unknown


def test_a_top_level_59000_from_ccxt_is_explained() -> None:
    """set-leverage answers 59000 at the top level with data [] (freqtrade#8755)."""
    body = '{"code":"59000","data":[],"msg":"Setting failed. Cancel any open orders, close positions, and stop trading bots first."}'
    exc = ccxt_async.ExchangeError("okx " + body)
    err = explain(exc)
    assert isinstance(err, OkxSettingsRefused) and err.code == "59000"
    assert "cancel the orders" in err.hint and "close the positions" in err.hint


@pytest.mark.parametrize(
    ("code", "words"),
    [
        ("51023", "no such position"),
        ("51115", "cancel them first"),
        ("59300", "no isolated position"),
        ("59301", "too large"),
    ],
)
def test_close_position_and_margin_refusals_are_explained(code: str, words: str) -> None:
    """trade/close-position (51023, 51115) and account/position/margin-balance (59300, 59301)."""
    body = f'{{"code":"{code}","data":[],"msg":"Operation failed."}}'
    err = explain(ccxt_async.ExchangeError("okx " + body))
    assert isinstance(err, OkxInvalidOrder) and err.code == code
    assert words in err.hint and not err.outcome_unknown
