"""Index and mark-price candles reaching back as far as the spot candles do (market/mark-price-candles,
history-mark-price-candles, index-candles, history-index-candles).

The index and mark tapes hold what the simulator printed since it started, plus the spot pair's
minutes copied at start (`Marks.backfill`). Older bars come from the spot pair's generated past
(`okxbot.sim.history`), the same price path the backfill continues: before the simulator ran, the
index was the spot price and the mark had no basis over it. The bar holding the tape's first minute
is answered from the spot pair's past merged with its tape (`History.candles`), so no bar is split.
The recent endpoints serve the latest 1,440 bars, the history ones go back to the listing (OKX:
"recent years"), both newest first with OKX's `after` (older than) / `before` (newer than).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from okxbot.sim.history import history_of
from okxbot.sim.tape import Tape, bar_open

if TYPE_CHECKING:
    from okxbot.sim.context import SimContext


def price_candles(
    ctx: SimContext, tape: Tape, spot_id: str, bar: str, after: int | None, before: int | None, limit: int,
    recent: bool,
) -> list[list[str]]:  # fmt: skip
    """Rows [ts,o,h,l,c,confirm] of `tape`, continued into the past of the spot pair `spot_id`."""
    history = history_of(ctx)
    if recent:
        floor = history.recent_floor(bar)
        before = floor - 1 if before is None else max(before, floor - 1)
    rows: list[list[str]] = []
    first = tape.first_minute
    straddle = None if first is None else bar_open(first, bar)
    if straddle is not None:
        page = ctx.exchange.markets.tape_candles(tape, bar, after, before, limit, prices_only=True)
        rows = [row for row in page if int(row[0]) > straddle]
    if len(rows) < limit:
        older_after = after if straddle is None else min(after or straddle + 1, straddle + 1)
        older = history.candles(spot_id, bar, older_after, before, limit - len(rows))
        rows.extend([*row[:5], row[8]] for row in older)
    return rows
