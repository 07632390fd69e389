"""The backtest's in-memory journal keeps the SQL journal's rules: the same calls give the same
answers, states, histories and fills (property test over random call sequences)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from okxbot.trading.journal import STATES, Journal, JournalFill, NewOrder
from okxbot.trading.journal_memory import MemoryJournal

D = Decimal
CIDS = [f"c{i}" for i in range(4)]

calls = st.lists(
    st.one_of(
        st.tuples(st.just("intent"), st.sampled_from(CIDS), st.sampled_from(["intent", "sent"])),
        st.tuples(
            st.just("move"),
            st.sampled_from(CIDS),
            st.sampled_from(STATES),
            st.sampled_from([None, D("0"), D("0.5"), D("1")]),
            st.booleans(),
        ),
        st.tuples(st.just("amend"), st.sampled_from(CIDS), st.sampled_from([D("100"), D("101")])),
        st.tuples(st.just("fill"), st.sampled_from(CIDS), st.sampled_from(["t1", "t2", "t3"])),
    ),
    max_size=40,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(calls=calls)
def test_memory_journal_answers_like_the_sql_journal(tmp_path: Path, calls: list[tuple[object, ...]]) -> None:
    db = tmp_path / "j.sqlite"
    db.unlink(missing_ok=True)
    sql = Journal(f"sqlite:///{db}", "bot")
    mem = MemoryJournal("bot", lambda: 1)
    try:
        for call in calls:
            answers = []
            for j in (sql, mem):
                try:
                    if call[0] == "intent":
                        _, cid, state = call
                        if j.order(cid) is None:
                            j.record_intents(
                                [NewOrder(cid, "BTC/USDT", "buy", D("1"), D("100"))], state=state
                            )
                        answers.append("ok")
                    elif call[0] == "move":
                        _, cid, state, filled, settled = call
                        answers.append(j.transition(cid, state, filled=filled, settled=settled))
                    elif call[0] == "amend":
                        _, cid, price = call
                        answers.append(j.transition(cid, "live", price=price))
                    else:
                        _, cid, trade = call
                        fill = JournalFill(
                            "BTC/USDT", trade, cid, "o", "buy", D("100"), D("0.1"), D("0"), "BTC", 1
                        )
                        answers.append(j.add_fill(fill))
                except Exception as err:  # the same refusal (unknown order) from both
                    answers.append(type(err).__name__)
            assert answers[0] == answers[1], call
        assert sql.orders() == mem.orders()
        assert sql.open_orders() == mem.open_orders()
        assert {c: sql.history(c) for c in CIDS} == {c: mem.history(c) for c in CIDS}
        assert sql.fills() == mem.fills()
    finally:
        sql.close()
