"""The write-ahead journal on SQLite (default) and a real PostgreSQL server."""

from __future__ import annotations

import subprocess
import sys
import uuid
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import pytest

from okxbot.trading.journal import Journal, JournalError, JournalFill, default_url, reported_state


@pytest.fixture(params=["sqlite", "postgres"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return default_url(tmp_path / "data")
    server = request.getfixturevalue("postgres")
    return server.url


def fill(trade_id: str, cid: str = "c1", size: str = "0.4") -> JournalFill:
    return JournalFill(
        "BTC/USDT",
        trade_id,
        cid,
        "o1",
        "buy",
        Decimal("43000.1"),
        Decimal(size),
        Decimal("-0.0004"),
        "BTC",
        1,
    )


def test_order_goes_through_its_states_and_is_stored_exactly(url: str) -> None:
    j = Journal(url, "bot-a")
    j.record_intent("c1", "BTC/USDT", "buy", Decimal("0.00100000"), Decimal("43000.1"))
    assert j.transition("c1", "sent")
    assert j.transition("c1", "live", order_id="o1")
    assert j.transition("c1", "partially_filled", filled=Decimal("0.0004"))
    assert j.transition("c1", "filled", filled=Decimal("0.001"))
    order = j.order("c1")
    assert order is not None
    assert (order.state, order.order_id, order.filled, order.price) == (
        "filled",
        "o1",
        Decimal("0.001"),
        Decimal("43000.1"),
    )
    assert j.history("c1") == ["intent", "sent", "live", "partially_filled", "filled"]
    assert j.open_orders() == []
    j.close()


def test_late_or_backward_updates_do_not_reopen_a_final_order(url: str) -> None:
    j = Journal(url, "bot-b")
    j.record_intent("c2", "BTC/USDT", "sell", Decimal("1"), Decimal("50000"), state="sent")
    assert j.transition("c2", "canceled")
    assert not j.transition("c2", "live")  # a stale push from the other update path
    assert j.order("c2").state == "canceled"  # type: ignore[union-attr]
    with pytest.raises(JournalError, match="not in the journal"):
        j.transition("nope", "live")
    j.close()


def test_unknown_outcome_is_resolved_later(url: str) -> None:
    j = Journal(url, "bot-c")
    j.record_intent("c3", "BTC/USDT", "buy", Decimal("1"), Decimal("1"), state="sent")
    assert j.transition("c3", "unknown", note="timeout")
    assert [o.client_order_id for o in j.open_orders()] == ["c3"]
    assert j.transition("c3", "live", order_id="o3")
    assert j.history("c3") == ["sent", "unknown", "live"]
    j.close()


def test_an_accepted_cancel_stays_pending_until_the_order_says_canceled_or_filled(url: str) -> None:
    j = Journal(url, "bot-p")
    j.record_intent("p1", "BTC/USDT", "buy", Decimal("1"), Decimal("100"), state="sent")
    assert j.transition("p1", "live", order_id="o1")
    assert j.transition("p1", "cancel_pending", note="cancel accepted")
    assert [o.client_order_id for o in j.open_orders()] == ["p1"]  # still open: it can fill
    # a push saying "partially filled" meanwhile: the fill counts, the cancel stays pending
    assert reported_state("cancel_pending", "partially_filled") == "cancel_pending"
    assert j.transition("p1", "cancel_pending", filled=Decimal("0.4"))
    assert not j.transition("p1", "live")  # a report alone never undoes the pending cancel
    assert not j.transition("p1", "cancel_pending", filled=Decimal("0.3"))  # stale: fills only grow
    assert j.transition("p1", "filled", filled=Decimal("1"))
    order = j.order("p1")
    assert order is not None and (order.state, order.filled) == ("filled", Decimal("1"))
    assert j.history("p1") == ["sent", "live", "cancel_pending", "cancel_pending", "filled"]
    j.close()


def test_an_amendment_is_pending_until_applied_or_settled_back(url: str) -> None:
    j = Journal(url, "bot-q")
    j.record_intent("q1", "BTC/USDT", "sell", Decimal("2"), Decimal("100"), state="sent")
    assert j.transition("q1", "live", order_id="o1")
    assert j.transition("q1", "amend_pending", note="amend a1 px 101")
    assert reported_state("amend_pending", "live") == "amend_pending"
    assert not j.transition("q1", "live")  # the order manager decides when it took effect
    assert j.transition("q1", "live", price=Decimal("101"), settled=True, note="amendment applied")
    order = j.order("q1")
    assert order is not None and (order.state, order.price, order.amount) == (
        "live",
        Decimal("101"),
        Decimal("2"),
    )
    # a second amendment that never took effect: back on the book as it was
    assert j.transition("q1", "amend_pending")
    assert j.transition("q1", "partially_filled", filled=Decimal("0.5"), settled=True)
    order = j.order("q1")
    assert order is not None and (order.state, order.price) == ("partially_filled", Decimal("101"))
    j.close()


def test_a_fill_reported_twice_is_recorded_once(url: str) -> None:
    j = Journal(url, "bot-d")
    assert j.add_fill(fill("t1"))
    assert not j.add_fill(fill("t1"))  # the REST poll reports what the WebSocket already did
    assert j.add_fill(fill("t2", size="0.6"))
    assert [f.size for f in j.fills()] == [Decimal("0.4"), Decimal("0.6")]
    j.close()


def test_bots_sharing_a_database_see_only_their_orders(url: str) -> None:
    a, b = Journal(url, "bot-e"), Journal(url, "bot-f")
    a.record_intent("e1", "BTC/USDT", "buy", Decimal("1"), Decimal("1"))
    b.record_intent("f1", "BTC/USDT", "buy", Decimal("1"), Decimal("1"))
    assert [o.client_order_id for o in a.orders()] == ["e1"]
    assert [o.client_order_id for o in b.orders()] == ["f1"]
    a.close()
    b.close()


def test_sqlite_commit_survives_sigkill(tmp_path: Path) -> None:
    """A transition committed by a process killed right after it is there when the journal reopens."""
    url = default_url(tmp_path)
    code = (
        "import os, signal\n"
        "from decimal import Decimal\n"
        "from okxbot.trading.journal import Journal\n"
        f"j = Journal({url!r}, 'k')\n"
        "j.record_intent('k1', 'BTC/USDT', 'buy', Decimal('1'), Decimal('2'), state='sent')\n"
        "j.transition('k1', 'live', order_id='x')\n"
        "os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], check=False)
    assert proc.returncode == -9
    j = Journal(url, "k")
    assert j.history("k1") == ["sent", "live"]
    j.close()


def test_sqlite_journal_reaches_the_database_file_without_checkpointing_in_commits(tmp_path: Path) -> None:
    """Commits only append to the WAL (no checkpoint stalls on the order path); a background thread
    copies it into the database file within about a second."""
    import contextlib
    import shutil
    import sqlite3
    import time

    url = default_url(tmp_path / "data")
    j = Journal(url, "ckpt")
    db = Path(url.removeprefix("sqlite:///"))
    try:
        for i in range(1500):  # well past SQLite's automatic checkpoint at 1000 pages
            j.record_intent(f"c{i}", "BTC/USDT", "buy", Decimal("0.001"), Decimal("43000.1"))
        with j.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == 0

        def rows_in_the_file_alone() -> int:
            copy = tmp_path / "main-file-only.sqlite"
            shutil.copy(db, copy)  # the database file alone, as if the WAL were lost
            try:
                with contextlib.closing(sqlite3.connect(copy)) as conn:
                    return int(conn.execute("select count(*) from orders").fetchone()[0])
            except sqlite3.DatabaseError:
                return -1  # copied in the middle of a checkpoint: look again

        # Wait for the checkpoint itself (the rows reaching the file), bounded well above its 1 s period.
        deadline = time.monotonic() + 15
        while (rows := rows_in_the_file_alone()) != 1500 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert rows == 1500
    finally:
        j.close()


def test_a_swap_position_includes_every_journaled_fill_exactly_once(url: str) -> None:
    """The fill commit and the position move are two commits: fills a killed run journaled without
    moving its position are applied at the next start, and none twice (sqlite and PostgreSQL)."""
    from okxbot.trading.swap_journal import SwapJournal, SwapOrderFields

    run = uuid.uuid4().hex[:8]  # the PostgreSQL server is shared by the session's tests
    j = Journal(url, f"perp-{run}")
    swaps = SwapJournal(j.engine, f"perp-{run}")
    swaps.record_order(SwapOrderFields(f"c1{run}", "BTC/USDT", "short", "cross", False, None))
    f1, f2, f3 = (
        fill(f"t1{run}", cid=f"c1{run}", size="1"),
        replace(fill(f"t2{run}", cid=f"c1{run}", size="2"), side="sell"),
        fill(f"t3{run}", cid=f"c2{run}", size="5"),
    )
    for f in (f1, f2, f3):
        assert j.add_fill(f)
    assert swaps.apply_fill(f1, "short")  # a buy closes a short: -1
    assert not swaps.apply_fill(f1, "short")  # the WebSocket and the REST poll both reported it
    # the run was killed here: t2 (a sell of c1, posSide short: +2) and t3 (a buy of an unknown order:
    # net +5) journaled, their moves not made
    assert swaps.catch_up_positions("BTC/USDT") == 2
    assert swaps.positions("BTC/USDT") == {"short": Decimal(1), "net": Decimal(5)}
    assert swaps.catch_up_positions("BTC/USDT") == 0
    assert swaps.positions("BTC/USDT") == {"short": Decimal(1), "net": Decimal(5)}
    j.close()
