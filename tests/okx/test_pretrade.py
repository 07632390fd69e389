"""The swap pre-trade rules on their own (the simulator tests show that nothing is sent)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from okxbot.okx import pretrade
from okxbot.okx.errors import OkxInvalidOrder, OkxSettingsRefused
from okxbot.okx.swap_models import AccountSettings, Tier
from tests.okx.test_contracts import LINEAR

D = Decimal
TIERS = (
    Tier(1, D(0), D(3000), D("0.004"), D("0.008"), D(125)),
    Tier(2, D(3000), D(6000), D("0.005"), D("0.01"), D(100)),
    Tier(3, D(6000), D(12000), D("0.01"), D("0.02"), D(50)),
)
NET = AccountSettings("2", "net_mode")
HEDGED = AccountSettings("2", "long_short_mode")


def test_a_leverage_change_is_checked_against_the_tier_of_the_position_held() -> None:
    pretrade.leverage_for_size(LINEAR, TIERS, D(100), D(6000), setting=True)  # tier 2 allows 100x
    with pytest.raises(OkxSettingsRefused) as err:
        pretrade.leverage_for_size(LINEAR, TIERS, D(101), D(6000), setting=True)
    assert err.value.code == "59102" and err.value.local and "tier 2" in err.value.message
    assert "at most 100x" in err.value.hint and "3000 contracts (tier 1)" in err.value.hint
    with pytest.raises(OkxInvalidOrder) as err:  # an order reaching tier 3 at 100x
        pretrade.leverage_for_size(LINEAR, TIERS, D(100), D("6000.01"), setting=False)
    assert err.value.code == "51004" and "tier 3" in err.value.message


def test_reduce_only_in_both_position_modes() -> None:
    assert pretrade.reduce_only(NET, "sell", "", D(1), D(2), "X") is True  # net: reduceOnly sent
    assert pretrade.reduce_only(HEDGED, "sell", "long", D(1), D(2), "X") is False  # closing side reduces
    with pytest.raises(OkxInvalidOrder, match="would open or add"):
        pretrade.reduce_only(HEDGED, "buy", "long", D(1), D(2), "X")
    with pytest.raises(OkxInvalidOrder) as err:
        pretrade.reduce_only(NET, "buy", "", D(1), D(-2), "X")  # buying reduces a short: fine
        pretrade.reduce_only(NET, "sell", "", D(1), D(-2), "X")
    assert err.value.code == "51170"


def test_liquidation_distance() -> None:
    pretrade.liquidation_distance("X", D(100), D(94), D("0.05"), "long")
    pretrade.liquidation_distance("X", D(100), None, D("0.05"), "long")  # no liquidation price
    with pytest.raises(OkxInvalidOrder, match=r"about 96 \(mark 100\), only 4 % away"):
        pretrade.liquidation_distance("X", D(100), D(96), D("0.05"), "long")
    with pytest.raises(OkxInvalidOrder):  # a short's liquidation below the mark: already past it
        pretrade.liquidation_distance("X", D(100), D(90), D("0.05"), "short")


def test_position_side_and_account_mode() -> None:
    assert pretrade.position_side(NET, None, "buy") == "" and pretrade.position_side(NET, "net", "buy") == ""
    assert pretrade.position_side(HEDGED, "short", "sell") == "short"
    for settings, side in ((NET, "long"), (HEDGED, None), (HEDGED, "net")):
        with pytest.raises(OkxInvalidOrder) as err:
            pretrade.position_side(settings, side, "buy")
        assert err.value.code == "51000" and err.value.local
    with pytest.raises(OkxInvalidOrder, match="isolated margin is not available"):
        pretrade.account_mode(AccountSettings("3", "net_mode"), "isolated", "X")
    pretrade.account_mode(AccountSettings("3", "net_mode"), "cross", "X")
