"""The WebSocket channels of perpetual swaps (reference: okx-v5-derivatives-algo-data.md §3).

Private (/private, after login):
* `positions` {instType, instFamily?, instId?, extraParams?}: a snapshot of the non-zero positions on
  subscribe (`eventType` snapshot), then the positions an event changed (`event_update`, zero ones
  included), plus every `updateInterval` ms (default 5 s; "0" = events only) the open ones.
* `balance_and_position`: a snapshot (non-zero balances and positions), then per event
  {pTime, eventType (filled | funding_fee | liquidation | set_leverage | adjust_margin), balData, posData, trades}.
Public (/public): `mark-price` and `price-limit` (checked every 200 ms, pushed when changed),
`funding-rate` (checked every second, pushed when changed), `index-tickers` (every 100 ms when
changed), `liquidation-orders` {instType} (each liquidation, as it happens).
Business (/business): `mark-price-candle{bar}`, `index-candle{bar}` ([ts,o,h,l,c,confirm], every
second when changed). Every public channel pushes its current state on subscribe.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from okxbot.sim.events import LiquidationEvent, PositionEvent
from okxbot.sim.instruments import fmt
from okxbot.sim.ws_channels import INDEX_CANDLES, LIQUIDATIONS, MARK_CANDLES, Sub

if TYPE_CHECKING:
    from okxbot.sim.engine import Exchange
    from okxbot.sim.ws import Session, WsHub

PRICE_CHANNELS = frozenset({"mark-price", "price-limit"})  # every 200 ms
SLOW_CHANNELS = frozenset({"funding-rate", *MARK_CANDLES, *INDEX_CANDLES})  # every second
FAST_CHANNELS = frozenset({"index-tickers"})  # every 100 ms
RENDERED = PRICE_CHANNELS | SLOW_CHANNELS | FAST_CHANNELS
PRIVATE_SWAP = frozenset({"positions", "balance_and_position"})


def _dumps(body: Any) -> str:
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False)


def kind_of(exchange: Exchange) -> Any:
    """instId -> "SPOT" / "SWAP" / "INDEX" / "" (what `ws_channels.check_arg` needs to know)."""
    indexes = set(exchange.index_ids())

    def kind(inst_id: str) -> str:
        inst = exchange.instrument(inst_id)
        if inst_id in indexes and (inst is None or not inst.is_swap):
            return "INDEX"
        return inst.inst_type if inst is not None else ""

    return kind


def render(exchange: Exchange, channel: str, inst_id: str, now_ms: int) -> tuple[str, str] | None:
    """(content without timestamps, message) of a public / business swap channel push."""
    arg = {"channel": channel, "instId": inst_id}
    if channel == "mark-price":
        item = {"instId": inst_id, "instType": "SWAP", "markPx": fmt(exchange.mark_price(inst_id))}
        return _dumps(item), _dumps({"arg": arg, "data": [{**item, "ts": str(now_ms)}]})
    if channel == "price-limit":
        buy, sell = exchange.price_limit(inst_id)
        inst = exchange.instrument(inst_id)
        item = {"instType": inst.inst_type if inst else "", "instId": inst_id, "buyLmt": fmt(buy),
                "sellLmt": fmt(sell), "enabled": True}  # fmt: skip
        return _dumps(item), _dumps({"arg": arg, "data": [{**item, "ts": str(now_ms)}]})
    if channel == "funding-rate":
        item = exchange.funding_rate(inst_id)
        content = {k: v for k, v in item.items() if k != "ts"}
        return _dumps(content), _dumps({"arg": arg, "data": [item]})
    if channel == "index-tickers":
        item = exchange.index_ticker(inst_id)
        content = {k: v for k, v in item.items() if k != "ts"}
        return _dumps(content), _dumps({"arg": arg, "data": [item]})
    if channel in MARK_CANDLES:
        rows = exchange.mark_candles(inst_id, MARK_CANDLES[channel], limit=1)
    else:
        rows = exchange.index_candles(inst_id, INDEX_CANDLES[channel], limit=1)
    if not rows:
        return None
    return _dumps(rows), _dumps({"arg": arg, "data": rows})


def _matches(sub: Sub, row: dict[str, Any]) -> bool:
    if sub.inst_type not in ("ANY", row.get("instType")):
        return False
    if sub.inst_id and sub.inst_id != row.get("instId"):
        return False
    return not sub.inst_family or row.get("instId", "").startswith(sub.inst_family + "-")


def _bp_pos(row: dict[str, Any]) -> dict[str, str]:
    """A positions row in balance_and_position's posData form."""
    return {
        "posId": row["posId"], "tradeId": row["tradeId"], "instId": row["instId"], "instType": row["instType"],
        "mgnMode": row["mgnMode"], "avgPx": row["avgPx"], "ccy": row["ccy"], "posSide": row["posSide"],
        "pos": row["pos"], "baseBal": "", "quoteBal": "", "posCcy": "", "nonSettleAvgPx": "", "settledPnl": "",
        "uTime": row["uTime"],
    }  # fmt: skip


def _bal_data(exchange: Exchange, uid: str, ccys: list[str] | None) -> list[dict[str, str]]:
    acct = exchange.ledger.account(uid)
    out = []
    for ccy in sorted(ccys if ccys is not None else acct.balances):
        b = acct.balances.get(ccy)
        if b is None or (ccys is None and not b.cash):
            continue
        out.append({"ccy": ccy, "cashBal": fmt(b.cash), "uTime": str(b.u_time)})
    return out


class SwapStreams:
    """The hub's part for swap channels: first pushes, event pushes and periodic positions."""

    def __init__(self, hub: WsHub) -> None:
        self.hub = hub
        self._last_periodic: dict[tuple[int, tuple[str, str, str, str]], int] = {}

    @property
    def exchange(self) -> Exchange:
        return self.hub.ctx.exchange

    def _positions_push(
        self, session: Session, sub: Sub, uid: str, rows: list[dict[str, Any]], kind: str
    ) -> None:
        now = str(self.hub.ctx.clock.now_ms())
        data = [{**r, "pTime": now} for r in rows if _matches(sub, r)]
        if kind != "snapshot" and not data:
            return
        body = {"arg": sub.arg(uid), "eventType": kind, "curPage": 1, "lastPage": True, "data": data}
        self.hub.deliver(session, _dumps(body))

    def first_push(self, session: Session, sub: Sub, uid: str) -> None:
        ex = self.exchange
        if sub.channel == "positions":
            self._positions_push(
                session, sub, uid, [r for r in ex.positions(uid) if r["pos"] != "0"], "snapshot"
            )
        elif sub.channel == "balance_and_position":
            rows = [r for r in ex.positions(uid) if r["pos"] != "0"]
            data = {"pTime": str(self.hub.ctx.clock.now_ms()), "eventType": "snapshot",
                    "balData": _bal_data(ex, uid, None), "posData": [_bp_pos(r) for r in rows], "trades": []}  # fmt: skip
            session.send_json({"arg": sub.arg(uid), "data": [data]})

    def on_position(self, event: PositionEvent) -> None:
        sessions = self.hub.private.get(event.uid)
        if not sessions:
            return
        ex = self.exchange
        rows = ex.position_rows(event.uid, event.pos_ids)
        for session in sessions:
            for sub in session.subs.values():
                if sub.channel == "positions":
                    self._positions_push(session, sub, event.uid, rows, "event_update")
                elif sub.channel == "balance_and_position":
                    data = {
                        "pTime": str(self.hub.ctx.clock.now_ms()), "eventType": event.event_type,
                        "balData": _bal_data(ex, event.uid, event.ccys), "posData": [_bp_pos(r) for r in rows],
                        "trades": event.trades,
                    }  # fmt: skip
                    self.hub.deliver(session, _dumps({"arg": sub.arg(event.uid), "data": [data]}))

    def on_liquidation(self, event: LiquidationEvent) -> None:
        for session in self.hub.public.get((LIQUIDATIONS, ""), ()):
            for sub in session.subs.values():
                if sub.channel == LIQUIDATIONS and sub.inst_type == event.inst_type:
                    self.hub.deliver(session, _dumps({"arg": sub.arg(), "data": [event.item]}))

    def periodic(self, now_ms: int) -> None:
        """The positions channel's periodic pushes of open positions (per subscription interval)."""
        for uid, sessions in self.hub.private.items():
            for session in sessions:
                for sub in session.subs.values():
                    if sub.channel != "positions" or not sub.period_ms:
                        continue
                    key = (id(session), sub.key)
                    last = self._last_periodic.get(key)
                    if last is None:
                        self._last_periodic[key] = now_ms
                        continue
                    if now_ms - last < sub.period_ms:
                        continue
                    self._last_periodic[key] = now_ms
                    rows = [r for r in self.exchange.positions(uid) if r["pos"] != "0"]
                    self._positions_push(session, sub, uid, rows, "event_update")

    def forget(self, session: Session) -> None:
        for key in [k for k in self._last_periodic if k[0] == id(session)]:
            del self._last_periodic[key]
