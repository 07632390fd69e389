"""The funds check's arithmetic: OKX's dated balance plus the bot's own orders and fills after it."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest

from okxbot.okx.models import Balance, Order
from okxbot.trading.funds import Funds, InsufficientFunds
from okxbot.trading.journal import JournalFill

D = Decimal


def funds(usdt_avail: str = "100", usdt_frozen: str = "0", u: int | None = 1000) -> Funds:
    f = Funds("BTC", "USDT")
    f.snapshot([Balance("USDT", D(usdt_avail) + D(usdt_frozen), D(usdt_avail), D(usdt_frozen), u)], full=True)
    return f


def seen(
    state: str, c_time: int | None, *, filled: str = "0", u_time: int | None = None, side: str = "buy"
) -> Order:
    raw = {} if c_time is not None else {"ts": "0"}
    return Order(
        "BTC/USDT", "BTC-USDT", "c1", "o1", side, "limit", D("1"), D("30"), state, D(filled),
        created_ms=c_time, updated_ms=u_time, raw=raw,
    )  # fmt: skip


def fill(
    ts: int, size: str, price: str = "30", side: str = "buy", fee: str = "0", fee_ccy: str = ""
) -> JournalFill:
    return JournalFill("BTC/USDT", f"t{ts}", "c1", "o1", side, D(price), D(size), D(fee), fee_ccy, ts)


def test_an_order_in_flight_holds_its_reserve_and_a_later_snapshot_does_not_count_it_twice() -> None:
    f = funds()
    f.sent("c1", "buy", D("1"), D("30"))
    assert f.available("USDT") == D("70")
    with pytest.raises(InsufficientFunds) as refused:
        f.check("buy", D("1"), D("80"))
    assert (refused.value.ccy, refused.value.need, refused.value.available, refused.value.held) == (
        "USDT", D("80"), D("70"), D("30"),
    )  # fmt: skip
    f.seen("c1", seen("live", 1500))
    # a report from before the order: it is not in there, so it still comes off
    f.snapshot([Balance("USDT", D("100"), D("100"), D("0"), 1400)], full=True)
    assert f.available("USDT") == D("70")
    # a report after it: OKX froze it already
    f.snapshot([Balance("USDT", D("100"), D("70"), D("30"), 1600)], full=True)
    assert f.available("USDT") == D("70")


def test_a_report_at_the_same_millisecond_as_the_order_is_not_trusted_to_include_it() -> None:
    f = funds()
    f.sent("c1", "buy", D("1"), D("30"))
    f.seen("c1", seen("live", 2000))
    f.snapshot([Balance("USDT", D("100"), D("100"), D("0"), 2000)], full=True)  # maybe before, maybe after
    assert f.available("USDT") == D("70")


def test_a_fill_after_the_report_pays_with_the_reserve_and_credits_the_base_at_once() -> None:
    f = funds()
    f.snapshot([Balance("BTC", D("0"), D("0"), D("0"), 1000)], full=False)
    f.sent("c1", "buy", D("1"), D("30"))
    f.seen("c1", seen("live", 900))  # frozen before the report
    f.snapshot([Balance("USDT", D("100"), D("70"), D("30"), 1000)], full=True)
    f.fill(fill(1200, "0.4", price="29", fee="-0.001", fee_ccy="BTC"))
    f.seen("c1", seen("partially_filled", 900, filled="0.4", u_time=1200))
    # paid 0.4 x 29 from the reserve, 0.4 x 1 of price improvement back; 0.6 x 30 still held
    assert f.available("USDT") == D("100") - D("11.6") - D("18")
    assert f.available("BTC") == D("0.399")  # sellable before any account push says so
    f.check("sell", D("0.399"), D("31"))


def test_a_fill_the_report_already_holds_is_not_counted_again() -> None:
    f = funds(u=100)
    f.sent("c1", "buy", D("1"), D("30"))
    f.seen("c1", seen("live", 500))
    f.fill(fill(800, "1"))
    f.seen("c1", seen("filled", 500, filled="1", u_time=800))
    f.snapshot(
        [Balance("USDT", D("70"), D("70"), D("0"), 900), Balance("BTC", D("1"), D("1"), D("0"), 900)],
        full=True,
    )
    assert (f.available("USDT"), f.available("BTC")) == (D("70"), D("1"))


def test_a_rejected_order_frees_its_reserve_and_a_canceled_one_too() -> None:
    f = funds()
    f.sent("c1", "buy", D("1"), D("30"))
    f.forget("c1")
    assert f.available("USDT") == D("100")
    f.sent("c1", "buy", D("1"), D("30"))
    f.seen("c1", seen("canceled", 1500, u_time=1600))
    assert f.available("USDT") == D("100")


def test_an_older_report_never_replaces_a_newer_one_and_other_programs_frozen_money_stays_frozen() -> None:
    f = funds("60", "40", u=3000)  # 40 frozen by someone else's order
    f.snapshot([Balance("USDT", D("100"), D("100"), D("0"), 2000)], full=True)  # a slow REST answer
    assert f.available("USDT") == D("60")
    f.sent("c1", "buy", D("1"), D("30"))
    f.seen("c1", seen("live", 3500))
    f.snapshot([Balance("USDT", D("100"), D("30"), D("70"), 4000)], full=True)
    assert f.available("USDT") == D("30")


def test_before_any_report_there_is_nothing_to_check_against() -> None:
    f = Funds("BTC", "USDT")
    assert f.available("USDT") is None
    f.check("buy", D("1000"), D("1000"))  # OKX checks; the bot did not invent a balance


def test_finished_orders_are_forgotten_once_the_reports_reflect_them() -> None:
    f = funds()
    for i in range(50):
        cid = f"c{i}"
        f.sent(cid, "buy", D("1"), D("1"))
        f.seen(cid, replace(seen("canceled", 1000 + i, u_time=1001 + i), client_order_id=cid))
    f.snapshot([Balance("USDT", D("100"), D("100"), D("0"), 2000)], full=False)  # BTC never reported
    assert f._held == {} and f.available("USDT") == D("100")
