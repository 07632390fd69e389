"""The write-ahead order journal: every order state change is stored before okxbot acts on it.

SQLite (default, under the data directory) or PostgreSQL (by URL), through SQLAlchemy 2 Core.
Amounts are stored as their exact decimal strings, so SQLite's float affinity never rounds money.
SQLite runs in WAL mode with synchronous=NORMAL: a committed row is in the OS before commit returns, so
it survives SIGKILL of the bot (tested); only a power loss can drop the last commits, and reconciliation
then finds those orders on OKX by their okxbot clOrdIds. OKXBOT_JOURNAL_SYNC=FULL trades ~1 ms per
order for power-loss durability too.

SQLite's automatic WAL checkpoint runs inside whichever commit crosses 1000 pages and copies the log
into the database file with an fsync: 10+ ms, on the write-ahead path of about one order in a
hundred. So the journal turns it off on its connections and a background thread checkpoints every
second instead (PASSIVE: it never blocks a writer; sqlite3 releases the GIL while it works).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Integer,
    MetaData,
    String,
    Table,
    bindparam,
    create_engine,
    event,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from okxbot.okx.models import ACCEPTED

log = logging.getLogger(__name__)

# intent -> sent -> live -> partially_filled -> filled | canceled | rejected; unknown after an ambiguous
# answer (resolved by clOrdId); cancel_pending / amend_pending after OKX accepted a cancel / an amend
# that has not taken effect yet (OKX acknowledges before its matching engine acts: fills can land)
STATES = (
    "intent",
    "sent",
    "unknown",
    "live",
    "partially_filled",
    "cancel_pending",
    "amend_pending",
    "filled",
    "canceled",
    "rejected",
)
FINAL = frozenset({"filled", "canceled", "rejected"})
OPEN = frozenset({"intent", "sent", "unknown", "live", "partially_filled", "cancel_pending", "amend_pending"})
# a request OKX accepted whose effect is not confirmed by the order's state yet
PENDING = frozenset({"cancel_pending", "amend_pending"})
_ON_BOOK = frozenset({"live", "partially_filled"})
_NEXT: dict[str, frozenset[str]] = {
    "intent": frozenset({"sent", "rejected", "unknown"}),
    "sent": frozenset({"live", "partially_filled", "filled", "canceled", "rejected", "unknown"}),
    "unknown": frozenset({"live", "partially_filled", "filled", "canceled", "rejected"}),
    "live": frozenset({"partially_filled", "filled", "canceled", "cancel_pending", "amend_pending"}),
    "partially_filled": frozenset(
        {"partially_filled", "filled", "canceled", "cancel_pending", "amend_pending"}
    ),
    "cancel_pending": frozenset({"filled", "canceled"}),
    "amend_pending": frozenset({"filled", "canceled", "cancel_pending"}),
}
# Leaving a pending state without the order's state having moved on: the cancel or amend did not take
# effect (the amend failed, or its deadline passed with the order unchanged). Only the order manager
# decides this (`Journal.transition(..., settled=True)`); a report alone never undoes a pending state.
_SETTLED: dict[str, frozenset[str]] = {
    "cancel_pending": _ON_BOOK,
    "amend_pending": _ON_BOOK,
}

# OKX order states -> journal states. mmp_canceled is a cancel for a spot bot's purposes; an order
# acknowledged without its state read back is at least live (a later report moves it further, and
# the journal never moves an order backwards).
_FROM_OKX = {
    "live": "live",
    "partially_filled": "partially_filled",
    "filled": "filled",
    "canceled": "canceled",
    "mmp_canceled": "canceled",
    ACCEPTED: "live",
}


def journal_state(okx_state: str) -> str | None:
    """The journal state of an OKX order state (None for states the journal does not track)."""
    return _FROM_OKX.get(okx_state)


def reported_state(current: str, okx_state: str) -> str | None:
    """Where an order report (push or lookup) with `okx_state` moves an order now in `current`.

    While a cancel or an amend is pending, a report that the order is still on the book keeps it
    pending (its filled amount still counts): only canceled or filled end a pending cancel, and only
    the order manager, seeing the amendment applied or refused, ends a pending amend."""
    state = journal_state(okx_state)
    if current in PENDING and state in _ON_BOOK:
        return current
    return state


def changes(
    current: str, current_filled: Decimal, state: str, filled: Decimal | None, *, settled: bool = False
) -> bool:
    """Whether moving an order from `current` to `state` (with `filled`, None = unchanged) is a
    change the journal records: forward moves and new fill amounts. Going backwards (a late "live"
    push after "filled") is not: the two update paths race, and the journal keeps the furthest state.
    `settled`: the order manager ends a pending cancel / amend that did not take effect."""
    if current == state:
        # an order's filled amount only grows: a smaller one is a stale report
        return filled is not None and filled > current_filled
    if settled and state in _SETTLED.get(current, frozenset()):
        return True
    return state in _NEXT.get(current, frozenset())


metadata = MetaData()
orders_table = Table(
    "orders",
    metadata,
    Column("client_order_id", String(32), primary_key=True),
    Column("bot", String(64), nullable=False, index=True),
    Column("symbol", String(32), nullable=False),
    Column("side", String(4), nullable=False),
    Column("amount", String(40), nullable=False),
    Column("price", String(40), nullable=True),
    Column("state", String(20), nullable=False),
    Column("order_id", String(40), nullable=True),
    Column("filled", String(40), nullable=False, default="0"),
    Column("origin", String(10), nullable=False, default="bot"),  # bot | foreign
    Column("created_ms", BigInteger, nullable=False),
    Column("updated_ms", BigInteger, nullable=False),
)
transitions_table = Table(
    "transitions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("client_order_id", String(32), nullable=False, index=True),
    Column("from_state", String(20), nullable=True),
    Column("to_state", String(20), nullable=False),
    Column("note", String(300), nullable=False, default=""),
    Column("ts_ms", BigInteger, nullable=False),
)
fills_table = Table(
    "fills",
    metadata,
    Column("symbol", String(32), primary_key=True),
    Column("trade_id", String(40), primary_key=True),  # OKX tradeIds are unique per instrument
    Column("bot", String(64), nullable=False, index=True),
    Column("client_order_id", String(32), nullable=False),
    Column("order_id", String(40), nullable=False),
    Column("side", String(4), nullable=False),
    Column("price", String(40), nullable=False),
    Column("size", String(40), nullable=False),
    Column("fee", String(40), nullable=False),  # OKX sign: negative = charged
    Column("fee_ccy", String(16), nullable=False),
    Column("ts_ms", BigInteger, nullable=False),
)


# Built once: the write-ahead path runs these for every order, and SQLAlchemy then reuses their
# compiled form instead of building and hashing a new statement each time.
_INSERT_ORDER = insert(orders_table)
_INSERT_TRANSITION = insert(transitions_table)
_INSERT_FILL = insert(fills_table)
# the same two inserts for the DBAPI (`Journal._write_ahead` on SQLite; sqlite3's named style)
_SQL_INSERT_ORDER = (
    "INSERT INTO orders (client_order_id, bot, symbol, side, amount, price, state, order_id, filled, origin,"
    " created_ms, updated_ms) VALUES (:client_order_id, :bot, :symbol, :side, :amount, :price, :state,"
    " :order_id, :filled, :origin, :created_ms, :updated_ms)"
)
_SQL_INSERT_TRANSITION = (
    "INSERT INTO transitions (client_order_id, from_state, to_state, note, ts_ms)"
    " VALUES (:client_order_id, :from_state, :to_state, :note, :ts_ms)"
)
_ORDER = select(orders_table).where(orders_table.c.client_order_id == bindparam("cid"))
_STATE_OF = select(orders_table.c.state, orders_table.c.filled).where(
    orders_table.c.client_order_id == bindparam("cid")
)
_UPDATE_ORDER = (
    update(orders_table)
    .where(orders_table.c.client_order_id == bindparam("cid"))
    .values(
        state=bindparam("state"),
        updated_ms=bindparam("updated_ms"),
        order_id=func.coalesce(bindparam("new_order_id", type_=String), orders_table.c.order_id),
        filled=func.coalesce(bindparam("new_filled", type_=String), orders_table.c.filled),
        # an amendment that took effect: the order's price / amount as OKX now has them
        price=func.coalesce(bindparam("new_price", type_=String), orders_table.c.price),
        amount=func.coalesce(bindparam("new_amount", type_=String), orders_table.c.amount),
    )
)


class JournalError(Exception):
    """A transition the state machine does not allow, or an order the journal does not know."""


@dataclass(frozen=True)
class JournalOrder:
    client_order_id: str
    bot: str
    symbol: str
    side: str
    amount: Decimal
    price: Decimal | None
    state: str
    order_id: str | None
    filled: Decimal
    origin: str

    @property
    def is_open(self) -> bool:
        return self.state in OPEN


@dataclass(frozen=True)
class NewOrder:
    """An intent to record (`Journal.record_intents`)."""

    client_order_id: str
    symbol: str
    side: str
    amount: Decimal
    price: Decimal | None


@dataclass(frozen=True)
class JournalFill:
    symbol: str
    trade_id: str
    client_order_id: str
    order_id: str
    side: str
    price: Decimal
    size: Decimal
    fee: Decimal
    fee_ccy: str
    ts_ms: int


def default_url(data_dir: Path) -> str:
    data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    return f"sqlite:///{data_dir / 'journal.sqlite'}"


def journaled_client_ids(url: str) -> set[str]:
    """Every clOrdId any okxbot bot or command journaled in the database at `url` (all bots)."""
    engine = create_engine(url, future=True)
    try:
        metadata.create_all(engine)
        with engine.connect() as conn:
            return {row[0] for row in conn.execute(select(orders_table.c.client_order_id))}
    finally:
        engine.dispose()


def _now_ms() -> int:
    return int(time.time() * 1000)


def _s(value: Decimal | None) -> str | None:
    return None if value is None else format(value, "f")


class Journal:
    """One bot's orders, their transitions and fills, in a SQL database shared by any number of bots."""

    def __init__(self, url: str, bot: str) -> None:
        self.bot = bot
        self.url = url
        sqlite = self._sqlite = url.startswith("sqlite")
        self._writer: Any = None  # the write-ahead's own DBAPI connection (SQLite)
        # a server connection can go stale between orders (ping it on checkout); a file cannot, and
        # the ping would cost every write-ahead commit a round trip
        self.engine: Engine = create_engine(url, future=True, pool_pre_ping=not sqlite)
        if sqlite:
            event.listen(self.engine, "connect", _sqlite_pragmas)
        metadata.create_all(self.engine)
        self._checkpointer = _Checkpointer(self.engine) if sqlite else None

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        if self._checkpointer is not None:
            self._checkpointer.stop()
        self.engine.dispose()

    # ---- writes (each one committed before it returns: write-ahead) ---------------------------
    def record_intents(self, intents: Sequence[NewOrder], *, state: str = "intent") -> None:
        """Record several intents in one commit (a wave of orders sent together)."""
        if not intents:
            return
        now = _now_ms()
        self._write_ahead(
            [
                {
                    "client_order_id": o.client_order_id,
                    "bot": self.bot,
                    "symbol": o.symbol,
                    "side": o.side,
                    "amount": _s(o.amount),
                    "price": _s(o.price),
                    "state": state,
                    "order_id": None,
                    "filled": "0",
                    "origin": "bot",
                    "created_ms": now,
                    "updated_ms": now,
                }
                for o in intents
            ],
            [
                {
                    "client_order_id": o.client_order_id,
                    "from_state": None,
                    "to_state": state,
                    "note": "bot",
                    "ts_ms": now,
                }
                for o in intents
            ],
        )

    def record_intent(
        self,
        client_order_id: str,
        symbol: str,
        side: str,
        amount: Decimal,
        price: Decimal | None,
        *,
        origin: str = "bot",
        state: str = "intent",
        order_id: str | None = None,
        filled: Decimal = Decimal(0),
    ) -> None:
        now = _now_ms()
        self._write_ahead(
            [
                {
                    "client_order_id": client_order_id,
                    "bot": self.bot,
                    "symbol": symbol,
                    "side": side,
                    "amount": _s(amount),
                    "price": _s(price),
                    "state": state,
                    "order_id": order_id,
                    "filled": _s(filled),
                    "origin": origin,
                    "created_ms": now,
                    "updated_ms": now,
                }
            ],
            [
                {
                    "client_order_id": client_order_id,
                    "from_state": None,
                    "to_state": state,
                    "note": origin,
                    "ts_ms": now,
                }
            ],
        )

    def _write_ahead(self, orders: list[dict[str, Any]], transitions: list[dict[str, Any]]) -> None:
        """Commit new orders and their first transitions. On SQLite through the DBAPI connection
        itself: SQLAlchemy's per-statement work was half of this commit, which every order waits for
        between the strategy's decision and the request (bench/bench_latency.py, stage "journal")."""
        if not self._sqlite:
            with self.engine.begin() as conn:
                conn.execute(_INSERT_ORDER, orders)
                conn.execute(_INSERT_TRANSITION, transitions)
            return
        if self._writer is None:  # one connection kept for these commits: no pool round trip
            self._writer = self.engine.raw_connection()
        conn = self._writer
        try:
            cursor = conn.cursor()
            cursor.executemany(_SQL_INSERT_ORDER, orders)
            cursor.executemany(_SQL_INSERT_TRANSITION, transitions)
            conn.commit()
        except BaseException:
            conn.rollback()
            raise

    def transition(
        self,
        client_order_id: str,
        state: str,
        *,
        order_id: str | None = None,
        filled: Decimal | None = None,
        note: str = "",
        price: Decimal | None = None,
        amount: Decimal | None = None,
        settled: bool = False,
    ) -> bool:
        """Move an order to `state`; False (and nothing written) unless that `changes` it.

        `price` / `amount`: the order's new values once an amendment took effect. `settled`: end a
        pending cancel / amend that did not take effect (see `changes`)."""
        if state not in STATES:
            raise JournalError(f"unknown order state {state!r}")
        with self.engine.begin() as conn:
            row = conn.execute(_STATE_OF, {"cid": client_order_id}).first()
            if row is None:
                raise JournalError(f"order {client_order_id} is not in the journal")
            current = row.state
            amended = price is not None or amount is not None
            if not changes(current, Decimal(row.filled), state, filled, settled=settled) and not (
                amended and state == current and current not in FINAL
            ):
                return False
            now = _now_ms()
            conn.execute(
                _UPDATE_ORDER,
                {
                    "cid": client_order_id,
                    "state": state,
                    "updated_ms": now,
                    # None keeps the stored value (COALESCE in the statement)
                    "new_order_id": order_id or None,
                    "new_filled": None if filled is None else _s(filled),
                    "new_price": _s(price),
                    "new_amount": _s(amount),
                },
            )
            conn.execute(
                _INSERT_TRANSITION,
                {
                    "client_order_id": client_order_id,
                    "from_state": current,
                    "to_state": state,
                    "note": note[:300],
                    "ts_ms": now,
                },
            )
        return True

    def add_fill(self, fill: JournalFill) -> bool:
        """Record a fill once: False when this tradeId is already journaled (both paths reported it)."""
        try:
            with self.engine.begin() as conn:
                conn.execute(
                    _INSERT_FILL,
                    {
                        "symbol": fill.symbol,
                        "trade_id": fill.trade_id,
                        "bot": self.bot,
                        "client_order_id": fill.client_order_id,
                        "order_id": fill.order_id,
                        "side": fill.side,
                        "price": _s(fill.price),
                        "size": _s(fill.size),
                        "fee": _s(fill.fee),
                        "fee_ccy": fill.fee_ccy,
                        "ts_ms": fill.ts_ms,
                    },
                )
        except IntegrityError:
            return False
        return True

    # ---- reads ----------------------------------------------------------------------------------
    def orders(
        self, states: Iterable[str] | None = None, *, origin: str | None = "bot"
    ) -> list[JournalOrder]:
        query = select(orders_table).where(orders_table.c.bot == self.bot)
        if states is not None:
            query = query.where(orders_table.c.state.in_(list(states)))
        if origin is not None:
            query = query.where(orders_table.c.origin == origin)
        with self.engine.connect() as conn:
            rows = conn.execute(query.order_by(orders_table.c.created_ms)).all()
        return [_order(r) for r in rows]

    def order(self, client_order_id: str) -> JournalOrder | None:
        with self.engine.connect() as conn:
            row = conn.execute(_ORDER, {"cid": client_order_id}).first()
        return None if row is None else _order(row)

    def open_orders(self) -> list[JournalOrder]:
        return self.orders(OPEN)

    def fills(self) -> list[JournalFill]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(fills_table).where(fills_table.c.bot == self.bot).order_by(fills_table.c.ts_ms)
            ).all()
        return [
            JournalFill(
                r.symbol,
                r.trade_id,
                r.client_order_id,
                r.order_id,
                r.side,
                Decimal(r.price),
                Decimal(r.size),
                Decimal(r.fee),
                r.fee_ccy,
                r.ts_ms,
            )
            for r in rows
        ]

    def history(self, client_order_id: str) -> list[str]:
        """The states an order went through, in order (for audits and tests)."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(transitions_table.c.to_state)
                .where(transitions_table.c.client_order_id == client_order_id)
                .order_by(transitions_table.c.id)
            ).all()
        return [r.to_state for r in rows]


def _order(r: object) -> JournalOrder:
    return JournalOrder(
        r.client_order_id,  # type: ignore[attr-defined]
        r.bot,  # type: ignore[attr-defined]
        r.symbol,  # type: ignore[attr-defined]
        r.side,  # type: ignore[attr-defined]
        Decimal(r.amount),  # type: ignore[attr-defined]
        None if r.price is None else Decimal(r.price),  # type: ignore[attr-defined]
        r.state,  # type: ignore[attr-defined]
        r.order_id,  # type: ignore[attr-defined]
        Decimal(r.filled),  # type: ignore[attr-defined]
        r.origin,  # type: ignore[attr-defined]
    )


class _Checkpointer:
    """Checkpoints a SQLite journal's WAL every `every_s` seconds, off the event loop's thread."""

    def __init__(self, engine: Engine, every_s: float = 1.0) -> None:
        self._engine = engine
        self._every_s = every_s
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name="okxbot-journal-checkpoint", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stopped.wait(self._every_s):
            self.checkpoint()

    def checkpoint(self) -> None:
        try:
            with self._engine.connect() as conn:
                conn.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)")
        except Exception as err:  # a busy or closing database: the next round tries again
            log.debug("journal checkpoint skipped: %s", err)

    def stop(self) -> None:
        self._stopped.set()
        self._thread.join(10)
        self.checkpoint()  # leave a short WAL behind


def _sqlite_pragmas(dbapi_conn: object, _record: object) -> None:
    cursor = dbapi_conn.cursor()  # type: ignore[attr-defined]
    # WAL: readers (status, tests) never block the bot; see the module docstring for the sync level
    cursor.execute("PRAGMA journal_mode=WAL")
    sync = "FULL" if os.environ.get("OKXBOT_JOURNAL_SYNC", "").upper() == "FULL" else "NORMAL"
    cursor.execute(f"PRAGMA synchronous={sync}")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.execute("PRAGMA wal_autocheckpoint=0")  # `_Checkpointer` does it, off the order path
    cursor.close()
