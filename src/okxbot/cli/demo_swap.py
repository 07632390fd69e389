"""`okxbot demo --swap`: a perpetual-swap bot on the built-in simulator, about a minute, nothing to set up.

The built-in `ma_cross_perp` strategy trades BTC/USDT:USDT in a Futures-mode demo account. The demo
moves the simulator's market through its admin API (loopback only) so that, within the minute, the
bot sees a crossing and opens a position with a stop-loss attached on the exchange, a funding
settlement is paid or received, and the price runs through the stop: the exchange closes the position
by itself and the bot journals what the stop did. Then the bot stops and the journal is checked
against the exchange.
"""

from __future__ import annotations

import asyncio
from decimal import Decimal
from pathlib import Path
from typing import Any

SWAP, SWAP_ID, SPOT_ID = "BTC/USDT:USDT", "BTC-USDT-SWAP", "BTC-USDT"
STEP_TIMEOUT_S = 30.0


def demo_swap(console: Any, home: Path, seed: int) -> int:
    """Run the swap demo; returns the exit status (0: every step happened and the journal reconciled)."""
    from okxbot.cli.target import cli_errors, resolve_target
    from okxbot.sim.server import start_sim
    from okxbot.trading import eventloop
    from okxbot.trading.logs import bot_json_log
    from okxbot.vault.profiles import Profile, check_sim_url
    from okxbot.vault.secret import Credentials, Secret
    from okxbot.vault.store import Vault

    console.rule("[bold]okxbot demo --swap[/]: a perpetual-swap bot on a local OKX simulator")
    with start_sim(host="127.0.0.1", port=0, seed=seed) as sim:
        key = sim.admin(
            "POST",
            "/__sim__/keys",
            {"perm": "read_only,trade", "ip": "127.0.0.1", "label": "okxbot-demo-swap", "demo": True,
             "balances": {"USDT": "100000"}},
        )  # fmt: skip
        # the demo account in Futures mode (OKX: Settings > Account mode; the admin API does it here)
        sim.admin("POST", "/__sim__/account-level", {"uid": key["uid"], "acctLv": "2"})
        sim.admin("POST", "/__sim__/mark", {"instId": SWAP_ID, "basis": "0"})  # mark = index: plain to follow
        creds = Credentials(Secret(key["apiKey"]), Secret(key["secretKey"]), Secret(key["passphrase"]))
        with cli_errors():
            profile = Profile(name="demo-swap", demo=True, purpose="trade", notes="okxbot demo --swap",
                              sim_url=check_sim_url(sim.rest))  # fmt: skip
            Vault().add(profile, creds)
            target = resolve_target("demo-swap", sim.rest, need="trade")
        console.print(
            f"1. Simulator at {sim.rest}; demo key {creds.api_key.masked()} in Futures mode (acctLv 2), "
            "100000 USDT."
        )
        with bot_json_log(home / "logs" / "demo-perp.jsonl"):
            return eventloop.run(_scenario(console, sim, target, home))


def _bot_config() -> Any:
    from okxbot.trading.config import BotConfig

    return BotConfig.model_validate(
        {
            "name": "demo-perp",
            "symbol": SWAP,
            "strategy": "ma_cross_perp",
            "ma_cross_perp": {
                "fast": 2,
                "slow": 5,
                "bar": "1m",
                "size": "1",
                "unit": "contracts",
                "atr_period": 5,
                "stop_atr": "2",
                "use_forming_bar": True,
            },
            "swap": {"margin_mode": "cross", "leverage": "3", "trigger_price_type": "mark"},
            "risk": {
                "max_leverage": "5",
                "min_liquidation_distance_pct": "10",
                "max_position_notional": "5000",
                "max_funding_per_day": "10",
                "require_stop": True,
            },
            "run": {"poll_seconds": 0.5, "dead_man_seconds": 30},
        }
    )


async def _scenario(console: Any, sim: Any, target: Any, home: Path) -> int:
    import signal

    from okxbot.okx.client import ClientConfig
    from okxbot.trading.runner import Runner

    bot = _bot_config()
    console.print(
        "2. Bot demo-perp: ma_cross_perp on BTC/USDT:USDT (fast 2 / slow 5 on the forming 1m bar), 1 contract "
        "(0.01 BTC), 3x cross, stop-loss 2 ATR away attached on the exchange (mark price), require_stop on."
    )
    runner = Runner(bot, target, config_path=home / "demo-perp.toml", data_dir=home, console=console,
                    client_config=ClientConfig(rest_url=target.base_url, demo=target.demo, disk_cache=False))  # fmt: skip
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    task = asyncio.ensure_future(runner.run(stop))
    story: dict[str, Any] = {}
    try:
        await _drive(console, sim, runner, story, task)
    except (TimeoutError, AssertionError) as err:
        console.print(f"[bold red]The demo did not go as planned:[/] {err}")
        story["failed"] = str(err)
    finally:
        stop.set()
    summary = await task
    _print_summary(console, runner, summary, story)
    return 0 if summary.reconciled and "failed" not in story else 1


async def _until(
    what: str, predicate: Any, task: asyncio.Future[Any], within: float = STEP_TIMEOUT_S
) -> None:
    deadline = asyncio.get_running_loop().time() + within
    while not predicate():
        if task.done():
            task.result()  # the bot stopped: its error explains why
            raise AssertionError(f"the bot stopped before: {what}")
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError(f"{what}: not within {within:g} s")
        await asyncio.sleep(0.1)


async def _drive(
    console: Any, sim: Any, runner: Any, story: dict[str, Any], task: asyncio.Future[Any]
) -> None:
    from okxbot.trading.swap_journal import SwapJournal

    def ready() -> bool:
        s = runner.strategy
        return (
            s is not None
            and runner.core is not None
            and runner.core.swaps is not None
            and s.trend is not None
        )

    with console.status("waiting for the strategy's first signal (its baseline)..."):
        await _until("the strategy's baseline", ready, task)
    swaps, strategy = runner.core.swaps, runner.strategy
    journal = SwapJournal(runner.journal.engine, runner.config.name)
    baseline = strategy.trend
    move = "-3" if baseline == "up" else "3"
    start_px = Decimal(str(sim.admin("POST", "/__sim__/price", {"instId": SPOT_ID, "movePct": "0"})["px"]))
    console.print(f"3. Baseline trend {baseline}. The market moves {move}% (admin API): a crossing.")
    sim.admin("POST", "/__sim__/price", {"instId": SPOT_ID, "movePct": move})
    with console.status("waiting for the entry and its exchange-side stop..."):
        await _until("an entry with its stop live on the exchange",
                     lambda: swaps.position() != 0 and any(a.state == "live" for a in journal.algos()), task)  # fmt: skip
    entry = next(a for a in journal.algos() if a.state == "live")
    held = swaps.position()
    story["entry"] = (
        f"{'long' if held > 0 else 'short'} {abs(held)} contract(s), stop {entry.stop_loss} (mark)"
    )
    console.print(f"4. [green]Opened {story['entry']}[/]: the stop lives on OKX as algo {entry.algo_id}.")

    before = len(journal.funding())
    sim.admin("POST", "/__sim__/funding", {"instId": SWAP_ID, "rate": "0.0005", "settle": True})
    with console.status("waiting for the funding settlement..."):
        await _until("the funding payment reaching the bot", lambda: len(journal.funding()) > before, task)
    payment = journal.funding()[-1]
    story["funding"] = payment.amount
    verb = "paid" if payment.amount < 0 else "received"
    console.print(
        f"5. Funding settled at rate 0.0005: the bot {verb} {abs(payment.amount)} USDT (on_funding)."
    )

    assert entry.stop_loss is not None
    # through the stop, and far enough back past the start for the averages to cross the other way
    if held > 0:
        beyond = min(entry.stop_loss * Decimal("0.99"), start_px * Decimal("0.97"))
    else:
        beyond = max(entry.stop_loss * Decimal("1.01"), start_px * Decimal("1.03"))
    console.print(
        f"6. The price runs through the stop ({entry.stop_loss} -> {beyond.quantize(Decimal('0.1'))})."
    )
    sim.admin("POST", "/__sim__/price", {"instId": SPOT_ID, "px": str(beyond.quantize(Decimal("0.1")))})
    with console.status("waiting for the exchange to close the position at the stop..."):
        await _until("the stop closing the position",
                     lambda: (journal.algo(entry.algo_client_id) or entry).state == "effective", task)  # fmt: skip
    story["stop"] = f"stop {entry.algo_id} fired on the exchange; the bot journaled its order and fill"
    console.print(f"7. [green]{story['stop']}[/].")
    with console.status("waiting for the strategy to act on the new trend..."):
        try:
            await _until("a new entry with its stop", lambda: swaps.position() != 0
                         and any(a.state == "live" for a in journal.algos()), task, within=15)  # fmt: skip
            now = swaps.position()
            story["after"] = f"{'long' if now > 0 else 'short'} {abs(now)}, protected by its own stop"
            console.print(f"8. The crossing the other way: the bot is now {story['after']}.")
        except TimeoutError:
            story["after"] = "flat (no crossing yet)"
            console.print("8. The bot stays flat until the next crossing.")


def _print_summary(console: Any, runner: Any, summary: Any, story: dict[str, Any]) -> None:
    from rich.table import Table

    from okxbot.trading.swap_journal import SwapJournal

    journal = SwapJournal(runner.journal.engine, runner.config.name)
    algos = journal.algos()
    table = Table(title="okxbot demo --swap: demo-perp stopped")
    table.add_column("")
    table.add_column("", justify="right")
    table.add_row("entry", story.get("entry", "-"))
    table.add_row(
        "funding (USDT, + received / - paid)",
        format(sum((p.amount for p in journal.funding()), Decimal(0)), "f"),
    )
    table.add_row("stop-losses fired on the exchange", str(sum(1 for a in algos if a.state == "effective")))
    table.add_row("stops still live on the exchange", str(sum(1 for a in algos if a.state == "live")))
    table.add_row("orders placed by the bot", str(summary.orders_placed))
    table.add_row("fills (bot and its stops)", str(summary.fills))
    table.add_row("orders refused before sending", str(summary.refused))
    positions = runner.core.swaps.journal_positions() if runner.core and runner.core.swaps else {}
    table.add_row("position left (contracts)", ", ".join(f"{k} {v}" for k, v in positions.items()) or "flat")
    table.add_row(
        "journal = exchange (orders, fills, positions)",
        "[green]yes[/]" if summary.reconciled else "[red]NO[/]",
    )
    console.print(table)
    if runner.manager is not None and runner.manager.stats.errors:
        console.print("Notes: " + "; ".join(runner.manager.stats.errors))
    console.print(
        "A position left open keeps its stop on the exchange after the bot stops. Next: examples/perp.toml, "
        "`okxbot positions`, `okxbot algos`."
    )  # fmt: skip
