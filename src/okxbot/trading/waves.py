"""Which endpoint a wave of orders goes through: OKX's single-order or batch bucket.

OKX counts the single-order endpoints (trade/order, cancel-order, amend-order: 60 requests / 2 s per
instrument) and their batch twins (batch-orders, cancel-batch-orders, amend-batch-orders: 300 orders
/ 2 s per instrument, 20 per request) in independent buckets, and charges a batch holding a single
order to the single-order bucket. So orders that go out together (a grid's quotes, a cancel-all, an
amend wave) fill the batch bucket first and overflow into the single-order bucket: one instrument
can then carry 150 + 30 = 180 new orders per second. The limiter (`okxbot.okx.ratelimit`) says how
much room each bucket has now; it still makes each request wait for its own bucket.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from okxbot.okx.ratelimit import Headroom


@dataclass(frozen=True)
class Endpoints:
    """One kind of order request: its single-order path and its batch twin."""

    single: str
    batch: str


PLACE = Endpoints("/api/v5/trade/order", "/api/v5/trade/batch-orders")
CANCEL = Endpoints("/api/v5/trade/cancel-order", "/api/v5/trade/cancel-batch-orders")
AMEND = Endpoints("/api/v5/trade/amend-order", "/api/v5/trade/amend-batch-orders")


def split(n: int, headroom: Headroom | None) -> tuple[int, int]:
    """(orders through the batch endpoint, orders through the single one) for `n` orders.

    What fits now goes where it fits, the batch bucket first (`Headroom.split`); what fits in
    neither waits in the batch bucket, which frees ten times faster. A batch of one would be charged
    to the single-order bucket anyway, so it is sent as a single order. Without a limiter to ask,
    everything goes through the batch endpoint."""
    if n <= 1:
        return 0, n
    if headroom is None:
        return n, 0
    _via_batch, via_single = headroom.split(n)
    batch = n - via_single
    if batch == 1:
        return 0, n
    return batch, n - batch


async def route(
    headroom: Callable[[str, str], Awaitable[Headroom | None]], endpoints: Endpoints, inst_id: str, n: int
) -> tuple[int, int]:
    """`split` with what `headroom(path, inst_id)` (the venue's limiter) reports now."""
    if n <= 1:
        return 0, n
    return split(n, await headroom(endpoints.single, inst_id))
