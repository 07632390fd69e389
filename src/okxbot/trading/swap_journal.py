"""The swap half of the journal: what an order of a perpetual-swap bot carries beyond a spot order
(posSide, tdMode, reduce-only, its attached stop), the bot's algo orders and their link to the entry,
the positions the bot's journaled fills add up to, and the funding payments it has seen.

Same database as `okxbot.trading.journal.Journal` (its engine), tables of its own. Write-ahead like the
order journal: `record_order` (with the attached algo's row, state "expected") is committed before the
order intent itself, and `record_algo` before a standalone algo order is sent, so that after a crash
the journal names every algo order that may exist on OKX, by algoClOrdId (`okxbot.trading.swap_algos`
reconciles them).

A trailing stop (kind "trailing", ordType move_order_stop) cannot ride on the order (OKX attaches TP/SL
only): its row (state expected, linked to the entry, its callback in `swap_trailing`) is committed with
the entry's, and okxbot places it under that algoClOrdId once the entry has filled (`sent_ms` records
the attempt, so a send whose answer was lost is looked up, never repeated at once).

Algo states: expected (journaled, not seen on OKX yet) -> live -> effective | canceled | order_failed;
not_created (its entry ended without filling, or a standalone one was never placed); missing (its entry
filled but OKX has no such algo: a replacement stop was placed and is named in the note).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, Column, MetaData, String, Table, insert, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from okxbot.okx.algos import TrailingSpec
from okxbot.trading.journal import JournalFill, fills_table, orders_table

ALGO_STATES = ("expected", "live", "effective", "canceled", "order_failed", "not_created", "missing")
ALGO_FINAL = frozenset({"effective", "canceled", "order_failed", "not_created", "missing"})
ZERO = Decimal(0)

metadata = MetaData()
swap_orders_table = Table(
    "swap_orders",
    metadata,
    Column("client_order_id", String(32), primary_key=True),
    Column("bot", String(64), nullable=False, index=True),
    Column("symbol", String(32), nullable=False),
    Column("pos_side", String(8), nullable=False),  # net | long | short (the position it acts on)
    Column("td_mode", String(10), nullable=False),
    Column("reduce_only", String(5), nullable=False),  # "true" | "false"
    Column("attach_algo_client_id", String(32), nullable=True),
    Column("origin", String(10), nullable=False),  # bot | algo (an order an algo placed when it fired)
)
algos_table = Table(
    "swap_algos",
    metadata,
    Column("algo_client_id", String(32), primary_key=True),
    Column("bot", String(64), nullable=False, index=True),
    Column("symbol", String(32), nullable=False),
    Column("entry_client_order_id", String(32), nullable=True),  # attached: the order carrying it
    Column(
        "kind", String(10), nullable=False
    ),  # attached | standalone | trailing (placed by okxbot once its entry filled)
    Column("ord_type", String(20), nullable=False),
    Column("side", String(4), nullable=False),  # the side of the order it places when it fires
    Column("pos_side", String(8), nullable=False),
    Column("size", String(40), nullable=True),  # contracts; None: the entry's filled size
    Column("stop_loss", String(40), nullable=True),
    Column("take_profit", String(40), nullable=True),
    Column("trigger_type", String(8), nullable=False),
    Column("state", String(16), nullable=False),
    Column("algo_id", String(40), nullable=True),
    Column("note", String(300), nullable=False),
    Column("created_ms", BigInteger, nullable=False),
    Column("updated_ms", BigInteger, nullable=False),
)
trailing_table = Table(
    "swap_trailing",
    metadata,
    Column("algo_client_id", String(32), primary_key=True),
    Column("callback_ratio", String(40), nullable=True),
    Column("callback_spread", String(40), nullable=True),
    Column("active_px", String(40), nullable=True),
    Column("sent_ms", BigInteger, nullable=True),  # when okxbot last sent it to OKX; None: never
)
positions_table = Table(
    "swap_positions",
    metadata,
    Column("bot", String(64), primary_key=True),
    Column("symbol", String(32), primary_key=True),
    Column("pos_side", String(8), primary_key=True),
    Column("contracts", String(40), nullable=False),  # signed in net mode; what the bot's fills add up to
    Column("updated_ms", BigInteger, nullable=False),
)
# which journaled fills the position rows include: a fill and its position move are two commits (the
# fill is the order journal's), so a crash between them is healed at the next start by applying the
# fills not listed here (`catch_up_positions`), and a fill is never applied twice
position_fills_table = Table(
    "swap_position_fills",
    metadata,
    Column("symbol", String(32), primary_key=True),
    Column("trade_id", String(40), primary_key=True),  # as the journal's fills: unique per instrument
    Column("bot", String(64), nullable=False, index=True),
)
funding_table = Table(
    "swap_funding",
    metadata,
    Column("bot", String(64), primary_key=True),
    Column("bill_id", String(40), primary_key=True),
    Column("symbol", String(32), nullable=False),
    Column("amount", String(40), nullable=False),  # settle currency; negative = paid
    Column("ts_ms", BigInteger, nullable=False),
)


@dataclass(frozen=True)
class SwapOrderFields:
    client_order_id: str
    symbol: str
    pos_side: str
    td_mode: str
    reduce_only: bool
    attach_algo_client_id: str | None
    origin: str = "bot"


@dataclass(frozen=True)
class JournalAlgo:
    algo_client_id: str
    symbol: str
    entry_client_order_id: str | None
    kind: str
    ord_type: str
    side: str
    pos_side: str
    size: Decimal | None
    stop_loss: Decimal | None
    take_profit: Decimal | None
    trigger_type: str
    state: str
    algo_id: str | None
    note: str = ""
    created_ms: int = 0  # when it was journaled (local clock)

    @property
    def is_final(self) -> bool:
        return self.state in ALGO_FINAL

    @property
    def protects(self) -> str:
        """The position side it closes: long (a sell) or short (a buy); posSide in long/short mode."""
        if self.pos_side in ("long", "short"):
            return self.pos_side
        return "long" if self.side == "sell" else "short"


@dataclass(frozen=True)
class FundingPayment:
    """One funding settlement of the bot's position (OKX bill type 8): `amount` < 0 paid, > 0 received."""

    symbol: str
    bill_id: str
    amount: Decimal
    ts_ms: int


def _s(value: Decimal | None) -> str | None:
    return None if value is None else format(value, "f")


def _d(value: str | None) -> Decimal | None:
    return None if value is None else Decimal(value)


def signed_contracts(side: str, size: Decimal, pos_side: str) -> Decimal:
    """A fill's move of its position: net mode signed (a sell lowers it); long/short mode sizes are >= 0,
    so a sell opens (grows) a short."""
    signed = size if side == "buy" else -size
    return -signed if pos_side == "short" else signed


def _now_ms() -> int:
    return int(time.time() * 1000)


class SwapJournal:
    """One bot's swap rows, in the order journal's database (`engine`)."""

    def __init__(self, engine: Engine, bot: str) -> None:
        self.engine = engine
        self.bot = bot
        metadata.create_all(engine)

    # ---- writes (committed before they return) -----------------------------------------------------
    def record_order(
        self,
        fields: SwapOrderFields,
        attached: Sequence[JournalAlgo] = (),
        trailing: tuple[JournalAlgo, TrailingSpec] | None = None,
    ) -> None:
        """The swap fields of an order, its attached algo and the trailing stop that follows it (state
        expected), in one commit."""
        with self.engine.begin() as conn:
            if trailing is not None:
                algo, spec = trailing
                conn.execute(insert(algos_table), self._algo_row(algo))
                conn.execute(
                    insert(trailing_table),
                    {
                        "algo_client_id": algo.algo_client_id,
                        "callback_ratio": _s(spec.callback_ratio),
                        "callback_spread": _s(spec.callback_spread),
                        "active_px": _s(spec.activation_price),
                        "sent_ms": None,
                    },
                )
            conn.execute(
                insert(swap_orders_table),
                {
                    "client_order_id": fields.client_order_id,
                    "bot": self.bot,
                    "symbol": fields.symbol,
                    "pos_side": fields.pos_side,
                    "td_mode": fields.td_mode,
                    "reduce_only": "true" if fields.reduce_only else "false",
                    "attach_algo_client_id": fields.attach_algo_client_id,
                    "origin": fields.origin,
                },
            )
            for algo in attached:
                conn.execute(insert(algos_table), self._algo_row(algo))

    def record_algo(self, algo: JournalAlgo) -> None:
        with self.engine.begin() as conn:
            conn.execute(insert(algos_table), self._algo_row(algo))

    def _algo_row(self, a: JournalAlgo) -> dict[str, Any]:
        now = _now_ms()
        return {
            "algo_client_id": a.algo_client_id,
            "bot": self.bot,
            "symbol": a.symbol,
            "entry_client_order_id": a.entry_client_order_id,
            "kind": a.kind,
            "ord_type": a.ord_type,
            "side": a.side,
            "pos_side": a.pos_side,
            "size": _s(a.size),
            "stop_loss": _s(a.stop_loss),
            "take_profit": _s(a.take_profit),
            "trigger_type": a.trigger_type,
            "state": a.state,
            "algo_id": a.algo_id,
            "note": a.note[:300],
            "created_ms": now,
            "updated_ms": now,
        }

    def algo_state(
        self,
        algo_client_id: str,
        state: str,
        *,
        algo_id: str | None = None,
        note: str = "",
        size: Decimal | None = None,
    ) -> bool:
        """Move an algo to `state` (never out of a final one); False when nothing changed."""
        if state not in ALGO_STATES:
            raise ValueError(f"unknown algo state {state!r}")
        current = self.algo(algo_client_id)
        if current is None or current.is_final or (current.state == state and not algo_id and size is None):
            return False
        values: dict[str, Any] = {"state": state, "updated_ms": _now_ms()}
        if algo_id:
            values["algo_id"] = algo_id
        if note:
            values["note"] = note[:300]
        if size is not None:
            values["size"] = _s(size)
        with self.engine.begin() as conn:
            conn.execute(
                update(algos_table).where(algos_table.c.algo_client_id == algo_client_id).values(**values)
            )
        return True

    def trailing_sent(self, algo_client_id: str) -> None:
        """Committed just before the trailing stop is sent (a lost answer is then looked up, not resent)."""
        with self.engine.begin() as conn:
            conn.execute(
                update(trailing_table)
                .where(trailing_table.c.algo_client_id == algo_client_id)
                .values(sent_ms=_now_ms())
            )

    def trailing(self, algo_client_id: str) -> tuple[TrailingSpec, int | None] | None:
        """A trailing stop's callback and activation, and when it was last sent (None: never)."""
        with self.engine.connect() as conn:
            r = conn.execute(
                select(trailing_table).where(trailing_table.c.algo_client_id == algo_client_id)
            ).first()
        if r is None:
            return None
        spec = TrailingSpec(_d(r.callback_ratio), _d(r.callback_spread), _d(r.active_px))
        return spec, r.sent_ms

    def apply_fill(self, fill: JournalFill, pos_side: str) -> bool:
        """Move the position of `pos_side` by a journaled fill, once (False: it was applied already)."""
        try:
            with self.engine.begin() as conn:
                conn.execute(
                    insert(position_fills_table),
                    {"symbol": fill.symbol, "trade_id": fill.trade_id, "bot": self.bot},
                )
                self._move(conn, fill.symbol, pos_side, signed_contracts(fill.side, fill.size, pos_side))
        except IntegrityError:
            return False
        return True

    def catch_up_positions(self, symbol: str) -> int:
        """Apply the bot's journaled fills of `symbol` that its position rows do not include yet (a crash
        fell between a fill's commit and its position move); returns how many. A journal from before
        this bookkeeping (no fill listed) has its positions recomputed from all its fills."""

        applied = position_fills_table
        with self.engine.begin() as conn:
            fresh = (
                conn.execute(
                    select(applied.c.trade_id)
                    .where(applied.c.bot == self.bot)
                    .where(applied.c.symbol == symbol)
                ).first()
                is None
            )
            if fresh:
                conn.execute(
                    update(positions_table)
                    .where(positions_table.c.bot == self.bot)
                    .where(positions_table.c.symbol == symbol)
                    .values(contracts="0", updated_ms=_now_ms())
                )
            missing = conn.execute(
                select(
                    fills_table.c.trade_id,
                    fills_table.c.side,
                    fills_table.c.size,
                    swap_orders_table.c.pos_side,
                )
                .select_from(
                    fills_table.outerjoin(
                        swap_orders_table,
                        swap_orders_table.c.client_order_id == fills_table.c.client_order_id,
                    ).outerjoin(
                        applied,
                        (applied.c.symbol == fills_table.c.symbol)
                        & (applied.c.trade_id == fills_table.c.trade_id),
                    )
                )
                .where(fills_table.c.bot == self.bot)
                .where(fills_table.c.symbol == symbol)
                .where(applied.c.trade_id.is_(None))
            ).all()
            for r in missing:
                pos_side = r.pos_side or "net"
                conn.execute(insert(applied), {"symbol": symbol, "trade_id": r.trade_id, "bot": self.bot})
                self._move(conn, symbol, pos_side, signed_contracts(r.side, Decimal(r.size), pos_side))
        return len(missing)

    def _move(self, conn: Any, symbol: str, pos_side: str, signed: Decimal) -> None:
        where = (
            (positions_table.c.bot == self.bot)
            & (positions_table.c.symbol == symbol)
            & (positions_table.c.pos_side == pos_side)
        )
        held = conn.execute(select(positions_table.c.contracts).where(where)).scalar()
        row = {"contracts": _s((ZERO if held is None else Decimal(held)) + signed), "updated_ms": _now_ms()}
        if held is None:
            conn.execute(
                insert(positions_table), {"bot": self.bot, "symbol": symbol, "pos_side": pos_side, **row}
            )
        else:
            conn.execute(update(positions_table).where(where).values(**row))

    def add_funding(self, payment: FundingPayment) -> bool:
        """Record a funding payment once (by billId); False when it is journaled already."""
        try:
            with self.engine.begin() as conn:
                conn.execute(
                    insert(funding_table),
                    {
                        "bot": self.bot,
                        "bill_id": payment.bill_id,
                        "symbol": payment.symbol,
                        "amount": _s(payment.amount),
                        "ts_ms": payment.ts_ms,
                    },
                )
        except IntegrityError:
            return False
        return True

    # ---- reads ----------------------------------------------------------------------------------------
    def order_fields(self, client_order_id: str) -> SwapOrderFields | None:
        with self.engine.connect() as conn:
            r = conn.execute(
                select(swap_orders_table).where(swap_orders_table.c.client_order_id == client_order_id)
            ).first()
        if r is None:
            return None
        return SwapOrderFields(
            r.client_order_id, r.symbol, r.pos_side, r.td_mode, r.reduce_only == "true",
            r.attach_algo_client_id, r.origin,
        )  # fmt: skip

    def algo(self, algo_client_id: str) -> JournalAlgo | None:
        with self.engine.connect() as conn:
            r = conn.execute(
                select(algos_table).where(algos_table.c.algo_client_id == algo_client_id)
            ).first()
        return None if r is None else _algo(r)

    def algos(self, *, final: bool | None = None) -> list[JournalAlgo]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(algos_table).where(algos_table.c.bot == self.bot).order_by(algos_table.c.created_ms)
            ).all()
        found = [_algo(r) for r in rows]
        return found if final is None else [a for a in found if a.is_final == final]

    def positions(self, symbol: str) -> dict[str, Decimal]:
        """pos_side -> contracts, as the bot's journaled fills add up (flat sides included)."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(positions_table)
                .where(positions_table.c.bot == self.bot)
                .where(positions_table.c.symbol == symbol)
            ).all()
        return {r.pos_side: Decimal(r.contracts) for r in rows}

    def first_order_ms(self) -> int | None:
        """When the bot journaled its first order (funding bills before it are not the bot's)."""
        from sqlalchemy import func

        with self.engine.connect() as conn:
            first = conn.execute(
                select(func.min(orders_table.c.created_ms)).where(orders_table.c.bot == self.bot)
            ).scalar()
        return None if first is None else int(first)

    def funding(self, since_ms: int = 0) -> list[FundingPayment]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(funding_table)
                .where(funding_table.c.bot == self.bot)
                .where(funding_table.c.ts_ms >= since_ms)
                .order_by(funding_table.c.ts_ms)
            ).all()
        return [FundingPayment(r.symbol, r.bill_id, Decimal(r.amount), r.ts_ms) for r in rows]


def _algo(r: Any) -> JournalAlgo:
    return JournalAlgo(
        r.algo_client_id, r.symbol, r.entry_client_order_id, r.kind, r.ord_type, r.side, r.pos_side,
        _d(r.size), _d(r.stop_loss), _d(r.take_profit), r.trigger_type, r.state, r.algo_id, r.note,
        r.created_ms,
    )  # fmt: skip
