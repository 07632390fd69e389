"""A trading bot of the suite's own: order managers on several instruments, fed by a seeded intent
generator (place, amend, cancel mixed), then settled and audited against the simulator's books.

The strategy runner drives the same `OrderManager`; generating intents here keeps the mix of
operations and instruments under the suite's control (and the same in every run with one seed).
"""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from okxbot.okx.client import OkxClient
from okxbot.okx.errors import OkxError
from okxbot.okx.validate import InstrumentRules
from okxbot.sim.server import RunningSim
from okxbot.trading.config import RiskConfig
from okxbot.trading.journal import FINAL, Journal
from okxbot.trading.orders import AmendSpec, OrderManager, OrderSpec
from okxbot.trading.risk import RiskGuard

SYMBOLS = ("BTC/USDT", "ETH/USDT", "SOL/USDT", "LTC/USDT")
# the suite's bot may trade freely: the risk guard is tested elsewhere, here it must not hide faults
RISK = RiskConfig(
    max_order_notional=Decimal("1000000"),
    max_open_orders=100000,
    max_orders_per_minute=1000000,
    price_band_pct=Decimal("50"),
)


def _round(value: Decimal, step: Decimal) -> Decimal:
    return (value / step).to_integral_value() * step


@dataclass
class Bot:
    client: OkxClient
    managers: dict[str, OrderManager]
    rng: random.Random
    ops: Counter[str] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)  # texts of every OkxError the bot saw
    feed: asyncio.Task[None] | None = None
    channel_pushes: int = 0  # orders-channel pushes applied

    @classmethod
    async def start(
        cls, client: OkxClient, journal_url: str, bot: str, seed: int, *, orders_channel: bool = False
    ) -> Bot:
        """`orders_channel`: follow the orders channel as `okxbot run` does (while it is up, a
        placement's state is not read back with a GET: the pushes tell it)."""
        managers = {}
        for symbol in SYMBOLS:
            rules: InstrumentRules = await client.rules(symbol)
            journal = Journal(journal_url, f"{bot}-{rules.inst_id}")
            manager = OrderManager(client, journal, RiskGuard(RISK, symbol), rules)
            managers[symbol] = manager
        robot = cls(client, managers, random.Random(seed))
        await robot.refresh_mids()
        if orders_channel:
            robot.feed = asyncio.ensure_future(robot._orders_feed())
        return robot

    async def _orders_feed(self) -> None:
        """The runner's orders feed, for several instruments: pushes go to their instrument's manager."""
        by_inst = {m.rules.inst_id: m for m in self.managers.values()}
        while True:
            try:
                orders = await self.client.raw.watch_orders()
                for manager in self.managers.values():
                    manager.confirm_placements = False
                for o in orders:
                    info = o.get("info") or {}
                    manager = by_inst.get(str(info.get("instId", "")))
                    if manager is not None:
                        self.channel_pushes += 1
                        await manager.apply_order(info)
            except asyncio.CancelledError:
                raise
            except Exception as err:  # the channel is down: REST confirms placements until it is back
                for manager in self.managers.values():
                    manager.confirm_placements = True
                self.errors.append(f"orders channel: {type(err).__name__}: {err}"[:200])
                await asyncio.sleep(0.5)

    async def refresh_mids(self) -> None:
        for symbol, manager in self.managers.items():
            try:
                ticker = await self.client.fetch_ticker(symbol)
            except OkxError as err:
                self.errors.append(str(err))
                continue
            if ticker.bid is not None and ticker.ask is not None:
                manager.mid = (ticker.bid + ticker.ask) / 2
            elif ticker.last is not None:
                manager.mid = ticker.last

    def choose(self) -> tuple[str, str]:
        """The next operation and instrument: place ~55%, amend ~25%, cancel ~20% (place if none open)."""
        symbol = self.rng.choice(SYMBOLS)
        roll = self.rng.random()
        has_open = any(o.state in ("live", "partially_filled") for o in self.managers[symbol].open_orders())
        if roll < 0.55 or not has_open:
            return "place", symbol
        return ("amend" if roll < 0.8 else "cancel"), symbol

    def _spec(self, manager: OrderManager) -> OrderSpec:
        rules = manager.rules
        mid = manager.mid
        assert mid is not None
        side = self.rng.choice(("buy", "sell"))
        amount = rules.min_size * self.rng.randint(1, 5)
        if self.rng.random() < 0.15:
            return OrderSpec(side, amount)  # a market order: fills at once, frees its clOrdId
        # a third cross the spread and fill (fills to reconcile), the rest rest on the book
        offset = Decimal(self.rng.choice((-3, -2, 2, 5, 10, 20))) / 1000
        if side == "sell":
            offset = -offset
        return OrderSpec(side, amount, _round(mid * (1 - offset), rules.tick_size))

    async def step(self, op: str, symbol: str) -> None:
        """One intent: `place`, `amend`, `cancel`, or a wave sent through the batch endpoints:
        `place-wave` (2-6 orders), `amend-wave`, `cancel-wave` (the live orders, up to 6)."""
        manager = self.managers[symbol]
        rules = manager.rules
        live = [o for o in manager.open_orders() if o.state in ("live", "partially_filled")]
        if not live or (op.startswith("amend") and not any(o.price is not None for o in live)):
            op = "place"  # nothing to amend or cancel (a market order is live only until its fill)
        if op.startswith("amend"):
            live = [o for o in live if o.price is not None]
        self.ops[op] += 1
        try:
            if op == "place":
                spec = self._spec(manager)
                await manager.place(spec.side, spec.amount, spec.price)
            elif op == "place-wave":
                await manager.place_many([self._spec(manager) for _ in range(self.rng.randint(2, 6))])
            elif op == "amend":
                order = self.rng.choice(live)
                assert order.price is not None  # chosen among priced orders above
                nudge = Decimal(self.rng.choice((-2, -1, 1, 2))) * rules.tick_size
                await manager.amend(order.client_order_id, price=order.price + nudge)
            elif op == "amend-wave":
                chosen = self.rng.sample(live, min(len(live), 6))
                await manager.amend_many(
                    [
                        AmendSpec(
                            o.client_order_id, price=o.price + self.rng.choice((-1, 1)) * rules.tick_size
                        )
                        for o in chosen
                        if o.price is not None
                    ]
                )
            elif op == "cancel-wave":
                await manager.cancel_many(
                    [o.client_order_id for o in self.rng.sample(live, min(len(live), 6))]
                )
            else:
                await manager.cancel(self.rng.choice(live).client_order_id)
        except OkxError as err:
            self.errors.append(str(err))
        self.errors += [e for e in manager.stats.errors if e not in self.errors][-5:]

    async def settle(self, rounds: int = 6) -> None:
        """Cancel what is open and wait until every doubt is settled and nothing is left open."""
        for _ in range(rounds):
            left = await asyncio.gather(*(self._settle_one(m) for m in self.managers.values()))
            if sum(left) == 0:
                return

    async def _settle_one(self, manager: OrderManager) -> int:
        try:
            remaining = await manager.cancel_all_own()
            settled = await manager.settle(30)
            await manager.poll()
            return remaining + len(manager.open_orders()) + (0 if settled else 1)
        except OkxError as err:
            self.errors.append(str(err))
            return 1

    def unknown_outcomes(self) -> int:
        """Placements whose answer left the outcome unknown (each settled in the background)."""
        return sum(m.stats.unknown for m in self.managers.values())

    async def close(self) -> None:
        if self.feed is not None:
            self.feed.cancel()
            await asyncio.gather(self.feed, return_exceptions=True)
        for manager in self.managers.values():
            await manager.close()
            manager.journal.close()


@dataclass(frozen=True)
class Audit:
    intents: int
    exchange_orders: int
    duplicates: int  # clOrdIds with more than one order on the exchange
    unresolved: int  # journal orders still intent / sent / unknown / open
    state_mismatches: int  # journal state or filled amount differs from the exchange's order
    missing_in_journal: int  # exchange orders (of this key) the journal does not know
    fills_exchange: int
    fill_mismatches: int  # tradeIds on one side only, or a different size / price
    examples: list[str]


_JOURNAL_STATE = {
    "live": "live",
    "partially_filled": "partially_filled",
    "filled": "filled",
    "canceled": "canceled",
    "mmp_canceled": "canceled",
}


def audit(sim: RunningSim, uid: str, journals: list[Journal], final: bool = True) -> Audit:
    """Compare the journals with the simulator's own record of this account's orders and fills."""
    exchange = list(sim.admin("GET", f"/__sim__/orders?uid={uid}")["orders"])
    by_cid: dict[str, list[dict[str, Any]]] = {}
    for o in exchange:
        by_cid.setdefault(str(o.get("clOrdId", "")), []).append(o)
    # every fill the engine keeps for the account (its list endpoints page 100 at a time)
    fills = sim.call(lambda: [dict(r) for r in sim.ctx.exchange._account(uid).fills])
    examples: list[str] = []
    duplicates = sum(1 for cid, orders in by_cid.items() if len(orders) > 1)
    if duplicates:
        examples.append(f"duplicate clOrdIds: {[c for c, os in by_cid.items() if len(os) > 1][:3]}")
    orders = [o for j in journals for o in j.orders()]
    known = {o.client_order_id for o in orders}
    unresolved = mismatches = 0
    for o in orders:
        unresolved_state = o.state not in FINAL if final else o.state in ("intent", "sent", "unknown")
        if unresolved_state:
            unresolved += 1
            if len(examples) < 6:
                examples.append(f"{o.client_order_id} left {o.state}")
        on_exchange = by_cid.get(o.client_order_id, [])
        if o.state == "rejected" or o.state in ("intent", "sent", "unknown"):
            if o.state == "rejected" and on_exchange:
                mismatches += 1
                examples.append(f"{o.client_order_id} journaled rejected but exists on the exchange")
            continue
        if not on_exchange:
            mismatches += 1
            examples.append(f"{o.client_order_id} journaled {o.state} but not on the exchange")
            continue
        real = on_exchange[0]
        if (
            _JOURNAL_STATE.get(str(real["state"])) != o.state
            or Decimal(str(real["accFillSz"] or "0")) != o.filled
        ):
            mismatches += 1
            if len(examples) < 8:
                examples.append(
                    f"{o.client_order_id}: journal {o.state}/{o.filled}, exchange {real['state']}/{real['accFillSz']}"
                )
    missing = sum(1 for cid in by_cid if cid not in known)
    if missing:
        examples.append(
            f"{missing} exchange orders unknown to the journal, e.g. {next(c for c in by_cid if c not in known)}"
        )
    journal_fills = {(f.symbol.replace("/", "-"), f.trade_id): f for j in journals for f in j.fills()}
    exchange_fills = {(str(r["instId"]), str(r["tradeId"])): r for r in fills}
    fill_mismatches = len(set(journal_fills) ^ set(exchange_fills))
    for k in set(journal_fills) & set(exchange_fills):
        jf, ef = journal_fills[k], exchange_fills[k]
        if jf.size != Decimal(str(ef["fillSz"])) or jf.price != Decimal(str(ef["fillPx"])):
            fill_mismatches += 1
    if fill_mismatches:
        examples.append(
            f"fills: {len(set(exchange_fills) - set(journal_fills))} only on the exchange, "
            f"{len(set(journal_fills) - set(exchange_fills))} only in the journal"
        )
    return Audit(
        len(orders),
        len(exchange),
        duplicates,
        unresolved,
        mismatches,
        missing,
        len(exchange_fills),
        fill_mismatches,
        examples,
    )
