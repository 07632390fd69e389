"""The reliability suite's quick run, one test per section: every count that must be zero is zero.

Each section attacks okxbot over real loopback HTTP / WebSocket against the simulator (and real
subprocesses for the SIGKILL runs); `python -m reliability` runs the full sizes and prints the table.
"""

from __future__ import annotations

from typing import Any

import pytest
from reliability.__main__ import _section, render
from reliability.checks import Check, Sizes, guarded

QUICK = Sizes.of(True)


def _run(name: str, sim: Any) -> list[Check]:
    rows = guarded(name, lambda: _section(name)(sim, QUICK))
    failed = [r for r in rows if not r.ok]
    if failed:
        import io

        from rich.console import Console

        console = Console(width=160, record=True, file=io.StringIO())
        console.print(render(failed, f"{name}: counts that must be zero"))
        pytest.fail(console.export_text(), pytrace=False)
    return rows


def _count(rows: list[Check], words: str) -> int:
    return next(r.count for r in rows if words in r.check)


@pytest.mark.timeout(120)
def test_faults_lose_and_double_nothing(sim: Any) -> None:
    rows = _run("faults", sim)
    for mode in ("orders channel up", "REST only"):
        assert _count(rows, f"{mode}: faults met") > 0  # the run really met faults (>= 30%: a row)
        assert _count(rows, f"{mode}: orders on the exchange") > 0


@pytest.mark.timeout(120)
def test_sigkill_and_restart_double_and_lose_nothing(sim: Any) -> None:
    rows = _run("crashes", sim)
    assert _count(rows, "orders the bot placed") > 0
    assert _count(rows, "fills of the bot's orders") > 0  # "journal fills = exchange fills" has weight


@pytest.mark.timeout(240)
def test_swap_bot_crashes_double_lose_and_orphan_nothing(sim: Any) -> None:
    rows = _run("swaps", sim)
    assert _count(rows, "SIGKILLs of a swap bot") >= 3
    assert _count(rows, "swap orders placed") > 0  # the zero rows below audited real orders and stops
    assert _count(rows, "faults met by swap order placements") > 0
    detail = next(r.detail for r in rows if "swap orders placed" in r.check)
    assert "fired while the bot was dead" in detail and ", 0 fired" not in detail  # a stop fired, no bot


@pytest.mark.timeout(180)
def test_a_key_revoked_mid_run_halts_the_bot_cleanly_and_loses_nothing(sim: Any) -> None:
    rows = _run("revoked key", sim)
    assert _count(rows, "keys deleted under a running bot") > 0


def test_bad_input_gets_a_clear_error_and_never_reaches_the_exchange(sim: Any) -> None:
    rows = _run("bad input", sim)
    assert _count(rows, "client orders: bad inputs tried") >= QUICK.examples


def test_hostile_responses_never_crash_or_lose_an_order(sim: Any) -> None:
    rows = _run("hostile responses", sim)
    assert _count(rows, "hostile answers served") > 0


def test_no_secret_leaks_anywhere(sim: Any) -> None:
    rows = _run("leaks", sim)
    assert _count(rows, "places searched") > 20


def test_vault_and_journal_files_hold(sim: Any) -> None:
    rows = _run("vault and journal files", sim)
    assert _count(rows, "flipped bytes tried") > 0


def test_access_is_loopback_only_and_withdraw_keys_are_refused(sim: Any) -> None:
    rows = _run("access", sim)
    assert _count(rows, "trading paths tried") >= 7
