from __future__ import annotations

from decimal import Decimal as D

import pytest

from okxbot.okx.errors import OkxBadRequest, OkxInsufficientFunds, OkxInvalidOrder
from okxbot.okx.validate import InstrumentRules, check_order, parse_decimal, round_down

BTC = InstrumentRules.from_market(
    {
        "symbol": "BTC/USDT",
        "id": "BTC-USDT",
        "base": "BTC",
        "quote": "USDT",
        "info": {
            "tickSz": "0.1",
            "lotSz": "0.00000001",
            "minSz": "0.00001",
            "maxLmtSz": "9999999999",
            "state": "live",
        },
    }
)


def test_rules_come_from_okx_strings_exactly() -> None:
    assert BTC.tick_size == D("0.1") and BTC.lot_size == D("0.00000001") and BTC.min_size == D("0.00001")


def test_an_order_passes_with_exactly_the_balance_it_needs_and_not_one_lot_more() -> None:
    # 0.001 BTC at 50000 costs exactly 50 USDT
    assert check_order(BTC, "buy", D("0.001"), D("50000"), available={"USDT": D("50")}) is None
    with pytest.raises(OkxInsufficientFunds, match=r"needs 50\.0005 USDT"):
        check_order(BTC, "buy", D("0.00100001"), D("50000"), available={"USDT": D("50")})
    assert check_order(BTC, "sell", D("0.001"), D("50000.1"), available={"BTC": D("0.001")}) is None
    with pytest.raises(OkxInsufficientFunds, match=r"needs 0\.00100001 BTC"):
        check_order(BTC, "sell", D("0.00100001"), D("50000.1"), available={"BTC": D("0.001")})


def test_the_smallest_valid_order_passes_every_rule() -> None:
    # the minimum size, a whole number of lots, a price on the tick: nothing to refuse
    assert check_order(BTC, "buy", D("0.00001"), D("0.1"), available={"USDT": D("0.000001")}) is None
    with pytest.raises(OkxInvalidOrder, match="minimum order size"):
        check_order(BTC, "buy", D("0.00000999"), D("0.1"))


@pytest.mark.parametrize(
    ("amount", "price", "code", "words"),
    [
        (D("-1"), D("50000"), "51000", "greater than 0"),
        (D("0"), D("50000"), "51000", "greater than 0"),
        (D("0.000000001"), D("50000"), "51121", "lot size 0.00000001"),
        (D("0.000001"), D("50000"), "51020", "minimum order size 0.00001 BTC"),
        (D("0.001"), D("50000.05"), "51000", "tick size 0.1"),
        (D("0.001"), D("-5"), "51000", "price -5"),
    ],
)
def test_each_rule_is_named(amount: D, price: D, code: str, words: str) -> None:
    with pytest.raises(OkxInvalidOrder) as info:
        check_order(BTC, "buy", amount, price)
    err = info.value
    assert err.code == code and err.local
    assert words in err.message


def test_hints_give_a_corrected_value() -> None:
    with pytest.raises(OkxInvalidOrder) as info:
        check_order(BTC, "buy", D("0.001"), D("50000.04"))
    assert "e.g. 50000.0" in info.value.hint
    assert round_down(D("0.123456789"), D("0.00000001")) == D("0.12345678")


def test_insufficient_funds_says_how_much_is_available() -> None:
    with pytest.raises(OkxInsufficientFunds) as info:
        check_order(BTC, "buy", D("0.001"), D("50000"), available={"USDT": D("49.99")})
    err = info.value
    assert err.code == "51008" and err.local
    assert "needs 50 USDT" in err.message and "49.99 USDT" in err.hint
    with pytest.raises(OkxInsufficientFunds, match=r"0\.0005"):
        check_order(BTC, "sell", D("0.001"), None, available={"BTC": D("0.0005")})


def test_market_buy_funds_check_uses_the_reference_price() -> None:
    # no price known: the funds check is left to OKX
    assert check_order(BTC, "buy", D("0.001"), None, available={"USDT": D("10")}) is None
    with pytest.raises(OkxInsufficientFunds, match="needs 50 USDT, only 10 USDT"):
        check_order(BTC, "buy", D("0.001"), None, available={"USDT": D("10")}, reference_price=D("50000"))
    assert (
        check_order(BTC, "buy", D("0.001"), None, available={"USDT": D("10")}, reference_price=D("10000"))
        is None
    )


def test_parse_decimal_refuses_floats_and_garbage() -> None:
    assert parse_decimal("0.001", "amount") == D("0.001")
    with pytest.raises(OkxBadRequest, match="float"):
        parse_decimal(0.1, "amount")
    with pytest.raises(OkxBadRequest, match="not a number"):
        parse_decimal("abc", "price")
    with pytest.raises(OkxBadRequest, match="not finite"):
        parse_decimal("NaN", "price")


def test_suspended_instrument_is_refused() -> None:
    halted = InstrumentRules("X/USDT", "X-USDT", "X", "USDT", D("1"), D("1"), D("1"), state="suspend")
    with pytest.raises(OkxInvalidOrder, match="not trading"):
        check_order(halted, "buy", D("1"), D("1"))
