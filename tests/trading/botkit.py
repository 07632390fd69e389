"""Helpers for running bots against the simulator in tests."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from pathlib import Path
from typing import Any

from okxbot.cli.target import Target
from okxbot.okx.client import ClientConfig, OkxClient
from okxbot.sim.server import RunningSim
from okxbot.trading.config import BotConfig
from okxbot.trading.runner import Runner
from okxbot.vault.secret import Credentials, Secret


def new_key(sim: RunningSim) -> dict[str, Any]:
    return sim.admin(
        "POST",
        "/__sim__/keys",
        {"perm": "read_only,trade", "ip": "127.0.0.1", "balances": {"USDT": "100000", "BTC": "2"}},
    )


def target(sim: RunningSim, key: dict[str, Any]) -> Target:
    creds = Credentials(Secret(key["apiKey"]), Secret(key["secretKey"]), Secret(key["passphrase"]))
    return Target(creds, None, False, sim.rest, "trade", True)


def client(sim: RunningSim, key: dict[str, Any]) -> OkxClient:
    return OkxClient(ClientConfig(rest_url=sim.rest, disk_cache=False), target(sim, key).credentials)


def runner(sim: RunningSim, key: dict[str, Any], config: dict[str, Any], data_dir: Path) -> Runner:
    bot = BotConfig.model_validate(config)
    return Runner(
        bot,
        target(sim, key),
        config_path=data_dir / "bot.toml",
        data_dir=data_dir,
        client_config=ClientConfig(rest_url=sim.rest, disk_cache=False),
    )


def mid(sim: RunningSim, inst_id: str = "BTC-USDT") -> Decimal:
    return Decimal(str(sim.call(lambda: sim.ctx.market.fair_price(inst_id))))


def exchange_orders(sim: RunningSim, key: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Every order of the key's account on the simulator, by clOrdId (or ordId)."""
    orders = sim.admin("GET", f"/__sim__/orders?uid={key['uid']}")["orders"]
    return {o["clOrdId"] or o["ordId"]: o for o in orders}


async def wait_for(predicate: Any, timeout: float = 10.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.1)
