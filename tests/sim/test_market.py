"""The synthetic market: reproducible, deep on BTC-USDT, and a place where resting orders fill."""

from __future__ import annotations

from decimal import Decimal

from okxbot.sim.clock import Clock
from okxbot.sim.engine import Exchange
from okxbot.sim.market import SyntheticMarket
from tests.sim.pinned_prices import btc_at_43000

T0 = 1_700_000_000_000
BTC = "BTC-USDT"


def run(seed: int, steps: int, history: int = 0) -> tuple[Exchange, SyntheticMarket]:
    ex = Exchange(Clock(frozen_ms=T0), btc_at_43000(), seed=seed)
    market = SyntheticMarket(ex, seed, history_minutes=history)
    for _ in range(steps):
        ex.clock.advance(100)
        market.step()
    return ex, market


def fingerprint(ex: Exchange) -> tuple[object, ...]:
    return tuple(
        (
            ex.books(i, 400)["bids"],
            ex.books(i, 400)["asks"],
            ex.trades(i, 500),
            ex.candles(i, "1m", limit=300),
        )
        for i in ex.instruments.ids()
    )


def test_same_seed_and_steps_give_the_same_market() -> None:
    a, _ = run(11, 150)
    b, _ = run(11, 150)
    c, _ = run(12, 150)
    assert fingerprint(a) == fingerprint(b)
    assert fingerprint(a) != fingerprint(c)
    assert len(a.trades(BTC, 500)) > 20  # taker flow actually trades


def test_btc_book_is_400_levels_deep_and_never_crossed() -> None:
    ex, _ = run(7, 200)
    for inst_id in ex.instruments.ids():
        book = ex.book(inst_id)
        bid, ask = book.best_px("bids"), book.best_px("asks")
        assert bid is not None and ask is not None and bid < ask, inst_id
        assert book.depth("bids") >= 50 and book.depth("asks") >= 50, inst_id
    snap = ex.books(BTC, 400)
    assert len(snap["bids"]) == 400 and len(snap["asks"]) == 400
    prices = [Decimal(px) for px, *_ in snap["bids"]]
    assert prices == sorted(prices, reverse=True)
    inst = ex.instrument(BTC)
    assert inst is not None and all(p % inst.tick_sz == 0 for p in prices)


def test_resting_user_orders_near_the_price_fill_over_time() -> None:
    ex, market = run(7, 0)
    uid = ex.create_account({"USDT": "100000", "BTC": "1"})
    book = ex.book(BTC)
    bid, ask = book.best_px("bids"), book.best_px("asks")
    assert bid is not None and ask is not None
    # A small grid: one order under the best bid, one over the best ask (~0.05% away).
    buy = ex.place_order(uid, {"instId": BTC, "tdMode": "cash", "side": "buy", "ordType": "limit",
                               "px": str(bid - 20), "sz": "0.01"})["ordId"]  # fmt: skip
    sell = ex.place_order(uid, {"instId": BTC, "tdMode": "cash", "side": "sell", "ordType": "limit",
                                "px": str(ask + 20), "sz": "0.01"})["ordId"]  # fmt: skip
    states: dict[str, str] = {}
    for _ in range(6000):
        ex.clock.advance(100)
        market.step()
        states = {oid: ex.get_order(uid, BTC, ord_id=oid)["state"] for oid in (buy, sell)}  # type: ignore[index]
        if set(states.values()) == {"filled"}:
            break
    assert states == {buy: "filled", sell: "filled"}
    fills = ex.fills(uid, {})
    assert fills and {f["execType"] for f in fills} == {"M"}  # they rested, so they were makers


def test_admin_jump_moves_the_book_and_takes_orders_in_the_way() -> None:
    ex, market = run(7, 10)
    uid = ex.create_account({"BTC": "1"})
    ask = ex.book(BTC).best_px("asks")
    assert ask is not None
    oid = ex.place_order(uid, {"instId": BTC, "tdMode": "cash", "side": "sell", "ordType": "limit",
                               "px": str(ask + 100), "sz": "0.01"})["ordId"]  # fmt: skip
    market.jump(BTC, "45000")
    assert ex.get_order(uid, BTC, ord_id=oid)["state"] == "filled"  # type: ignore[index]
    bid, new_ask = ex.book(BTC).best_px("bids"), ex.book(BTC).best_px("asks")
    assert bid is not None and new_ask is not None
    assert Decimal(44990) < bid < Decimal(45000) < new_ask < Decimal(45010)
    market.move_pct(BTC, "-10")
    assert abs(market.fair_price(BTC) - Decimal(40500)) < 1
    for _ in range(20):
        market.step()
    assert abs(Decimal(ex.ticker(BTC)["last"]) - Decimal(40500)) < 100


def test_history_backfill_gives_a_day_of_candles_at_start() -> None:
    ex, _ = run(7, 0, history=1440)
    rows = ex.candles(BTC, "1m", limit=300)
    assert len(rows) == 300
    assert int(rows[0][0]) == T0 - T0 % 60_000 - 60_000 and rows[0][8] == "1"
    assert [int(r[0]) for r in rows] == sorted((int(r[0]) for r in rows), reverse=True)
    for _ts, o, h, low, c, vol, *_ in rows:
        assert Decimal(low) <= min(Decimal(o), Decimal(c)) <= max(Decimal(o), Decimal(c)) <= Decimal(h)
        assert Decimal(vol) > 0
    assert rows[0][4] == "43000"  # history ends at the live price
    older = ex.candles(BTC, "1m", after=int(rows[-1][0]), limit=300)
    assert int(older[0][0]) == int(rows[-1][0]) - 60_000
    day = ex.ticker(BTC)
    assert Decimal(day["vol24h"]) > 0 and Decimal(day["low24h"]) < Decimal(day["high24h"])
    assert len(ex.candles(BTC, "1H", limit=100)) in (24, 25)


def test_history_backfill_leaves_recent_trades_that_agree_with_the_candle_and_ticker() -> None:
    ex, _ = run(7, 0, history=30)
    last_minute = ex.candles(BTC, "1m", limit=1)[0]
    for inst_id in ex.instruments.ids():
        trades = ex.trades(inst_id, 500)
        assert len(trades) >= 8, inst_id  # a client's first fetch_trades is never empty
        assert [int(t["tradeId"]) for t in trades] == sorted(
            (int(t["tradeId"]) for t in trades), reverse=True
        )
        assert [int(t["ts"]) for t in trades] == sorted((int(t["ts"]) for t in trades), reverse=True)
        assert (
            trades[0]["px"] == ex.ticker(inst_id)["last"] and trades[0]["sz"] == ex.ticker(inst_id)["lastSz"]
        )
    btc = ex.trades(BTC, 500)
    ts0, o, h, low, c, vol, *_ = last_minute
    assert all(int(ts0) <= int(t["ts"]) < int(ts0) + 60_000 for t in btc)
    assert (btc[-1]["px"], btc[0]["px"]) == (o, c)
    assert all(Decimal(low) <= Decimal(t["px"]) <= Decimal(h) for t in btc)
    assert sum(Decimal(t["sz"]) for t in btc) == Decimal(vol)
    # live trades continue the ids and the tape
    last_seeded = int(btc[0]["tradeId"])
    ex2, _ = run(7, 50, history=30)
    live = [t for t in ex2.trades(BTC, 500) if int(t["ts"]) >= T0]
    assert live and min(int(t["tradeId"]) for t in live) > last_seeded
