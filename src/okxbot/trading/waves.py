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


@dataclass(frozen=True)
class Endpoints:
    """One kind of order request: its single-order path and its batch twin."""

    single: str
    batch: str


PLACE = Endpoints("/api/v5/trade/order", "/api/v5/trade/batch-orders")
CANCEL = Endpoints("/api/v5/trade/cancel-order", "/api/v5/trade/cancel-batch-orders")
AMEND = Endpoints("/api/v5/trade/amend-order", "/api/v5/trade/amend-batch-orders")


def split(n: int, batch_room: int, single_room: int) -> tuple[int, int]:
    """(orders through the batch endpoint, orders through the single one) for `n` orders.

    The batch bucket first (20 orders per request), then the single-order bucket's room; what fits
    in neither waits in the batch bucket, which frees 10 times faster. A batch of one would be
    charged to the single-order bucket anyway, so it is sent as a single order."""
    if n <= 1:
        return 0, n
    batch = min(n, batch_room) if batch_room >= 2 else 0
    single = min(n - batch, single_room)
    batch += n - batch - single  # no room anywhere: queue on the batch bucket
    if batch == 1:
        return 0, n
    return batch, n - batch


async def route(
    room: Callable[[str, str], Awaitable[int | None]], endpoints: Endpoints, inst_id: str, n: int
) -> tuple[int, int]:
    """`split` with the rooms `room(path, inst_id)` reports now (all batch when it knows none)."""
    if n <= 1:
        return 0, n
    batch_room = await room(endpoints.batch, inst_id)
    single_room = await room(endpoints.single, inst_id)
    if batch_room is None or single_room is None:
        return n, 0
    return split(n, batch_room, single_room)
