"""Protection that lives on the exchange: a leveraged long opened through unmodified ccxt with an attached
stop, the client gone, the price moved through the stop by the admin API, and the position closed by the
simulator at the stop as a market order would, with its bills and position history to the last digit."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import ccxt
import pytest

from okxbot.sim.server import RunningSim, start_sim
from tests.sim.algo_http import Rest, algo_events, futures_key

SYMBOL, SWAP = "BTC/USDT:USDT", "BTC-USDT-SWAP"
CT_VAL, TAKER = Decimal("0.01"), Decimal("0.0005")  # BTC-USDT-SWAP; money is kept to 1e-16
pytestmark = pytest.mark.timeout(120)


@pytest.fixture(scope="module")
def sim() -> Iterator[RunningSim]:
    with start_sim(seed=23) as running:
        yield running


def test_the_exchange_closes_a_leveraged_long_at_its_stop_with_no_client(sim: RunningSim) -> None:
    key = futures_key(sim, usdt="10000")
    okx = ccxt.okx({"apiKey": key["apiKey"], "secret": key["secretKey"], "password": key["passphrase"]})
    okx.urls["api"]["rest"] = sim.rest
    okx.load_markets()
    okx.set_leverage(10, SYMBOL, {"marginMode": "cross"})
    last = Decimal(str(okx.fetch_ticker(SYMBOL)["last"]))
    stop = (last * Decimal("0.99")).quantize(Decimal("0.1"))
    entry = okx.create_order(SYMBOL, "market", "buy", 20, None, {"stopLoss": {"triggerPrice": float(stop)}})
    opened = okx.fetch_positions([SYMBOL])[0]
    assert (opened["contracts"], opened["leverage"], opened["side"]) == (20, 10, "long")
    del okx  # the bot is gone: no client, no connection
    assert sum(sim.admin("GET", "/__sim__/ws-stats")["connections"].values()) == 0

    rest = Rest(sim, key)  # only to read the outcome afterwards
    (protect,) = rest.get("trade/orders-algo-pending", ordType="conditional,oco")["data"]
    assert (Decimal(protect["slTriggerPx"]), protect["sz"], protect["reduceOnly"]) == (stop, "20", "true")
    with algo_events(sim) as wait:
        sim.admin("POST", "/__sim__/price", {"instId": "BTC-USDT", "movePct": "-3"})
        fired = wait(lambda e: e.data["algoId"] == protect["algoId"] and e.data["state"] != "live", 30).data
    assert (fired["state"], fired["actualSide"], fired["actualSz"]) == ("effective", "sl", "20")

    close = rest.get("trade/order", instId=SWAP, ordId=fired["ordId"])["data"][0]
    assert (close["state"], close["ordType"], close["reduceOnly"], close["algoId"]) == (
        "filled",
        "market",
        "true",
        protect["algoId"],
    )
    assert Decimal(close["avgPx"]) <= stop  # filled at or after the stop, like a market order
    assert all(p["pos"] == "0" for p in rest.get("account/positions", instId=SWAP)["data"])

    opening = rest.get("trade/order", instId=SWAP, ordId=entry["id"])["data"][0]
    (row,) = rest.get("account/positions-history", instId=SWAP)["data"]
    entry_fills = rest.get("trade/fills", instId=SWAP, ordId=entry["id"])["data"]
    vwap = sum(Decimal(f["fillPx"]) * Decimal(f["fillSz"]) for f in entry_fills) / 20
    entry_px, exit_px = Decimal(row["openAvgPx"]), Decimal(close["avgPx"])
    assert abs(entry_px - vwap) < Decimal("1e-18")  # the position's entry is its fills' average
    fills = rest.get("trade/fills", instId=SWAP, ordId=fired["ordId"])["data"]
    bills = {b["billId"]: b for b in rest.get("account/bills", instType="SWAP")["data"]}
    pnl_total = fee_total = Decimal(0)
    for fill in fills:
        bill = bills[fill["billId"]]
        qty, px = Decimal(fill["fillSz"]), Decimal(fill["fillPx"])
        expected_pnl = ((px - entry_px) * qty * CT_VAL).quantize(Decimal("1e-16"))
        expected_fee = -(px * qty * CT_VAL * TAKER).quantize(Decimal("1e-16"))
        assert (bill["type"], bill["subType"], bill["ordId"]) == (
            "2",
            "2",
            fired["ordId"],
        )  # trade, sell (net)
        assert (Decimal(bill["pnl"]), Decimal(bill["fee"])) == (expected_pnl, expected_fee)
        assert Decimal(bill["balChg"]) == expected_pnl + expected_fee
        pnl_total += expected_pnl
        fee_total += expected_fee
    assert sum(Decimal(f["fillSz"]) for f in fills) == 20

    assert (row["type"], row["direction"], row["closeTotalPos"], row["openMaxPos"]) == (
        "2",
        "long",
        "20",
        "20",
    )
    assert abs(Decimal(row["closeAvgPx"]) - exit_px) < Decimal("0.001")  # the order's avgPx is rounded
    assert Decimal(row["pnl"]) == pnl_total
    entry_fee = Decimal(opening["fee"])
    assert Decimal(row["fee"]) == entry_fee + fee_total
    assert Decimal(row["realizedPnl"]) == pnl_total + entry_fee + fee_total + Decimal(row["fundingFee"])
