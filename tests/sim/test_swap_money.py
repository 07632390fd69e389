"""Swap money to the last digit: fees and pnl of fills, funding payments, liquidations, margin fields.

Every expected value is written from OKX's formulas here, independently of the simulator's code:
value(linear) = contracts x ctVal x price (USDT); value(inverse) = contracts x ctVal / price (coin);
fee = value at the fill price x rate (maker 0.02 %, taker 0.05 %); funding = value at mark x rate,
paid by longs when the rate is positive; money rounded to 16 decimal places, half-even.
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal

import pytest

from okxbot.sim.engine import Exchange
from okxbot.sim.events import Event, LiquidationEvent, OrderEvent, PositionEvent
from tests.sim.swap_helpers import (
    BTC,
    INV,
    T0,
    D,
    cash,
    detail,
    futures_account,
    pinned_exchange,
    place,
    position,
    set_index,
    swap_order,
    trade,
)

TAKER, MAKER = D("0.0005"), D("0.0002")
HOUR = 3_600_000


def q16(x: Decimal) -> Decimal:
    return x.quantize(D("1E-16"), rounding=ROUND_HALF_EVEN)


def w(x: Decimal | int) -> str:
    """OKX's spelling of a number: no exponent, no trailing zeros."""
    text = format(D(x).normalize(), "f")
    return text if text != "-0" else "0"


@pytest.fixture
def ex() -> Exchange:
    return pinned_exchange("60000")


def test_a_linear_round_trip_pays_fees_and_realises_pnl_exactly(ex: Exchange) -> None:
    maker, uid = futures_account(ex, USDT="1000000"), futures_account(ex, USDT="100000")
    open_id = trade(ex, maker, uid, BTC, "buy", "2", "60000")
    set_index(ex, "60300")
    close_id = trade(ex, maker, uid, BTC, "sell", "2", "60300")
    open_fee = -(2 * D("0.01") * 60000 * TAKER)  # -0.6
    close_fee = -(2 * D("0.01") * 60300 * TAKER)  # -0.603
    pnl = (60300 - 60000) * 2 * D("0.01")  # 6
    assert cash(ex, uid) == 100000 + pnl + open_fee + close_fee
    assert (
        cash(ex, maker) == 1000000 - (2 * D("0.01") * 60000 * MAKER) - (2 * D("0.01") * 60300 * MAKER) - pnl
    )
    opened, closed = ex.get_order(uid, BTC, ord_id=open_id), ex.get_order(uid, BTC, ord_id=close_id)
    assert (opened["fee"], opened["feeCcy"], opened["pnl"], opened["lever"]) == (
        w(open_fee),
        "USDT",
        "0",
        "10",
    )
    assert (closed["fee"], closed["pnl"], closed["instType"], closed["avgPx"]) == (
        w(close_fee),
        "6",
        "SWAP",
        "60300",
    )
    fills = ex.fills(uid, {"instType": "SWAP"})
    assert [(f["fillSz"], f["fillPnl"], f["fee"], f["subType"]) for f in fills] == [
        ("2", "6", w(close_fee), "2"), ("2", "0", w(open_fee), "1"),
    ]  # fmt: skip
    bills = ex.bills(uid, {"instType": "SWAP"})
    assert [(b["type"], b["balChg"], b["pnl"], b["fee"], b["sz"], b["px"]) for b in bills] == [
        ("2", w(pnl + close_fee), "6", w(close_fee), "2", "60300"),
        ("2", w(open_fee), "0", w(open_fee), "2", "60000"),
    ]  # fmt: skip
    row = ex.positions_history(uid)[0]
    assert (row["type"], row["pnl"], row["fee"], row["realizedPnl"], row["openAvgPx"], row["closeAvgPx"]) == (
        "2", "6", w(open_fee + close_fee), w(pnl + open_fee + close_fee), "60000", "60300",
    )  # fmt: skip
    # The closed position still answers by instId (pos "0") with the cycle's counters.
    assert (position(ex, uid)["pos"], position(ex, uid)["realizedPnl"]) == ("0", row["realizedPnl"])


def test_an_inverse_short_realises_its_profit_in_the_coin(ex: Exchange) -> None:
    maker = futures_account(ex, BTC="100")
    uid = futures_account(ex, BTC="1")
    trade(ex, maker, uid, INV, "sell", "100", "60000")
    set_index(ex, "50000")
    trade(ex, maker, uid, INV, "buy", "100", "50000")
    face = 100 * D(100)  # USD
    pnl = q16(face * (1 / D(60000) - 1 / D(50000)) * -1)  # a short gains when the price falls
    fees = -q16(face / 60000 * TAKER) - q16(face / 50000 * TAKER)
    assert pnl == D("0.0333333333333333")
    assert cash(ex, uid, "BTC") == 1 + pnl + fees
    assert ex.bills(uid, {"instType": "SWAP", "ccy": "BTC"})[0]["pnl"] == w(pnl)


def test_an_inverse_average_entry_is_harmonic(ex: Exchange) -> None:
    maker, uid = futures_account(ex, BTC="100"), futures_account(ex, BTC="10")
    trade(ex, maker, uid, INV, "buy", "100", "60000")
    set_index(ex, "59000")
    trade(ex, maker, uid, INV, "buy", "300", "59000")
    expected = D(400) / (D(100) / 60000 + D(300) / 59000)
    assert D(position(ex, uid, INV)["avgPx"]) == expected


def test_a_net_position_flips_and_the_history_keeps_each_cycle(ex: Exchange) -> None:
    maker, uid = futures_account(ex, USDT="1000000"), futures_account(ex)
    trade(ex, maker, uid, BTC, "buy", "1", "60000")
    trade(ex, maker, uid, BTC, "sell", "3", "60100")
    pos = position(ex, uid)
    assert (pos["pos"], pos["avgPx"], pos["pnl"]) == ("-2", "60100", "0")
    row = ex.positions_history(uid)[0]
    assert (row["type"], row["direction"], row["pnl"], row["closeTotalPos"]) == ("2", "long", "1", "1")


def test_isolated_margin_follows_opening_and_partial_closes(ex: Exchange) -> None:
    maker, uid = futures_account(ex, USDT="1000000"), futures_account(ex)
    trade(ex, maker, uid, BTC, "buy", "4", "60000", tdMode="isolated")
    assert position(ex, uid, mgn_mode="isolated")["margin"] == "240"  # 4 x 0.01 x 60000 / 10
    trade(ex, maker, uid, BTC, "sell", "1", "60000", tdMode="isolated")
    assert position(ex, uid, mgn_mode="isolated")["margin"] == "180"
    bill = ex.bills(uid, {"instType": "SWAP"})[0]
    assert (bill["posBal"], bill["posBalChg"], bill["mgnMode"]) == ("180", "-60", "isolated")
    row = ex.positions_history(uid)[0]
    assert (row["type"], row["mgnMode"]) == ("1", "isolated")


def test_futures_mode_balance_reports_margin_fields(ex: Exchange) -> None:
    maker, uid = futures_account(ex, USDT="1000000"), futures_account(ex, USDT="10000")
    trade(ex, maker, uid, BTC, "buy", "5", "60000")  # cross
    trade(ex, maker, uid, BTC, "sell", "2", "60000", tdMode="isolated")
    place(ex, uid, swap_order(BTC, "buy", "1", "59000"))  # holds 59 of margin
    set_index(ex, "60500")
    fees = 5 * D("0.01") * 60000 * TAKER + 2 * D("0.01") * 60000 * TAKER
    cash_bal = 10000 - fees
    cross_upl = (60500 - 60000) * 5 * D("0.01")  # 25
    iso_upl = (60000 - 60500) * 2 * D("0.01")  # -10
    iso_margin = 2 * D("0.01") * 60000 / 10  # 120
    cross_imr = 5 * D("0.01") * 60500 / 10  # 302.5 (at mark)
    cross_mmr = 5 * D("0.01") * 60500 * D("0.004")
    liq_fee = 5 * D("0.01") * 60500 * TAKER
    d = detail(ex, uid)
    assert D(d["cashBal"]) == cash_bal
    assert D(d["eq"]) == cash_bal + cross_upl + iso_upl
    assert D(d["isoEq"]) == iso_margin + iso_upl
    assert (D(d["upl"]), D(d["isoUpl"]), D(d["imr"]), D(d["mmr"]), D(d["ordFrozen"])) == (
        cross_upl + iso_upl, iso_upl, cross_imr, cross_mmr, D(59),
    )  # fmt: skip
    assert D(d["availEq"]) == cash_bal - iso_margin + cross_upl - cross_imr - 59
    assert D(d["frozenBal"]) == 59 + iso_margin + cross_imr
    assert D(d["mgnRatio"]) == q16((cash_bal - iso_margin + cross_upl) / (cross_mmr + liq_fee))
    top = ex.balances(uid)
    assert (top["totalEq"], top["adjEq"], top["availEq"]) == (d["eq"], "", "")
    cross = position(ex, uid)
    assert (cross["imr"], cross["margin"], cross["upl"], cross["markPx"], cross["notionalUsd"]) == (
        "302.5", "", "25", "60500", "3025",
    )  # fmt: skip
    iso = position(ex, uid, mgn_mode="isolated")
    assert D(iso["mgnRatio"]) == q16((iso_margin + iso_upl) / (2 * D("0.01") * 60500 * (D("0.004") + TAKER)))


def test_max_size_and_max_avail_size_follow_available_equity(ex: Exchange) -> None:
    uid = futures_account(ex, USDT="1000")
    rows = ex.max_size(uid, {"instId": BTC, "tdMode": "cross"})
    # buys priced at the price limit 61200, sells at 58800; 10x on 1000 USDT.
    per_buy, per_sell = D("0.01") * 61200, D("0.01") * 58800
    assert rows == [{"ccy": "USDT", "instId": BTC, "maxBuy": w((1000 * 10 / per_buy).quantize(D("0.01"), "ROUND_FLOOR")),
                     "maxSell": w((1000 * 10 / per_sell).quantize(D("0.01"), "ROUND_FLOOR"))}]  # fmt: skip
    assert ex.max_avail_size(uid, {"instId": BTC, "tdMode": "isolated"}) == [
        {"instId": BTC, "availBuy": "1000", "availSell": "1000"}
    ]


def test_funding_moves_money_from_longs_to_shorts_exactly(ex: Exchange) -> None:
    long_uid, short_uid = futures_account(ex, USDT="100000"), futures_account(ex, USDT="100000")
    trade(ex, short_uid, long_uid, BTC, "buy", "3", "60000")
    set_index(ex, "60123.4")
    ex.funding.pin(BTC, D("0.000123"))
    before_long, before_short = cash(ex, long_uid), cash(ex, short_uid)
    funding_time = ex.funding.state(BTC).funding_time
    events: list[Event] = []
    ex.add_listener(events.append)
    assert ex.settle_funding(BTC) == D("0.000123")
    amount = 3 * D("0.01") * D("60123.4") * D("0.000123")  # value at mark x rate
    assert cash(ex, long_uid) == before_long - q16(amount)
    assert cash(ex, short_uid) == before_short + q16(amount)
    bill = ex.bills(long_uid, {"type": "8"})[0]
    assert (bill["subType"], bill["px"], bill["sz"], bill["pnl"], bill["balChg"], bill["ordId"]) == (
        "173", "60123.4", "3", w(-q16(amount)), w(-q16(amount)), "",
    )  # fmt: skip
    assert ex.bills(short_uid, {"type": "8"})[0]["subType"] == "174"
    assert position(ex, long_uid)["fundingFee"] == w(-q16(amount))
    history = ex.funding_history(BTC, limit=1)[0]
    assert (history["fundingTime"], history["realizedRate"], history["fundingRate"]) == (
        str(funding_time), "0.000123", "0.000123",
    )  # fmt: skip
    assert ex.funding_rate(BTC)["fundingTime"] == str(funding_time + 8 * HOUR)
    funding_events = [e for e in events if isinstance(e, PositionEvent) and e.event_type == "funding_fee"]
    assert {e.uid for e in funding_events} == {long_uid, short_uid}


def test_inverse_funding_is_paid_in_the_coin(ex: Exchange) -> None:
    long_uid, short_uid = futures_account(ex, BTC="10"), futures_account(ex, BTC="10")
    trade(ex, short_uid, long_uid, INV, "buy", "7", "60000")
    set_index(ex, "61000")
    ex.funding.pin(INV, D("-0.0002"))  # negative: shorts pay longs
    ex.settle_funding(INV)
    amount = q16(7 * D(100) / D(61000) * D("0.0002"))
    assert ex.bills(long_uid, {"type": "8"})[0]["balChg"] == w(amount)
    assert ex.bills(short_uid, {"type": "8"})[0]["balChg"] == w(-amount)
    assert ex.bills(short_uid, {"type": "8"})[0]["ccy"] == "BTC"


def test_funding_settles_on_its_schedule_when_time_reaches_it(ex: Exchange) -> None:
    hours = {i.inst_id: i.funding_hours for i in ex.instruments.of_type("SWAP")}
    assert (hours[BTC], hours["DOGE-USDT-SWAP"], hours["ARB-USDT-SWAP"]) == (8, 4, 1)
    for inst_id, h in hours.items():
        wire = ex.funding_rate(inst_id)
        assert int(wire["fundingTime"]) == (T0 // (h * HOUR) + 1) * h * HOUR
        assert int(wire["nextFundingTime"]) - int(wire["fundingTime"]) == h * HOUR
    long_uid, short_uid = futures_account(ex), futures_account(ex)
    trade(ex, short_uid, long_uid, "ARB-USDT-SWAP", "buy", "100", "1.1")
    ex.funding.pin("ARB-USDT-SWAP", D("0.001"))
    due = int(ex.funding_rate("ARB-USDT-SWAP")["fundingTime"])
    ex.clock.advance(due - T0 - 1)
    ex.tick()
    assert ex.bills(long_uid, {"type": "8"}) == []
    ex.clock.advance(1)
    ex.tick()
    mark = ex.mark_price("ARB-USDT-SWAP")
    assert ex.bills(long_uid, {"type": "8"})[0]["balChg"] == w(-q16(100 * D(10) * mark * D("0.001")))
    assert ex.funding_history("ARB-USDT-SWAP", limit=1)[0]["fundingTime"] == str(due)


def test_the_funding_rate_is_the_clamped_average_premium(ex: Exchange) -> None:
    maker = futures_account(ex, USDT="10000000")
    # The swap's book mid sits 0.1 % then 0.3 % above the index: two minute samples.
    bid = place(ex, maker, swap_order(BTC, "buy", "1", "60000"))["ordId"]
    ask = place(ex, maker, swap_order(BTC, "sell", "1", "60120"))["ordId"]
    ex.tick()
    samples = [(D("60060") - 60000) / 60000]
    ex.cancel_order(maker, {"instId": BTC, "ordId": bid})
    ex.cancel_order(maker, {"instId": BTC, "ordId": ask})
    place(ex, maker, swap_order(BTC, "buy", "1", "60300"))
    place(ex, maker, swap_order(BTC, "sell", "1", "60420"))
    ex.clock.advance(60_000)
    ex.tick()
    samples.append((D("60360") - 60000) / 60000)
    expected = q16(sum(samples) / 2)
    assert ex.funding_rate(BTC)["fundingRate"] == w(expected)
    assert ex.funding_rate(BTC)["premium"] == w(q16(samples[-1]))
    # A premium far beyond the cap is clamped to +-0.375 % for BTC.
    for _ in range(10):
        ex.marks.samples[BTC].append(D("0.05"))
    assert ex.funding_rate(BTC)["fundingRate"] == "0.00375"
    assert ex.funding_rate(BTC)["maxFundingRate"] == "0.00375"


def test_an_isolated_position_is_liquidated_at_its_maintenance_level(ex: Exchange) -> None:
    maker, uid = futures_account(ex, USDT="10000000"), futures_account(ex, USDT="1000")
    trade(ex, maker, uid, BTC, "buy", "2", "60000", tdMode="isolated")
    place(ex, uid, swap_order(BTC, "sell", "1", "61000", tdMode="isolated"))
    margin = 2 * D("0.01") * 60000 / 10  # 120
    size = 2 * D("0.01")
    # Liquidation when margin + (M - 60000) x size <= M x size x (mmr 0.004 + taker fee 0.0005):
    liq_px = (60000 * size - margin) / (size * (1 - D("0.004") - TAKER))
    assert D(position(ex, uid, mgn_mode="isolated")["liqPx"]) == q16(liq_px)
    events: list[Event] = []
    ex.add_listener(events.append)
    cash_before = cash(ex, uid)
    set_index(ex, "54300")  # above 54244.09...
    ex.tick()
    assert position(ex, uid, mgn_mode="isolated")["pos"] == "2"
    set_index(ex, "54200")
    ex.tick()
    assert position(ex, uid, mgn_mode="isolated")["pos"] == "0"
    assert cash(ex, uid) == cash_before - margin  # the owner loses the margin, no more
    pnl_at_mark = (54200 - 60000) * size  # -116
    row = ex.positions_history(uid)[0]
    assert (row["type"], row["triggerPx"], row["pnl"], row["liqPenalty"]) == (
        "3", "54200", w(pnl_at_mark), w(-margin - pnl_at_mark),
    )  # fmt: skip
    bankruptcy = 60000 - margin / size  # 54000
    bill = ex.bills(uid, {"type": "5"})[0]
    assert (bill["subType"], bill["px"], bill["balChg"], bill["sz"]) == (
        "107",
        w(bankruptcy),
        w(-margin),
        "2",
    )
    orders = [e.order for e in events if isinstance(e, OrderEvent)]
    assert orders[0]["cancelSource"] == "3"  # the pending order went first
    liquidation = orders[-1]
    assert (liquidation["category"], liquidation["state"], liquidation["avgPx"]) == (
        "full_liquidation",
        "filled",
        "54000",
    )
    public = next(e for e in events if isinstance(e, LiquidationEvent))
    assert public.item["details"][0] | {"ts": ""} == {
        "side": "sell", "posSide": "net", "bkPx": "54000", "sz": "2", "bkLoss": "0", "ccy": "USDT", "ts": "",
    }  # fmt: skip


def test_cross_liquidation_takes_the_currency_cross_equity(ex: Exchange) -> None:
    maker, uid = futures_account(ex, USDT="10000000"), futures_account(ex, USDT="500")
    ex.set_leverage(uid, {"instId": BTC, "lever": "50", "mgnMode": "cross"})
    trade(ex, maker, uid, BTC, "buy", "3", "60000")
    fee = 3 * D("0.01") * 60000 * TAKER
    size = 3 * D("0.01")
    # cross equity = 500 - fee + (M - 60000) x size ; requirement = M x size x 0.0045
    liq_px = (60000 * size - (500 - fee)) / (size * (1 - D("0.004") - TAKER))
    assert D(position(ex, uid)["liqPx"]) == q16(liq_px)
    mark = D("43500")  # under the liquidation price (43559.35...), equity still positive
    set_index(ex, str(mark))
    ex.tick()
    equity = 500 - fee + (mark - 60000) * size
    assert equity > 0
    # All the cross equity is gone: a currency with nothing in it is not listed.
    assert ex.balances(uid)["details"] == []
    row = ex.positions_history(uid)[0]
    assert (row["type"], D(row["pnl"]), D(row["liqPenalty"])) == ("3", (mark - 60000) * size, -equity)


def test_without_the_fee_in_the_ratio_liquidation_comes_later(ex: Exchange) -> None:
    maker, uid = futures_account(ex, USDT="10000000"), futures_account(ex, USDT="1000")
    trade(ex, maker, uid, BTC, "buy", "2", "60000", tdMode="isolated")
    ex.rules.liquidation_fee_in_ratio = False
    size, margin = 2 * D("0.01"), D(120)
    liq_px = (60000 * size - margin) / (size * (1 - D("0.004")))  # maintenance margin alone
    assert D(position(ex, uid, mgn_mode="isolated")["liqPx"]) == q16(liq_px)
    set_index(ex, "54230")  # under 54244.09 (with the fee), above 54216.87 (without it)
    ex.tick()
    assert position(ex, uid, mgn_mode="isolated")["pos"] == "2"
