"""`okxbot demo`: the whole product in about a minute, with no configuration and no network.

An in-process simulator, a throwaway vault holding a demo key (trade permission, bound to 127.0.0.1),
doctor, the balance, one example order placed and canceled, then a grid bot with its live status,
stopped cleanly, and its summary.
"""

from __future__ import annotations

import typer


def demo(
    seconds: float = typer.Option(30.0, "--seconds", help="How long the grid bot trades.", min=1),
    seed: int = typer.Option(7, "--seed", help="The simulator's market seed (same seed, same market)."),
    live: bool = typer.Option(True, "--live/--no-live", help="Show the live status view."),
    swap: bool = typer.Option(
        False,
        "--swap",
        help="Show a perpetual-swap bot instead: a long/short MA cross with its stop-loss on the exchange, "
        "a funding payment and the stop being hit (about a minute).",
    ),
) -> None:
    """Try okxbot on a built-in OKX simulator: nothing to configure, nothing leaves this machine."""
    import os
    import secrets
    import tempfile
    from pathlib import Path

    from rich.console import Console

    console = Console()
    with tempfile.TemporaryDirectory(prefix="okxbot-demo-") as tmp:
        home = Path(tmp)
        password_file = home / "vault-password"
        password_file.write_text(secrets.token_urlsafe(24), encoding="utf-8")
        password_file.chmod(0o600)
        # a throwaway home: the user's own vault, profiles and journals are never touched
        os.environ.update(
            OKXBOT_HOME=str(home), OKXBOT_KEYRING="off", OKXBOT_VAULT_PASSWORD_FILE=str(password_file)
        )
        for name in ("OKXBOT_PROFILE", "OKX_API_KEY", "OKX_SECRET_KEY", "OKX_PASSPHRASE"):
            os.environ.pop(name, None)
        if swap:
            from okxbot.cli.demo_swap import demo_swap

            status = demo_swap(console, home, seed)
            if status:
                raise typer.Exit(status)
            return
        _demo(console, home, seconds, seed, live)


def _demo(console: object, home: object, seconds: float, seed: int, live: bool) -> None:
    import asyncio
    from pathlib import Path

    from rich.console import Console

    from okxbot.cli.doctor import _render
    from okxbot.cli.run import print_summary
    from okxbot.cli.target import cli_errors, resolve_target
    from okxbot.okx.errors import OkxError
    from okxbot.okx.posture import audit
    from okxbot.sim.server import start_sim
    from okxbot.trading import eventloop
    from okxbot.trading.logs import bot_json_log
    from okxbot.vault.profiles import Profile, check_sim_url
    from okxbot.vault.secret import Credentials, Secret
    from okxbot.vault.store import Vault

    assert isinstance(console, Console) and isinstance(home, Path)
    console.rule("[bold]okxbot demo[/]: a local OKX simulator, nothing leaves this machine")
    with start_sim(host="127.0.0.1", port=0, seed=seed) as sim:
        console.print(f"1. Simulator running at {sim.rest} (seeded synthetic market, seed {seed}).")
        key = sim.admin(
            "POST",
            "/__sim__/keys",
            {
                "perm": "read_only,trade",
                "ip": "127.0.0.1",
                "label": "okxbot-demo",
                "demo": True,
                "balances": {"USDT": "100000", "BTC": "2"},
            },
        )
        creds = Credentials(Secret(key["apiKey"]), Secret(key["secretKey"]), Secret(key["passphrase"]))
        with cli_errors():
            demo_profile = Profile(
                name="demo", demo=True, purpose="trade", notes="okxbot demo", sim_url=check_sim_url(sim.rest)
            )
            Vault().add(demo_profile, creds)
            target = resolve_target("demo", sim.rest, need="trade")
        console.print(
            f"2. Demo key {creds.api_key.masked()} (demo trading, Read + Trade, IP-bound to 127.0.0.1) stored in a "
            f"throwaway vault at {home}."
        )
        console.print("3. okxbot doctor:")
        posture = asyncio.run(audit(target.base_url, creds, demo=target.demo, purpose="trade", sim=True))
        _render(posture, "demo")
        try:
            with bot_json_log(home / "logs" / "demo-grid.jsonl"):
                summary = eventloop.run(_trade(console, target, home, seconds, live))
        except OkxError as err:
            console.print(f"[bold red]Error:[/] {err}")
            raise typer.Exit(1) from None
        print_summary(console, summary)
        console.print(
            "Next: `okxbot keys add NAME` to store a real key, `okxbot doctor` to check it, and "
            "`okxbot run examples/grid.toml --profile NAME` (start with a demo-trading key)."
        )


async def _trade(console: object, target: object, home: object, seconds: float, live: bool) -> object:
    import asyncio
    import signal
    from decimal import Decimal
    from pathlib import Path

    from rich.console import Console
    from rich.table import Table

    from okxbot.okx.client import ClientConfig, OkxClient
    from okxbot.trading.config import BotConfig
    from okxbot.trading.runner import Runner
    from okxbot.trading.strategy import round_price

    assert isinstance(console, Console) and isinstance(home, Path)
    config = ClientConfig(rest_url=target.base_url, demo=target.demo, disk_cache=False)  # type: ignore[attr-defined]
    async with OkxClient(config, target.credentials) as client:  # type: ignore[attr-defined]
        balances = await client.fetch_balance()
        table = Table(title="4. Balance")
        for col in ("currency", "total", "available", "frozen"):
            table.add_column(col, justify="right")
        for ccy, b in sorted(balances.items()):
            table.add_row(ccy, format(b.total, "f"), format(b.available, "f"), format(b.frozen, "f"))
        console.print(table)
        ticker = await client.fetch_ticker("BTC/USDT")
        rules = await client.rules("BTC/USDT")
        assert ticker.bid is not None and ticker.ask is not None
        mid = (ticker.bid + ticker.ask) / 2
        # The example order must rest on the book to be canceled: at 50000 it would fill when
        # BTC trades below that, so it then goes 5% under the bid instead.
        price = Decimal("50000")
        if price >= ticker.ask:
            price = round_price(rules, ticker.bid * Decimal("0.95"))
        order = await client.create_order("BTC/USDT", "buy", Decimal("0.001"), price)
        console.print(
            f"5. Example limit buy BTC/USDT 0.001 @ {format(price, 'f')}: {order.state} "
            f"(ordId {order.order_id}, clOrdId {order.client_order_id})"
        )
        canceled = await client.cancel_order("BTC/USDT", order.order_id)
        after = await client.fetch_order("BTC/USDT", order.order_id)
        console.print(f"   canceled: {canceled.ok}, state now {after.state}")

    step = round_price(rules, mid * Decimal("0.0004"))
    bot = BotConfig.model_validate(
        {
            "name": "demo-grid",
            "symbol": "BTC/USDT",
            "strategy": "grid",
            "grid": {
                "lower": str(round_price(rules, mid - 5 * step)),
                "upper": str(round_price(rules, mid + 5 * step)),
                "levels": 11,
                "size": "0.001",
            },
            "risk": {
                "max_order_notional": "1000",
                "max_position": {"BTC": "0.05"},
                "daily_loss_limit": "500",
            },
            "run": {"dead_man_seconds": 30, "poll_seconds": 1},
        }
    )
    console.print(
        f"6. Grid bot on BTC/USDT: 11 levels {bot.grid.lower}..{bot.grid.upper}, 0.001 BTC each, "  # type: ignore[union-attr]
        f"for {seconds:g} s (Ctrl-C stops it early, cleanly)."
    )
    runner = Runner(
        bot,
        target,  # type: ignore[arg-type]
        config_path=home / "demo-grid.toml",
        data_dir=home,
        console=console,
        client_config=ClientConfig(rest_url=target.base_url, demo=target.demo, disk_cache=False),  # type: ignore[attr-defined]
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    summary = await runner.run(stop, seconds, live_view=live)
    console.print()
    console.print("7. Stopped: open orders canceled, dead-man switch disarmed, journal flushed.")
    return summary
