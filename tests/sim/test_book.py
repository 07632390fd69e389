"""The order book on its own: FIFO within a level, best-first levels, sizes that add up, stable strings."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from okxbot.sim.book import OrderBook
from okxbot.sim.instruments import DEFAULT_INSTRUMENTS, Instrument, fmt


@dataclass
class Resting:
    ord_id: str
    side: str
    px: Decimal
    remaining: Decimal


def test_levels_are_best_first_and_sum_their_orders() -> None:
    book = OrderBook("BTC-USDT")
    for i, (side, px, sz) in enumerate(
        [
            ("buy", "100", "1"),
            ("buy", "101", "2"),
            ("buy", "100", "0.5"),
            ("sell", "103", "1"),
            ("sell", "102", "3"),
        ]
    ):
        book.add(Resting(str(i), side, Decimal(px), Decimal(sz)))
    assert book.levels("bids", 10) == [("101", "2", 1), ("100", "1.5", 2)]
    assert book.levels("asks", 10) == [("102", "3", 1), ("103", "1", 1)]
    assert book.levels("asks", 1) == [("102", "3", 1)]
    assert (book.best_px("bids"), book.best_px("asks")) == (Decimal(101), Decimal(102))


def test_orders_at_one_price_keep_arrival_order_and_partial_fills_shrink_the_level() -> None:
    book = OrderBook("BTC-USDT")
    orders = [Resting(str(i), "sell", Decimal("50"), Decimal("1")) for i in range(3)]
    for o in orders:
        book.add(o)
    level = book.best("asks")
    assert level is not None and [o.ord_id for o in level] == ["0", "1", "2"]
    book.reduce(orders[0], Decimal("0.4"))
    orders[0].remaining -= Decimal("0.4")
    assert book.levels("asks") == [("50", "2.6", 3)]
    book.remove(orders[1])
    assert [o.ord_id for o in book.best("asks")] == ["0", "2"]  # type: ignore[union-attr]
    book.remove(orders[0])
    book.remove(orders[2])
    assert book.levels("asks") == [] and book.best("asks") is None


def test_a_level_price_always_renders_the_same_string() -> None:
    # Prices arriving as "43000.10", "43000.1" and Decimal("4.30001E+4") are one level, one spelling.
    book = OrderBook("BTC-USDT")
    for i, px in enumerate(["43000.10", "43000.1", "4.30001E+4"]):
        book.add(Resting(str(i), "buy", Decimal(px), Decimal("0.00000010")))
    assert book.levels("bids") == [("43000.1", "0.0000003", 3)]


def test_wire_numbers_have_no_exponent_and_no_trailing_zeros() -> None:
    assert fmt(Decimal("1E-8")) == "0.00000001"
    assert fmt(Decimal("1.50000")) == "1.5"
    assert fmt(Decimal("4.3E+4")) == "43000"
    assert fmt(Decimal("-0.000")) == "0"


def test_instrument_list_has_okx_style_precision() -> None:
    assert len(DEFAULT_INSTRUMENTS) >= 10
    btc: Instrument = next(i for i in DEFAULT_INSTRUMENTS if i.inst_id == "BTC-USDT")
    wire = btc.to_wire()
    assert (wire["tickSz"], wire["lotSz"], wire["minSz"]) == ("0.1", "0.00000001", "0.00001")
    assert (wire["baseCcy"], wire["quoteCcy"], wire["instType"], wire["state"]) == (
        "BTC",
        "USDT",
        "SPOT",
        "live",
    )
    for inst in DEFAULT_INSTRUMENTS:
        assert inst.start_px % inst.tick_sz == 0 and inst.min_sz % inst.lot_sz == 0


side_st = st.sampled_from(["buy", "sell"])
px_st = st.integers(min_value=1, max_value=40).map(lambda n: Decimal(n) / 10)
sz_st = st.integers(min_value=1, max_value=10**6).map(lambda n: Decimal(n) / 10**4)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(side_st, px_st, sz_st, st.booleans()), min_size=1, max_size=60))
def test_level_totals_always_equal_the_resting_orders(ops: list[tuple[str, Decimal, Decimal, bool]]) -> None:
    book = OrderBook("X-Y")
    live: dict[str, Resting] = {}
    for i, (side, px, sz, remove_one) in enumerate(ops):
        if remove_one and live:
            victim = live.pop(sorted(live)[len(live) // 2])
            book.remove(victim)
        else:
            o = Resting(f"{i:04d}", side, px, sz)
            live[o.ord_id] = o
            book.add(o)
    for side, key in (("bids", "buy"), ("asks", "sell")):
        expected: dict[Decimal, list[Resting]] = {}
        for o in sorted(live.values(), key=lambda o: o.ord_id):
            if o.side == key:
                expected.setdefault(o.px, []).append(o)
        prices = sorted(expected, reverse=(side == "bids"))
        assert book.levels(side, 1000) == [
            (fmt(p), fmt(sum((o.remaining for o in expected[p]), Decimal(0))), len(expected[p]))
            for p in prices
        ]
