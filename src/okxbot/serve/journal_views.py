"""Orders and fills from the journal, filtered and paged, for the API and the dashboard's tables."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import and_, func, select
from sqlalchemy.engine import Engine

from okxbot.serve.snapshot import dec_str
from okxbot.trading.journal import FINAL, OPEN, STATES, fills_table, metadata, orders_table

MAX_LIMIT = 500


class QueryError(ValueError):
    """A filter the journal cannot apply; the message names it."""


class JournalViews:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        metadata.create_all(engine)  # a fresh database has no journal yet

    def orders(
        self,
        *,
        bot: str | None = None,
        state: str | None = None,
        side: str | None = None,
        symbol: str | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> dict[str, Any]:
        """Newest first. `state`: a journal state, or "open" / "final"."""
        c = orders_table.c
        where = []
        if bot:
            where.append(c.bot == bot)
        if state:
            if state == "open":
                where.append(c.state.in_(sorted(OPEN)))
            elif state == "final":
                where.append(c.state.in_(sorted(FINAL)))
            elif state in STATES:
                where.append(c.state == state)
            else:
                raise QueryError(f"state must be open, final or one of {', '.join(STATES)}")
        if side:
            if side not in ("buy", "sell"):
                raise QueryError("side must be buy or sell")
            where.append(c.side == side)
        if symbol:
            where.append(c.symbol == symbol)
        limit, offset = _page(limit, offset)
        cond = and_(True, *where)
        with self.engine.connect() as conn:
            total = conn.execute(select(func.count()).select_from(orders_table).where(cond)).scalar_one()
            rows = conn.execute(
                select(orders_table)
                .where(cond)
                .order_by(c.created_ms.desc(), c.client_order_id)
                .limit(limit)
                .offset(offset)
            ).all()
        items = [
            {
                "client_order_id": r.client_order_id,
                "order_id": r.order_id,
                "bot": r.bot,
                "symbol": r.symbol,
                "side": r.side,
                "price": dec_str(Decimal(r.price)) if r.price is not None else None,
                "amount": dec_str(Decimal(r.amount)),
                "filled": dec_str(Decimal(r.filled)),
                "state": r.state,
                "origin": r.origin,
                "created_ms": int(r.created_ms),
                "updated_ms": int(r.updated_ms),
            }
            for r in rows
        ]
        return _paged(items, total, limit, offset)

    def fills(
        self,
        *,
        bot: str | None = None,
        symbol: str | None = None,
        side: str | None = None,
        since_ms: int | None = None,
        until_ms: int | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> dict[str, Any]:
        """Newest first."""
        c = fills_table.c
        where = []
        if bot:
            where.append(c.bot == bot)
        if symbol:
            where.append(c.symbol == symbol)
        if side:
            if side not in ("buy", "sell"):
                raise QueryError("side must be buy or sell")
            where.append(c.side == side)
        if since_ms is not None:
            where.append(c.ts_ms >= since_ms)
        if until_ms is not None:
            where.append(c.ts_ms < until_ms)
        limit, offset = _page(limit, offset)
        cond = and_(True, *where)
        with self.engine.connect() as conn:
            total = conn.execute(select(func.count()).select_from(fills_table).where(cond)).scalar_one()
            rows = conn.execute(
                select(fills_table)
                .where(cond)
                .order_by(c.ts_ms.desc(), c.trade_id)
                .limit(limit)
                .offset(offset)
            ).all()
        items = [
            {
                "trade_id": r.trade_id,
                "bot": r.bot,
                "symbol": r.symbol,
                "client_order_id": r.client_order_id,
                "order_id": r.order_id,
                "side": r.side,
                "price": dec_str(Decimal(r.price)),
                "size": dec_str(Decimal(r.size)),
                "fee": dec_str(Decimal(r.fee)),
                "fee_ccy": r.fee_ccy,
                "ts_ms": int(r.ts_ms),
            }
            for r in rows
        ]
        return _paged(items, total, limit, offset)

    def journal_status(self) -> list[dict[str, Any]]:
        """Per bot: orders by state (open ones, the unresolved among them), fills."""
        c = orders_table.c
        with self.engine.connect() as conn:
            by_state = conn.execute(select(c.bot, c.state, func.count()).group_by(c.bot, c.state)).all()
            fills = dict(
                conn.execute(select(fills_table.c.bot, func.count()).group_by(fills_table.c.bot)).all()  # type: ignore[arg-type]
            )
        bots: dict[str, dict[str, Any]] = {}
        for bot, state, count in by_state:
            entry = bots.setdefault(bot, {"bot": bot, "states": {}, "open": 0, "unresolved": 0, "fills": 0})
            entry["states"][state] = int(count)
            if state in OPEN:
                entry["open"] += int(count)
            if state in ("intent", "unknown"):
                entry["unresolved"] += int(count)
        for bot, count in fills.items():
            bots.setdefault(bot, {"bot": bot, "states": {}, "open": 0, "unresolved": 0, "fills": 0})
            bots[bot]["fills"] = int(count)
        return sorted(bots.values(), key=lambda b: b["bot"])


def _page(limit: int, offset: int) -> tuple[int, int]:
    if not 1 <= limit <= MAX_LIMIT:
        raise QueryError(f"limit must be 1..{MAX_LIMIT}")
    if offset < 0:
        raise QueryError("offset must be >= 0")
    return limit, offset


def _paged(items: list[dict[str, Any]], total: int, limit: int, offset: int) -> dict[str, Any]:
    following = offset + len(items)
    return {
        "items": items,
        "total": int(total),
        "limit": limit,
        "offset": offset,
        "next_offset": following if following < total else None,
    }
