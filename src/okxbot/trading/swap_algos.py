"""A swap bot's algo orders after the fact: which of the journal's algos exist on OKX, the orders they
placed when they fired, and the stops that must be repaired or canceled.

`reconcile()` (at start and on every poll) looks each unfinished journal algo up by algoClOrdId
(pending or finished): an attached stop whose entry filled is adopted when OKX has it, and is
`missing` when OKX has none (its entry filled, so OKX should have created it): a replacement stop is
placed for what the bot holds (journaled first), or, if the price is already through it, the position
is closed. A standalone algo journaled just before a crash is adopted when found, `not_created` when
OKX never got it. An algo that fired is `effective` and the orders it placed (no clOrdId on OKX: they
carry its algoClOrdId) are journaled as the bot's (origin "algo", clOrdId "a" + ordId) with their fills,
so that the journal's positions stay OKX's. A live stop of a side the bot no longer holds is an orphan
and is canceled. Nothing is ever placed twice: every algo has one algoClOrdId, journaled before it is
sent, and a lookup decides.

A trailing stop (kind "trailing") cannot be attached (OKX's attachAlgoOrds takes TP/SL only): journaled
with its entry, it is placed by okxbot as a reduce-only move_order_stop under its journaled algoClOrdId
for what the entry filled (a partial fill: the filled part) once the entry is done (`follow_entry` on
the entry's fill, and every reconcile): found on OKX it is adopted; never sent, or sent more than
STANDALONE_GRACE_MS ago and not found, it is placed; refused, the position it should protect is closed.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from okxbot.okx.algos import AlgoRequest, StopSpec
from okxbot.okx.errors import OkxError
from okxbot.okx.ids import new_client_order_id
from okxbot.okx.swap_models import AlgoOrder
from okxbot.trading.journal import JournalFill, JournalOrder, journal_state
from okxbot.trading.swap_journal import JournalAlgo, SwapOrderFields
from okxbot.trading.swap_venue import LIQUIDATION

if TYPE_CHECKING:
    from okxbot.trading.swap_manager import SwapManager

log = logging.getLogger("okxbot.trading.swaps")
ZERO = Decimal(0)
STANDALONE_GRACE_MS = 10_000  # a standalone algo journaled this recently may still be on its way
_FROM_OKX = {
    "live": "live",
    "pause": "live",
    "partially_effective": "live",
    "effective": "effective",
    "canceled": "canceled",
    "order_failed": "order_failed",
    "partially_failed": "order_failed",
}


class AlgoKeeper:
    def __init__(self, swaps: SwapManager) -> None:
        self.s = swaps
        self.repaired = 0  # replacement stops placed for missing attached ones
        self.orphans_canceled = 0
        self.foreign: set[str] = set()  # algoIds on the symbol that no journal row names
        self.trailing_placed = 0
        self._trailing_lock = asyncio.Lock()  # the fill listener and the poll's reconcile place one at a time
        self._tasks: set[asyncio.Task[Any]] = set()

    # ---- the orders an algo placed ---------------------------------------------------------------------
    async def adopt_child(self, raw: Mapping[str, Any]) -> Mapping[str, Any]:
        """An order without clOrdId placed by one of the bot's algos: journaled (once) as the bot's, and
        returned with that clOrdId; any other order is returned as it is (then flagged foreign)."""
        s = self.s
        ord_id = str(raw.get("ordId") or "")
        if str(raw.get("category") or "") in LIQUIDATION and raw.get("instId") == s.spec.inst_id and ord_id:
            return await self._adopt_liquidation(raw, ord_id)
        algo = s.journal.algo(str(raw.get("algoClOrdId") or ""))
        if algo is None or not ord_id:
            return raw
        cid = f"a{ord_id}"
        journal = s.m.journal
        if journal.order(cid) is None:
            s.journal.record_order(
                SwapOrderFields(cid, s.symbol, str(raw.get("posSide") or "net"), str(raw.get("tdMode") or ""),
                                str(raw.get("reduceOnly", "")).lower() == "true", None, origin="algo")
            )  # fmt: skip
            journal.record_intent(
                cid, s.symbol, str(raw.get("side", "")), Decimal(str(raw.get("sz") or "0")), None,
                origin="algo", state="live", order_id=ord_id,
            )  # fmt: skip
            log.info("order %s placed by algo %s on the exchange", ord_id, algo.algo_client_id)
        if journal_state(str(raw.get("state", ""))) in ("filled", "partially_filled"):
            s.journal.algo_state(algo.algo_client_id, "effective", note=f"placed order {ord_id}")
        return {**raw, "clOrdId": cid}

    async def _adopt_liquidation(self, raw: Mapping[str, Any], ord_id: str) -> Mapping[str, Any]:
        """OKX's liquidation (or ADL) order on the bot's position: journaled as the bot's (origin
        "liquidation", clOrdId "l" + ordId) with one fill at its price, so that the journal's position
        follows the exchange's. OKX gives such an order no tradeId: the fill is named "L" + ordId."""
        s, m = self.s, self.s.m
        cid = f"l{ord_id}"
        pos_side = str(raw.get("posSide") or "net")
        if m.journal.order(cid) is None:
            first = s.journal.first_order_ms()
            if not s.journal.positions(s.symbol).get(pos_side) or first is None or _ms(raw) < first:
                return raw  # not a position of this bot's
            side, size = str(raw.get("side", "")), Decimal(str(raw.get("accFillSz") or raw.get("sz") or "0"))
            s.journal.record_order(
                SwapOrderFields(
                    cid, s.symbol, pos_side, str(raw.get("tdMode") or ""), True, None, origin="liquidation"
                )
            )
            m.journal.record_intent(
                cid, s.symbol, side, size, None, origin="liquidation", state="live", order_id=ord_id
            )
            px = Decimal(str(raw.get("avgPx") or raw.get("fillPx") or "0"))
            ts = int(raw.get("fillTime") or raw.get("uTime") or m.clock.now_ms())
            await m.record_fill(
                JournalFill(s.symbol, f"L{ord_id}", cid, ord_id, side, px, size, ZERO, s.spec.settle_ccy, ts)
            )
            m.stats.error(
                f"the {pos_side} position of {s.symbol} was liquidated by OKX ({size} contracts at {px})"
            )
            log.error("position liquidated: order %s, %s contracts at %s", ord_id, size, px)
        return {**raw, "clOrdId": cid}

    # ---- reconciliation ---------------------------------------------------------------------------------
    async def reconcile(self) -> dict[str, int]:
        """Every unfinished journal algo against OKX; then orphans. Returns what it did, by kind."""
        done = {
            "adopted": 0, "effective": 0, "not_created": 0, "missing": 0, "repaired": 0, "orphans": 0,
            "placed": 0,
        }  # fmt: skip
        for algo in self.s.journal.algos(final=False):
            outcome = await self._reconcile_one(algo)
            if outcome:
                done[outcome] += 1
        await self._catch_liquidations()
        done["orphans"] = await self.cancel_orphans()
        await self._flag_foreign()
        return done

    async def _catch_liquidations(self) -> None:
        """The journal holds a position OKX does not: a liquidation the orders channel did not bring (it
        was down, or the bot was not running) is read from the order history and journaled."""
        s = self.s
        ours = s.journal_positions()
        if not ours or await s.exchange_matches_journal():
            return
        for raw in reversed(await s.venue.liquidation_orders(s.symbol)):  # oldest first
            await s.m.apply_order(raw)

    async def _reconcile_one(self, algo: JournalAlgo) -> str | None:
        s = self.s
        found = await s.venue.find_algo(algo.algo_client_id)
        if found is not None:
            state = _FROM_OKX.get(found.state, "live")
            changed = s.journal.algo_state(algo.algo_client_id, state, algo_id=found.algo_id, size=found.size)
            if state == "effective":
                await self._adopt_children(found)
                return "effective"
            return "adopted" if changed and algo.state == "expected" else None
        if algo.kind == "trailing":
            return await self.place_trailing(algo) if algo.state == "expected" else None
        if algo.kind == "standalone":
            if algo.state == "expected" and self._stale(algo):
                s.journal.algo_state(algo.algo_client_id, "not_created", note="not on OKX: never placed")
                return "not_created"
            return None
        entry = s.m.journal.order(algo.entry_client_order_id or "")
        if entry is None or (entry.state in ("canceled", "rejected") and entry.filled == 0):
            s.journal.algo_state(algo.algo_client_id, "not_created", note="its entry never filled")
            return "not_created"
        if entry.state == "filled" or (entry.state == "canceled" and entry.filled > 0):
            # OKX creates an attached stop on the entry's full fill: the entry is done and there is none
            s.journal.algo_state(algo.algo_client_id, "missing", note="entry filled, no algo on OKX")
            await self.repair(algo)
            return "missing"
        return None

    @staticmethod
    def _stale(algo: JournalAlgo) -> bool:
        return int(time.time() * 1000) - algo.created_ms > STANDALONE_GRACE_MS

    async def _adopt_children(self, found: AlgoOrder) -> None:
        m = self.s.m
        for ord_id in found.order_ids:
            known = m.journal.order(f"a{ord_id}")
            if known is not None and known.state == "filled":
                continue
            try:
                order = await m.client.find_order(self.s.symbol, order_id=ord_id)
            except OkxError as err:
                m.stats.error(f"algo order {ord_id}: {err.message}")
                continue
            if order is not None:
                await m.apply_order(order.raw, None)
                await m._read_fills(f"a{ord_id}")  # now, not in the background: the position depends on them

    # ---- trailing stops (placed by okxbot once their entry filled) --------------------------------------
    async def follow_entry(self, entry_client_order_id: str) -> None:
        """A fill of one of the bot's orders: a trailing stop waiting for that entry is placed now if the
        entry is done (else the next reconcile looks again). In a task: the fill path does not wait."""
        entry = self.s.m.journal.order(entry_client_order_id)
        if entry is None or not _done(entry):
            return
        for algo in self.s.journal.algos(final=False):
            if (
                algo.kind == "trailing"
                and algo.state == "expected"
                and algo.entry_client_order_id == entry.client_order_id
            ):
                task = asyncio.ensure_future(self._place_quietly(algo))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)

    async def _place_quietly(self, algo: JournalAlgo) -> None:
        try:
            await self.place_trailing(algo)
        except OkxError as err:  # the poll's reconcile tries again
            self.s.m.stats.error(f"trailing stop {algo.algo_client_id}: {err.message}")

    async def place_trailing(self, algo: JournalAlgo) -> str | None:
        """Place (or adopt) the trailing stop of a done entry, exactly once; what happened, for reconcile."""
        s = self.s
        async with self._trailing_lock:
            current = s.journal.algo(algo.algo_client_id)
            if current is None or current.state != "expected":
                return None
            found = await s.venue.find_algo(algo.algo_client_id)
            if found is not None:  # sent before (a crash or a lost answer): adopt it
                state = _FROM_OKX.get(found.state, "live")
                s.journal.algo_state(algo.algo_client_id, state, algo_id=found.algo_id, size=found.size)
                if state == "effective":
                    await self._adopt_children(found)
                return "adopted"
            entry = s.m.journal.order(algo.entry_client_order_id or "")
            if entry is None or (_done(entry) and entry.filled == 0):
                s.journal.algo_state(algo.algo_client_id, "not_created", note="its entry never filled")
                return "not_created"
            if not _done(entry):
                return None
            stored = s.journal.trailing(algo.algo_client_id)
            if stored is None:
                return None
            spec, sent_ms = stored
            if sent_ms is not None and int(time.time() * 1000) - sent_ms <= STANDALONE_GRACE_MS:
                return None  # sent moments ago, answer lost: it may still land; looked up next time
            held = abs(s.journal.positions(s.symbol).get(algo.pos_side, ZERO))
            size = min(entry.filled, held)
            if not size:
                s.journal.algo_state(algo.algo_client_id, "not_created", note="no position left to protect")
                return "not_created"
            hedged = algo.pos_side in ("long", "short")
            request = AlgoRequest(
                s.symbol, s.spec.inst_id, algo.side, "move_order_stop", s.swap.margin_mode, size,
                algo.algo_client_id, pos_side=algo.pos_side if hedged else "", reduce_only=not hedged,
                trailing=spec,
            )  # fmt: skip
            s.journal.trailing_sent(algo.algo_client_id)
            try:
                placed = await s.venue.place_algo(request)
            except OkxError as err:
                if err.outcome_unknown:
                    return None  # looked up by its algoClOrdId on the next reconcile
                s.journal.algo_state(algo.algo_client_id, "not_created", note=f"{err.code}: {err.message}")
                s.m.stats.error(
                    f"trailing stop refused by OKX ({err.message}): closing the {algo.protects} side"
                )
                await s.close_position(algo.pos_side if hedged else None)
                return "not_created"
            s.journal.algo_state(algo.algo_client_id, "live", algo_id=placed.algo_id, size=size)
            self.trailing_placed += 1
            log.info("trailing stop %s placed for %s contracts", algo.algo_client_id, size)
            return "placed"

    # ---- repairs and orphans ----------------------------------------------------------------------------
    async def repair(self, algo: JournalAlgo) -> None:
        """A stop that should protect the bot's position is missing: place a replacement (journaled
        first) sized to what the bot holds on that side, or close the side if the price is through it."""
        s = self.s
        held = s.journal.positions(s.symbol).get(algo.pos_side, ZERO)
        size = abs(held)
        if not size or algo.stop_loss is None:
            return
        side = "sell" if algo.protects == "long" else "buy"
        hedged = algo.pos_side in ("long", "short")
        replacement = JournalAlgo(
            new_client_order_id(), s.symbol, None, "standalone", "conditional", side, algo.pos_side, size,
            algo.stop_loss, None, algo.trigger_type or s.swap.trigger_price_type, "expected", None,
            note=f"replaces {algo.algo_client_id}",
        )  # fmt: skip
        s.journal.record_algo(replacement)
        request = AlgoRequest(
            s.symbol, s.spec.inst_id, side, "conditional", s.swap.margin_mode, size, replacement.algo_client_id,
            pos_side=algo.pos_side if hedged else "", reduce_only=not hedged,
            stop_loss=StopSpec(algo.stop_loss, None, replacement.trigger_type),
        )  # fmt: skip
        try:
            placed = await s.venue.place_algo(request)
        except OkxError as err:
            if err.outcome_unknown:
                return  # journaled as expected: the next reconcile finds it or proves it never placed
            s.journal.algo_state(replacement.algo_client_id, "not_created", note=f"{err.code}: {err.message}")
            s.m.stats.error(f"replacement stop refused ({err.message}): closing the {algo.protects} side")
            await s.close_position(algo.pos_side if hedged else None)
            return
        s.journal.algo_state(replacement.algo_client_id, "live", algo_id=placed.algo_id)
        self.repaired += 1
        s.m.stats.error(
            f"stop {algo.algo_client_id} was missing on OKX: replaced by {replacement.algo_client_id}"
        )

    async def cancel_orphans(self) -> int:
        """Cancel the bot's live algos protecting a side it no longer holds; how many were canceled."""
        s = self.s
        held = s.journal.positions(s.symbol)
        canceled = 0
        for algo in s.journal.algos(final=False):
            if algo.state != "live":
                continue
            size = held.get(algo.pos_side, ZERO)
            holds = (
                size > 0
                if algo.pos_side in ("long", "short")
                else (size > 0 if algo.protects == "long" else size < 0)
            )
            if holds:
                continue
            found = await s.venue.find_algo(algo.algo_client_id)
            if found is None or not found.is_pending:
                if found is not None:
                    s.journal.algo_state(
                        algo.algo_client_id, _FROM_OKX.get(found.state, "canceled"), algo_id=found.algo_id
                    )
                    if found.state == "effective":
                        await self._adopt_children(found)
                continue
            ok = await s.venue.cancel_algos([found])
            if ok and ok[0]:
                s.journal.algo_state(algo.algo_client_id, "canceled", note="its position is closed (orphan)")
                canceled += 1
        self.orphans_canceled += canceled
        return canceled

    async def _flag_foreign(self) -> None:
        s = self.s
        try:
            pending = await s.venue.pending_algos(s.symbol)
        except OkxError:
            return
        # read after the answer: an entry journaled while the list was on its way may have filled and
        # spawned its attached stop in it (read before, that stop looked foreign)
        ours = {a.algo_client_id for a in s.journal.algos()}
        for a in pending:
            if a.algo_client_id not in ours and a.algo_id not in self.foreign:
                self.foreign.add(a.algo_id)
                s.m.stats.error(f"foreign algo order {a.algo_id} on {s.symbol} (not placed by this bot)")


def _done(entry: JournalOrder) -> bool:
    """The entry will fill no more: filled, or canceled / rejected (perhaps after a partial fill)."""
    return entry.state in ("filled", "canceled", "rejected")


def _ms(raw: Mapping[str, Any]) -> int:
    try:
        return int(raw.get("cTime") or raw.get("uTime") or 0)
    except (TypeError, ValueError):
        return 0
