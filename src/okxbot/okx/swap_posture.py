"""The swap part of `okxbot doctor`: can this key's account trade the swaps its bots trade, at what
leverage, and is the key safe enough for leverage?

For the instruments the bots trade (their configs, or `--symbol`): the account mode must allow swaps
(Spot mode cannot: fail), the position mode is shown (a bot's posSide must match it), the leverage
set for each instrument in cross and isolated margin with the instrument's maximum, and a key
without an IP binding is a warning of its own: a leaked key could open leveraged positions from
anywhere.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from okxbot.okx.contracts import plain
from okxbot.okx.errors import OkxError
from okxbot.okx.posture import Check

if TYPE_CHECKING:
    from okxbot.okx.client import OkxClient
    from okxbot.okx.models import AccountConfig


def config_symbols(paths: Iterable[str]) -> tuple[list[str], list[str]]:
    """The `symbol` of each bot config file (TOML), and the files that could not be read."""
    import tomllib
    from pathlib import Path

    found, unreadable = [], []
    for path in paths:
        try:
            data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            unreadable.append(f"{path} ({type(exc).__name__})")
            continue
        symbol = data.get("symbol")
        if isinstance(symbol, str) and symbol:
            found.append(symbol)
    return found, unreadable


async def swap_checks(client: OkxClient, account: AccountConfig, symbols: Iterable[str]) -> list[Check]:
    """The doctor's swap checks for these instruments (spot symbols are skipped)."""
    checks: list[Check] = []
    swaps: list[str] = []
    for symbol in dict.fromkeys(symbols):
        try:
            if await client.derivatives.is_swap(symbol):
                swaps.append((await client.derivatives.contract(symbol)).symbol)
        except OkxError as err:
            checks.append(Check(f"instrument {symbol}", "warn", f"cannot check it: {err.message}", err.hint))
    if not swaps:
        return checks
    names = ", ".join(swaps)
    if account.account_level not in ("2", "3", "4"):
        checks.append(
            Check(
                "swap account mode",
                "fail",
                f"the account is in Spot mode (acctLv {account.account_level or '?'}): the bots' swaps ({names}) "
                "cannot be traded (OKX answers 51010)",
                "switch the account to Futures mode on OKX (Trade > Settings > Account mode)",
            )
        )
        return checks
    mode = account.position_mode or "?"
    checks.append(
        Check(
            "position mode",
            "pass",
            f"{mode}: "
            + (
                "orders must say posSide long or short"
                if mode == "long_short_mode"
                else "one position per swap, no posSide"
            ),
        )
    )
    if not account.ips:
        checks.append(
            Check(
                "IP binding (swaps)",
                "warn",
                f"this key trades leveraged swaps ({names}) and is not bound to an IP address: a leaked copy "
                "could open positions from anywhere",
                "bind the key to this server's public IP on OKX's API page",
            )
        )
    for symbol in swaps:
        checks.append(await _leverage_check(client, symbol))
    return checks


async def _leverage_check(client: OkxClient, symbol: str) -> Check:
    d = client.derivatives
    try:
        spec = await d.contract(symbol)
        parts = []
        for margin in ("cross", "isolated"):
            rows = await d.leverage(symbol, margin)
            shown = ", ".join(
                f"{r.pos_side} {plain(r.leverage)}x"
                if r.pos_side not in ("", "net")
                else f"{plain(r.leverage)}x"
                for r in rows
            )
            parts.append(f"{margin} {shown or '-'}")
        return Check(
            f"leverage {symbol}", "pass", f"{'; '.join(parts)} (instrument maximum {plain(spec.max_lever)}x)"
        )
    except OkxError as err:
        return Check(f"leverage {symbol}", "warn", f"could not read it: {err.message}", err.hint)
