"""Making a live bot a perpetual-swap bot: the account checks, the leverage, the swap side of the core."""

from __future__ import annotations

from typing import TYPE_CHECKING

from okxbot.okx.contracts import plain
from okxbot.trading.config import ConfigError
from okxbot.trading.swap_journal import SwapJournal
from okxbot.trading.swap_manager import SwapManager
from okxbot.trading.swap_venue import OkxSwapVenue

if TYPE_CHECKING:
    from okxbot.okx.client import OkxClient
    from okxbot.trading.core import BotCore
    from okxbot.trading.journal import Journal


async def start_swaps(core: BotCore, client: OkxClient, journal: Journal) -> SwapManager:
    """Check the account can trade the swap, set the configured leverage (refused above the risk
    guard's max_leverage, nothing sent), and attach the swap side to `core`."""
    config = core.config
    assert config.swap is not None
    venue = OkxSwapVenue(client)
    spec = await venue.contract(config.symbol)
    settings = await venue.settings()
    where = f"bot {config.name}"
    if not settings.trades_swaps:
        raise ConfigError(
            where,
            None,
            f"the account is in Spot mode (acctLv {settings.account_level}) and cannot trade {config.symbol}",
            "switch the account to Futures mode (OKX: Settings > Account mode), then start the bot again",
        )
    lever = config.swap.leverage
    if lever is not None:
        if lever > config.risk.max_leverage:
            raise ConfigError(
                where,
                None,
                f"[swap] leverage {plain(lever)} is above [risk] max_leverage {plain(config.risk.max_leverage)}",
                "lower [swap] leverage or raise [risk] max_leverage",
            )
        await venue.set_leverage(config.symbol, lever, config.swap.margin_mode)
    swaps = SwapManager(
        core.manager, venue, SwapJournal(journal.engine, config.name), config, spec, settings, core.emit
    )
    core.attach_swaps(swaps)
    return swaps
