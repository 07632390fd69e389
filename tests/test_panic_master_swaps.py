"""`okxbot panic --master` on sub-accounts trading perpetual swaps: with each sub-account's own key,
before its keys are deleted, every algo order (attached TP/SL, trailing stop) is canceled as well as
every open order; swap positions are named as left open, or closed with --close-positions; the
report says it per sub-account."""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from okxbot.sim.server import RunningSim
from okxbot.vault.profiles import ProfileStore
from tests.okx.swapdesk import futures_key, still_sim
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
from tests.test_panic_swaps import trade_swaps

__all__ = ["home"]
pytestmark = pytest.mark.timeout(240)


@pytest.fixture
def sim() -> Iterator[RunningSim]:
    """One still simulator per test: the maker's resting quotes of one test would fill the next's."""
    with still_sim(seed=17) as running:
        yield running


def swap_bot(sim: RunningSim, name: str, master_uid: str) -> str:
    """A provisioned bot whose sub-account (Futures mode) holds two positions, two algo orders (an
    attached TP/SL and a trailing stop) and a resting swap order; returns the sub-account's uid."""
    provision(name, "--budget", "USDT=30000")
    uid = sub_uid(sim, master_uid, ProfileStore().get(name).sub_acct)
    sim.admin("POST", "/__sim__/account-level", {"uid": uid, "acctLv": "2"})
    maker = futures_key(sim, {"USDT": "100000000", "BTC": "1000"})
    assert len(trade_swaps(sim, stored_key(name), maker)["algos"]) == 2
    return uid


def live_algos(sim: RunningSim, uid: str) -> list[dict[str, Any]]:
    rows = sim.admin("GET", f"/__sim__/algos?uid={uid}")["algos"]
    return [a for a in rows if a["state"] in ("live", "partially_effective")]


def positions(sim: RunningSim, uid: str) -> list[dict[str, Any]]:
    rows = sim.admin("GET", f"/__sim__/positions?uid={uid}")["positions"]
    return [p for p in rows if Decimal(p["pos"]) != 0]


def test_panic_master_cancels_algo_orders_and_names_the_positions_left_open(
    sim: RunningSim, home: Path
) -> None:
    master = master_key(sim)
    add_profile(sim, "main", master)
    uid = swap_bot(sim, "swap-a", master["uid"])
    assert (
        len(live_algos(sim, uid)) == 2 and len(open_orders(sim, uid)) == 1 and len(positions(sim, uid)) == 2
    )

    result = okxbot("panic", "--master", "main", "--json")
    report = json.loads(result.stdout)
    assert result.exit_code == 0, result.output
    (entry,) = report["subAccounts"]
    assert (entry["algosCanceled"], entry["algosLeft"]) == (2, 0), entry
    assert (entry["ordersCanceled"], entry["ordersLeft"]) == (1, 0), entry
    assert len(entry["keysDeleted"]) == 1 and entry["notDone"] == [], entry
    assert sorted(p["symbol"] for p in entry["positionsLeft"]) == ["BTC/USDT:USDT", "ETH/USDT:USDT"]
    assert any("left 2 swap position(s) open" in line for line in entry["done"]), entry
    # on the exchange: no algo order and no order left to fire, the positions are still there
    assert live_algos(sim, uid) == [] and open_orders(sim, uid) == [] and len(positions(sim, uid)) == 2
    shown = okxbot("panic", "--master", "main")  # the keys are gone: said, not a crash
    assert "Traceback" not in shown.output and "already deleted by okxbot" in shown.output


def test_panic_master_close_positions_closes_each_sub_accounts_positions_before_deleting_its_key(
    sim: RunningSim, home: Path
) -> None:
    master = master_key(sim)
    add_profile(sim, "main", master)
    uid = swap_bot(sim, "swap-b", master["uid"])

    result = okxbot("panic", "--master", "main", "--close-positions", "--json")
    report = json.loads(result.stdout)
    assert result.exit_code == 0, result.output
    (entry,) = report["subAccounts"]
    assert entry["algosLeft"] == 0 and entry["ordersLeft"] == 0 and entry["positionsLeft"] == [], entry
    assert sorted(p["symbol"] for p in entry["positionsClosed"]) == ["BTC/USDT:USDT", "ETH/USDT:USDT"]
    assert len(entry["keysDeleted"]) == 1
    assert positions(sim, uid) == [] and live_algos(sim, uid) == [] and open_orders(sim, uid) == []
