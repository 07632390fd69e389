"""No lookahead: a strategy that tries to read the future gets nothing of it through okxbot's API,
and an order decided on a candle acts only on later prices."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

from tests.backtest.btkit import MINUTE, T0, backtest, candles, flat, strategy_file

PEEKER = """
import json
from decimal import Decimal
from okxbot.data import DataError, load_candles, load_trades
from okxbot.trading.strategy import Strategy

class Peeker(Strategy):
    candle_bar = "1m"
    timer_seconds = 30

    def _note(self, what, value):
        with open(self.params["out"], "a") as f:
            f.write(json.dumps([what, value]) + "\\n")

    async def on_candle(self, candle, history):
        now = self.ctx.now_ms()
        self._note("candle", [now, candle.ts, max(c.ts for c in history), len(history), str(self.ctx.mid())])
        # the data files, through okxbot.data: the future is refused, the past ends now
        try:
            future = load_candles("BTC-USDT", "1m", start=now, root=self.params["root"])
            self._note("future candles", len(future))
        except DataError as err:
            self._note("refused", err.problem)
        past = load_candles("BTC-USDT", "1m", root=self.params["root"])
        self._note("stored up to", [int(past.ts.max()), now])
        try:
            load_trades("BTC-USDT", start=now + 60_000, root=self.params["root"])
            self._note("future trades", "read")
        except DataError as err:
            self._note("refused", err.problem)
        # what the context offers: nothing that leads to the market's future
        self._note("context", sorted(n for n in dir(self.ctx) if not n.startswith("_")))
        if candle.ts == self.params["signal_bar"]:
            await self.ctx.place("buy", Decimal("0.1"))

    async def on_timer(self):
        self._note("timer", [self.ctx.now_ms(), str(self.ctx.mid())])
"""

PUBLIC_CONTEXT = [
    "amend",
    "amend_many",
    "balances",
    "cancel",
    "cancel_many",
    "close_position",
    "leverage",
    "log",
    "mark",
    "mid",
    "next_funding",
    "now_ms",
    "open_orders",
    "place",
    "place_many",
    "position",
    "position_of",
    "positions",
    "rules",
    "symbol",
]  # fmt: skip (the swap views are empty / None on a spot bot, as in every backtest)


def test_a_strategy_that_peeks_sees_no_future(tmp_path: Path) -> None:
    # minute 5 is a spike the peeker would love to know about in advance
    rows = flat(10)
    rows[5] = (60000, 65000, 60000, 64000, 4)
    rows[6:] = flat(4, 64000)
    candles(tmp_path, rows)
    out = tmp_path / "seen.jsonl"
    config = {
        "strategy": strategy_file(tmp_path, PEEKER),
        "params": {"out": str(out), "signal_bar": T0 + 3 * MINUTE, "root": str(tmp_path)},
        "risk": {"max_order_notional": "1000000", "price_band_pct": "50"},
    }
    for fast in (False, True):
        out.unlink(missing_ok=True)
        result = backtest(tmp_path, config, 10, fast=fast)
        seen = [json.loads(line) for line in out.read_text().splitlines()]
        candles_seen = [v for k, v in seen if k == "candle"]
        assert len(candles_seen) == 9  # each bar once, at its close before the end (none before)
        for now, ts, newest, count, mid in candles_seen:
            assert ts == newest and ts + MINUTE == now  # the newest candle is the one that just closed
            assert count == min(100, (now - T0) // MINUTE)
            spike_known = Decimal(mid) > 61000
            assert spike_known == (now > T0 + 5 * MINUTE)  # the mid is the last price before now
        assert all(v == PUBLIC_CONTEXT for k, v in seen if k == "context")
        refused = [v for k, v in seen if k == "refused"]
        assert len(refused) == 18 and all("future" in r for r in refused)
        assert not [v for k, v in seen if k in ("future candles", "future trades")]
        for newest, now in (v for k, v in seen if k == "stored up to"):
            assert newest < now  # the candle opening now, or later, is not readable
        # minute 5's points: 60000 at :00, 60000 at :15 (the low, nearer the open), 65000 at :30,
        # 64000 at :45; a timer due at :30 runs before the point of that instant
        for now, mid in (v for k, v in seen if k == "timer"):
            assert (Decimal(mid) > 61000) == (now > T0 + 5 * MINUTE + 30_000)
        # the buy decided at the close of minute 3 filled at minute 4's open (+ half the spread),
        # never at a price of minute 3 or before
        (fill,) = result.fills
        assert fill.price == Decimal("60006.0") and fill.ts_ms == T0 + 4 * MINUTE + 50
