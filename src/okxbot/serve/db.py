"""The engine of the serve tables (the journal's database URL)."""

from __future__ import annotations

import time
from pathlib import Path

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine

from okxbot.serve.tables import metadata
from okxbot.trading.journal import default_url


def database_url(url: str | None, home: Path) -> str:
    """The serve database: `url` (sqlite:///... or postgresql+psycopg://...), else the journal's default."""
    return url or default_url(home)


def open_engine(url: str) -> Engine:
    """An engine for the serve tables (created when missing). SQLite: WAL, and connections usable from
    the API's worker threads."""
    sqlite = url.startswith("sqlite")
    engine = create_engine(
        url,
        future=True,
        pool_pre_ping=not sqlite,
        connect_args={"check_same_thread": False} if sqlite else {},
    )
    if sqlite:
        event.listen(engine, "connect", _sqlite_pragmas)
    metadata.create_all(engine)
    return engine


def now_ms() -> int:
    return int(time.time() * 1000)


def _sqlite_pragmas(dbapi_conn: object, _record: object) -> None:
    cursor = dbapi_conn.cursor()  # type: ignore[attr-defined]
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()
