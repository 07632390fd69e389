"""The test that matters most: a bot's stop lives on the exchange. A swap bot opens a leveraged long with
an attached stop, is SIGKILLed, the price moves through the stop, the exchange closes the position with no
bot running, and the restarted bot reconciles: the stop's order and fill in its journal, the journal's
position = the exchange's (flat), no order placed twice."""

from __future__ import annotations

import signal
import sqlite3
from decimal import Decimal
from pathlib import Path

from okxbot.sim.server import RunningSim
from tests.trading.botkit import exchange_orders
from tests.trading.swapbot import SWAP_ID, exchange_position, futures_key, live_algos
from tests.trading.test_crash_sim import start_bot, wait

STRATEGY = """
from decimal import Decimal
from pathlib import Path

from okxbot.trading.strategy import Strategy, round_price

MARKER = Path(__file__).with_name("entered")


class OpenOnce(Strategy):
    async def on_start(self):
        if MARKER.exists():
            return  # a restart: the position (or what became of it) is the exchange's
        MARKER.write_text("yes")  # before placing: a kill after the send must not make a restart open again
        stop = round_price(self.ctx.rules, self.ctx.mark() * Decimal("0.98"))
        await self.ctx.place("buy", Decimal("2"), stop_loss=stop)
"""


def write_config(path: Path) -> None:
    path.with_name("open_once.py").write_text(STRATEGY)
    path.write_text(
        'name = "perpcrash"\nsymbol = "BTC/USDT:USDT"\nstrategy = "open_once.py"\n\n'
        '[swap]\nleverage = "3"\n\n[run]\npoll_seconds = 0.5\ndead_man = false\n'
    )


def db_rows(home: Path, sql: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(home / "journal.sqlite") as conn:
        return conn.execute(sql).fetchall()


def journal_position(home: Path) -> dict[str, Decimal]:
    return {
        str(p): Decimal(str(c)) for p, c in db_rows(home, "select pos_side, contracts from swap_positions")
    }


def test_sigkilled_bot_stop_fires_on_the_exchange_and_the_restart_reconciles(
    sim: RunningSim, tmp_path: Path
) -> None:
    key = futures_key(sim)
    sim.admin("POST", "/__sim__/mark", {"instId": SWAP_ID, "basis": "0"})
    config = tmp_path / "perp.toml"
    write_config(config)
    try:
        bot = start_bot(sim, key, tmp_path, config, 120)
        try:
            wait(lambda: exchange_position(sim, key) == 2 and len(live_algos(sim, key)) == 1, 60)
        finally:
            bot.send_signal(signal.SIGKILL)
            bot.wait(10)
        assert bot.returncode == -signal.SIGKILL
        algo = live_algos(sim, key)[0]
        # no bot running: the price falls through the stop, the exchange closes the long by itself
        sim.admin("POST", "/__sim__/price", {"instId": "BTC-USDT", "movePct": "-4"})
        wait(lambda: exchange_position(sim, key) == 0, 20)
        assert live_algos(sim, key) == []
        orders_before = exchange_orders(sim, key)

        restarted = start_bot(sim, key, tmp_path, config, 6)
        out, _ = restarted.communicate(timeout=120)
        text = out.decode()
        log = (tmp_path / "logs" / "perpcrash.jsonl").read_text() if (tmp_path / "logs").exists() else ""
        assert restarted.returncode == 0, text
        assert "not reconciled" not in log, [line for line in log.splitlines() if "reconcil" in line]
        assert "stops that fired / replaced" in text and "flat" in text  # the swap rows of the summary
        assert (
            "journal reconciled with the exchange" in text
            and "NO" not in text.split("journal reconciled")[1][:80]
        )
    finally:
        sim.admin("POST", "/__sim__/mark", {"instId": SWAP_ID, "basis": None})
    # the journal knows what the stop did: effective, its order adopted (origin algo) with its fill
    states = dict(db_rows(tmp_path, "select algo_client_id, state from swap_algos"))
    assert states == {algo["algoClOrdId"]: "effective"}
    children = db_rows(tmp_path, "select client_order_id, state, amount from orders where origin = 'algo'")
    assert len(children) == 1 and children[0][1] == "filled" and Decimal(str(children[0][2])) == 2
    fills = db_rows(
        tmp_path, "select f.size from fills f join orders o using (client_order_id) where o.origin = 'algo'"
    )
    assert sum(Decimal(str(f[0])) for f in fills) == 2
    positions = db_rows(tmp_path, "select pos_side, contracts from swap_positions")
    assert (
        [(p, Decimal(str(c))) for p, c in positions]
        == [("net", Decimal(0))]
        == [("net", exchange_position(sim, key))]
    )
    # nothing was placed twice: the restart sent no order
    assert exchange_orders(sim, key).keys() == orders_before.keys()


def test_a_kill_between_a_fill_and_its_position_move_is_healed_at_restart(
    sim: RunningSim, tmp_path: Path
) -> None:
    """A fill is committed to the order journal, then the position moves in a second commit: a SIGKILL
    between the two (seen in the reliability run) must not leave the journal's position wrong forever."""
    sim.admin("POST", "/__sim__/mark", {"instId": SWAP_ID, "basis": "0"})  # the stop 2 % below the price
    try:
        key = futures_key(sim)
        config = tmp_path / "perp.toml"
        write_config(config)
        bot = start_bot(sim, key, tmp_path, config, 120)
        try:
            wait(lambda: exchange_position(sim, key) == 2 and len(live_algos(sim, key)) == 1, 60)
            wait(lambda: journal_position(tmp_path) == {"net": 2}, 20)
        finally:
            bot.send_signal(signal.SIGKILL)
            bot.wait(10)
        # the state such a kill leaves: the entry's fills journaled, the position not moved by them
        with sqlite3.connect(tmp_path / "journal.sqlite") as conn:
            conn.execute("delete from swap_position_fills")
            conn.execute("update swap_positions set contracts = '0'")
        restarted = start_bot(sim, key, tmp_path, config, 3)
        out, _ = restarted.communicate(timeout=120)
        text = out.decode()
        assert restarted.returncode == 0, text
        assert "NO" not in text.split("journal reconciled")[1][:80], text
        assert journal_position(tmp_path) == {"net": 2}  # the entry may have filled in parts
        assert exchange_position(sim, key) == 2
        # applied once: a second restart does not add the same fills again
        again = start_bot(sim, key, tmp_path, config, 2)
        again.communicate(timeout=120)
        assert journal_position(tmp_path) == {"net": 2}
    finally:
        sim.admin("POST", "/__sim__/mark", {"instId": SWAP_ID, "basis": None})
