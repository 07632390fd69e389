"""Swap sizes: an amount in contracts, base or quote converts to contracts exactly, or is refused
(nothing rounded), with the nearest valid sizes named (ccxt #13397, #23624, #24590)."""

from __future__ import annotations

from decimal import Context, Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from okxbot.okx.contracts import ContractSpec, Size
from okxbot.okx.errors import OkxBadRequest, OkxInvalidOrder

D = Decimal


def spec(**override: object) -> ContractSpec:
    fields: dict[str, object] = {
        "symbol": "BTC/USDT:USDT", "inst_id": "BTC-USDT-SWAP", "inst_family": "BTC-USDT", "ct_type": "linear",
        "ct_val": D("0.01"), "ct_mult": D("1"), "ct_val_ccy": "BTC", "settle_ccy": "USDT", "base": "BTC",
        "quote": "USDT", "lot_size": D("0.01"), "min_size": D("0.01"), "tick_size": D("0.1"),
        "max_lever": D("125"), "max_limit_size": D("100000"), "max_market_size": D("5000"),
    }  # fmt: skip
    fields.update(override)
    return ContractSpec(**fields)  # type: ignore[arg-type]


LINEAR = spec()
INVERSE = spec(
    symbol="BTC/USD:BTC", inst_id="BTC-USD-SWAP", inst_family="BTC-USD", ct_type="inverse", ct_val=D("100"),
    ct_val_ccy="USD", settle_ccy="BTC", quote="USD", lot_size=D("1"), min_size=D("1"),
)  # fmt: skip
ODD = spec(ct_val=D("0.001"), ct_mult=D("3"), lot_size=D("0.1"), min_size=D("0.2"))  # ctMult != 1

lots = st.integers(min_value=1, max_value=10_000_000)
prices = st.decimals(min_value=D("0.1"), max_value=D("200000"), places=1)


@pytest.mark.parametrize(
    ("contract", "size", "price", "contracts"),
    [
        (LINEAR, Size(D("0.05"), "base"), None, D("5")),  # 0.05 BTC / 0.01 BTC a contract
        (LINEAR, Size(D("600"), "quote"), D("60000"), D("1")),  # 600 USDT at 60000 = 0.01 BTC
        (LINEAR, Size(D("7.5"), "contracts"), None, D("7.5")),
        (INVERSE, Size(D("300"), "quote"), None, D("3")),  # 300 USD / 100 USD a contract
        (INVERSE, Size(D("0.01"), "base"), D("60000"), D("6")),  # 0.01 BTC at 60000 = 600 USD
        (ODD, Size(D("0.0006"), "base"), None, D("0.2")),  # contract = 0.001 x 3 = 0.003 BTC
    ],
)
def test_amounts_convert_to_exact_contracts(
    contract: ContractSpec, size: Size, price: Decimal | None, contracts: Decimal
) -> None:
    assert contract.contracts(size, price) == contracts


def test_a_non_lot_amount_is_refused_with_the_nearest_valid_sizes_not_rounded() -> None:
    with pytest.raises(OkxInvalidOrder) as err:
        LINEAR.contracts(Size(D("100"), "quote"), D("60000"))  # 0.1666... contracts
    assert err.value.code == "51121" and err.value.local
    assert "0.16 contracts (= 96 USDT) or 0.17 contracts (= 102 USDT)" in err.value.hint
    assert "Nothing was rounded" in err.value.hint
    with pytest.raises(OkxInvalidOrder) as err:
        LINEAR.contracts(Size(D("0.12345"), "base"))  # 12.345 contracts; a lot is 0.01 contract
    assert "12.34 contracts (= 0.1234 BTC) or 12.35 contracts (= 0.1235 BTC)" in err.value.hint
    with pytest.raises(OkxInvalidOrder) as err:
        INVERSE.contracts(Size(D("150"), "quote"))  # 1.5 contracts of 100 USD, lot 1
    assert "1 contracts (= 100 USD) or 2 contracts (= 200 USD)" in err.value.hint


def test_below_the_minimum_and_above_the_market_cap_are_refused() -> None:
    with pytest.raises(OkxInvalidOrder) as err:
        ODD.contracts(Size(D("0.1"), "contracts"))
    assert err.value.code == "51020" and "0.2 contracts" in err.value.hint
    with pytest.raises(OkxInvalidOrder) as err:
        LINEAR.contracts(Size(D("5000.01"), "contracts"), market=True)
    assert "largest market order" in err.value.message
    assert LINEAR.contracts(Size(D("5000.01"), "contracts")) == D("5000.01")  # a limit order may


def test_price_dependent_units_need_a_price_and_bad_units_are_refused() -> None:
    with pytest.raises(OkxBadRequest, match="needs a price"):
        LINEAR.contracts(Size(D("100"), "quote"))
    with pytest.raises(OkxBadRequest, match="needs a price"):
        INVERSE.contracts(Size(D("0.01"), "base"))
    with pytest.raises(OkxBadRequest, match="unit"):
        Size(D("1"), "coins")  # type: ignore[arg-type]
    with pytest.raises(OkxInvalidOrder, match="greater than 0"):
        LINEAR.contracts(Size(D("0"), "base"))


@settings(max_examples=300, deadline=None)
@given(n=lots, price=prices, contract=st.sampled_from([LINEAR, INVERSE, ODD]))
def test_every_valid_size_round_trips_exactly(n: int, price: Decimal, contract: ContractSpec) -> None:
    contracts = contract.lot_size * n
    if contracts < contract.min_size:
        return
    for unit in ("contracts", "base", "quote"):
        amount = contract.amount(contracts, unit, price)  # type: ignore[arg-type]
        exact = Context(prec=100).multiply(amount, price)
        if contract.inverse and unit == "base" and exact != contract.amount(contracts, "quote"):
            continue  # a coin value that does not terminate was rounded for display: never sent
        try:
            back = contract.contracts(Size(amount, unit), price)  # type: ignore[arg-type]
        except OkxInvalidOrder as err:  # only the caps may refuse a valid lot count
            assert "largest" in err.message
            continue
        assert back == contracts, (unit, amount)


@settings(max_examples=400, deadline=None)
@given(
    amount=st.decimals(min_value=D("0.000001"), max_value=D("100000"), places=6),
    price=prices,
    unit=st.sampled_from(["contracts", "base", "quote"]),
    contract=st.sampled_from([LINEAR, INVERSE, ODD]),
)
def test_any_amount_converts_exactly_or_is_refused(
    amount: Decimal, price: Decimal, unit: str, contract: ContractSpec
) -> None:
    try:
        contracts = contract.contracts(Size(amount, unit), price)  # type: ignore[arg-type]
    except OkxInvalidOrder as err:
        assert err.local and err.code in ("51121", "51020", "51000")
        if err.code == "51121":
            assert "nearest valid sizes" in err.hint
        return
    # accepted: a whole number of lots at or above the minimum, worth exactly the amount asked
    assert contracts % contract.lot_size == 0 and contracts >= contract.min_size
    assert contract.amount(contracts, unit, price) == amount  # type: ignore[arg-type]
