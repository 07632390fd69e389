"""Hostile exchange responses: truncated JSON, wrong types, missing fields, HTML error pages.

Every read must end in a clear OkxError, and an order whose answer is replaced after the simulator
executed it must still end up in the journal exactly as the exchange has it (no lost state).
"""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path

from okxbot.okx.client import ClientConfig, OkxClient
from okxbot.okx.errors import OkxError
from okxbot.sim.server import RunningSim
from reliability.bot import SYMBOLS, Bot, audit
from reliability.checks import Check, Sizes
from reliability.env import credentials, new_key, scratch_home
from reliability.proxy import HOSTILE, Proxy

SECTION = "hostile responses"
# answers that parse as a plausible envelope: a read may return normally (fields it needs are absent or
# ignored), only a crash counts
PLAUSIBLE = ("numbers-as-objects", "huge-number")
# a well-formed OKX error says "not executed"; answering it after executing would be a lying exchange,
# which no client can survive, so order ops are not tested with it
WELL_FORMED_ERROR = ("unknown-error-code",)
READ_ATTEMPTS = 3
READS = [
    ("GET", "/api/v5/account/balance", "fetch_balance"),
    ("GET", "/api/v5/market/ticker", "fetch_ticker"),
    ("GET", "/api/v5/market/books", "fetch_order_book"),
    ("GET", "/api/v5/trade/orders-pending", "fetch_open_orders"),
    ("GET", "/api/v5/trade/fills", "fetch_fills"),
]
WRITES = [
    ("POST", "/api/v5/trade/order", "place"),
    ("POST", "/api/v5/trade/cancel-order", "cancel"),
    ("POST", "/api/v5/trade/amend-order", "amend"),
]


async def _run(sim: RunningSim) -> list[Check]:
    key = new_key(sim)
    crashes: list[tuple[str, str, str]] = []
    unclear: list[str] = []
    calls = 0
    with tempfile.TemporaryDirectory() as tmp, scratch_home("hostile"), Proxy(sim.rest) as proxy:
        config = ClientConfig(
            rest_url=proxy.url,
            ws_url="ws://127.0.0.1:9/ws/v5",
            timeout_ms=1500,
            exp_time_ms=1500,
            disk_cache=False,
        )
        async with OkxClient(config, credentials(key)) as client:
            await client.load_markets()
            await client.account_config()
            bot = await Bot.start(client, f"sqlite:///{Path(tmp) / 'journal.sqlite'}", "hostile", seed=3)
            for kind in HOSTILE:
                for method, path, name in READS:
                    # The bot's background checks (an order in doubt: its fills) use the same paths and
                    # may take the armed answer first; a read that returned normally is tried again, so
                    # only a client that takes the hostile answer as valid every time is counted.
                    for attempt in range(READ_ATTEMPTS):
                        proxy.arm(method, path, kind)
                        calls += 1
                        method_call = getattr(client, name)
                        try:
                            await (
                                method_call("BTC/USDT")
                                if name in ("fetch_ticker", "fetch_order_book")
                                else method_call()
                            )
                            if kind not in PLAUSIBLE and attempt == READ_ATTEMPTS - 1:
                                unclear.append(f"{name} returned normally on {kind}")
                        except OkxError as err:
                            if not err.message.strip():
                                unclear.append(f"{name} on {kind}: empty message")
                            break
                        except Exception as exc:
                            crashes.append((name, kind, f"{type(exc).__name__}: {exc}"[:80]))
                            break
                        finally:
                            proxy.disarm()
                        if kind in PLAUSIBLE:
                            break
                for method, path, op in WRITES if kind not in WELL_FORMED_ERROR else []:
                    symbol = SYMBOLS[calls % len(SYMBOLS)]
                    if op != "place" and not _has_live(bot, symbol):
                        await bot.step("place", symbol)
                        if not _has_live(bot, symbol):
                            continue  # it filled at once: nothing to amend or cancel this round
                    # the simulator executes the request; only its answer is hostile
                    proxy.arm(method, path, kind, after_forward=True)
                    calls += 1
                    try:
                        await bot.step(op, symbol)
                    except Exception as exc:
                        crashes.append((op, kind, f"{type(exc).__name__}: {exc}"[:80]))
                    proxy.disarm()
            served = proxy.served_hostile
            await asyncio.sleep(1.6)  # past the expTime of anything in doubt
            await bot.settle()
            result = audit(sim, key["uid"], [m.journal for m in bot.managers.values()])
            await bot.close()
    lost = result.duplicates + result.unresolved + result.state_mismatches + result.missing_in_journal
    return [
        Check(
            SECTION,
            f"hostile answers served ({len(HOSTILE)} kinds x ({len(READS)} reads + {len(WRITES)} order ops))",
            served,
            False,
            ", ".join(HOSTILE),
        ),
        Check(
            SECTION,
            "crashes (an exception other than a clear OkxError)",
            len(crashes),
            True,
            _grouped(crashes),
        ),
        Check(
            SECTION,
            "hostile answers taken as valid, or errors without a message",
            len(unclear),
            True,
            "; ".join(unclear[:3]),
        ),
        Check(
            SECTION,
            "orders lost, doubled or misjournaled after hostile answers to executed requests",
            lost,
            True,
            "; ".join(result.examples[:3]),
        ),
    ]


def _has_live(bot: Bot, symbol: str) -> bool:
    return any(o.state in ("live", "partially_filled") for o in bot.managers[symbol].open_orders())


def _grouped(crashes: list[tuple[str, str, str]]) -> str:
    """'AttributeError: ... on truncated-json, empty-200 (fetch_balance, place)' per distinct error."""
    by_error: dict[str, tuple[set[str], set[str]]] = {}
    for call, kind, error in crashes:
        calls, kinds = by_error.setdefault(error, (set(), set()))
        calls.add(call)
        kinds.add(kind)
    return "; ".join(
        f"{e} on {', '.join(sorted(k))} ({', '.join(sorted(c))})" for e, (c, k) in by_error.items()
    )


def run(sim: RunningSim, sizes: Sizes) -> list[Check]:
    return asyncio.run(_run(sim))
