"""Which bucket a wave of orders goes through: batch first, overflow to the single-order endpoint."""

from __future__ import annotations

from okxbot.okx.ratelimit import Headroom
from okxbot.trading.waves import split


def room(batch: int, single: int, account: int | None = None) -> Headroom:
    return Headroom("/api/v5/trade/order", "/api/v5/trade/batch-orders", single, batch, account)


def test_a_wave_fills_the_batch_bucket_first_then_the_single_order_one() -> None:
    assert split(25, room(batch=300, single=60)) == (25, 0)
    assert split(25, room(batch=10, single=60)) == (10, 15)
    # both full: the rest queues on the batch bucket, which frees ten times faster
    assert split(25, room(batch=10, single=5)) == (20, 5)
    assert split(25, room(batch=0, single=0)) == (25, 0)
    # the sub-account budget (swap orders) is shared by both buckets
    assert split(25, room(batch=300, single=60, account=12)) == (25, 0)
    assert split(25, None) == (25, 0)  # no limiter to ask


def test_a_single_order_never_goes_through_the_batch_endpoint() -> None:
    # OKX charges a batch of one to the single-order bucket: send it as what it is
    assert split(1, room(batch=300, single=60)) == (0, 1)
    assert split(2, room(batch=1, single=1)) == (0, 2)
    assert split(3, room(batch=1, single=2)) == (0, 3)
    assert split(0, room(batch=300, single=60)) == (0, 0)
