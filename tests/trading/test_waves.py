"""Which bucket a wave of orders goes through: batch first, overflow to the single-order endpoint."""

from __future__ import annotations

from okxbot.trading.waves import split


def test_a_wave_fills_the_batch_bucket_first_then_the_single_order_one() -> None:
    assert split(25, batch_room=300, single_room=60) == (25, 0)
    assert split(25, batch_room=10, single_room=60) == (10, 15)
    # both full: the rest queues on the batch bucket, which frees ten times faster
    assert split(25, batch_room=10, single_room=5) == (20, 5)
    assert split(25, batch_room=0, single_room=0) == (25, 0)


def test_a_single_order_never_goes_through_the_batch_endpoint() -> None:
    # OKX charges a batch of one to the single-order bucket: send it as what it is
    assert split(1, batch_room=300, single_room=60) == (0, 1)
    assert split(2, batch_room=1, single_room=1) == (0, 2)
    assert split(3, batch_room=1, single_room=2) == (0, 3)
    assert split(0, batch_room=300, single_room=60) == (0, 0)
