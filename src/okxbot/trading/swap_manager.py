"""A perpetual-swap bot's orders and positions: units -> contracts, OKX's pre-trade checks, the swap risk
rules, the journal's swap rows, and the views the strategy reads (positions, leverage, mark, funding).

`place` plans the order through the `SwapVenue` (okxbot.okx.swap_orders: exact unit conversion,
account / position mode, reduce-only, leverage tier; nothing sent), runs the swap rules
(okxbot.trading.swap_risk) and the guard's general rules, journals the swap fields and the attached
stop (state "expected") and then hands the intent to the order manager, which journals and sends it
exactly as a spot order (write-ahead, never twice). A stop-loss / take-profit rides on the order as
`attachAlgoOrds` (trigger price type from `[swap] trigger_price_type`, default mark): OKX creates it
when the entry fills, so the protection lives on the exchange.

Positions: the journal keeps what the bot's fills add up to (its orders and the orders its algo orders
placed when they fired) per posSide; `refresh` reads OKX's positions, mark, funding rate and funding
bills (new payments: `on_funding`), and a change of OKX's positions queues `on_position`.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from okxbot.okx.algos import StopSpec, TrailingSpec
from okxbot.okx.contracts import ContractSpec, Unit, plain
from okxbot.okx.errors import OkxBadRequest, OkxError
from okxbot.okx.ids import new_client_order_id
from okxbot.okx.swap_models import AccountSettings, FundingRate, Position
from okxbot.okx.swap_orders import SwapOrderPlan
from okxbot.trading.config import BotConfig
from okxbot.trading.journal import JournalFill, JournalOrder
from okxbot.trading.orders import LOCAL, OrderManager
from okxbot.trading.risk import ProposedOrder, RiskRefused
from okxbot.trading.swap_algos import AlgoKeeper
from okxbot.trading.swap_journal import FundingPayment, JournalAlgo, SwapJournal, SwapOrderFields
from okxbot.trading.swap_risk import SwapRiskView, check_swap
from okxbot.trading.venue import SwapVenue

log = logging.getLogger("okxbot.trading.swaps")
ZERO = Decimal(0)
DAY_MS = 86_400_000
# OKX's callbackRatio range (0.001 = 0.1 %, 1 = 100 %): a ratio outside it is refused before sending
CALLBACK_RATIO_MIN = Decimal("0.001")
CALLBACK_RATIO_MAX = Decimal(1)

Emit = Callable[[str, Any], Awaitable[None] | None]


@dataclass(frozen=True)
class NextFunding:
    """The coming funding settlement: the current rate, and when it is settled (ms)."""

    rate: Decimal
    time_ms: int
    interval_hours: Decimal | None


class SwapManager:
    def __init__(
        self,
        manager: OrderManager,
        venue: SwapVenue,
        journal: SwapJournal,
        config: BotConfig,
        spec: ContractSpec,
        settings: AccountSettings,
        emit: Emit,
    ) -> None:
        assert config.swap is not None
        self.m = manager
        self.venue = venue
        self.journal = journal
        self.config = config
        self.swap = config.swap
        self.spec = spec
        self.settings = settings
        self.symbol = spec.symbol
        self._emit = emit
        self.positions: list[Position] = []  # OKX's, as of the last refresh
        self.mark: Decimal | None = None
        self.funding: FundingRate | None = None
        self.leverage: Decimal | None = None
        self.algos = AlgoKeeper(self)
        # fills journaled by a run killed before it moved its position
        self.journal.catch_up_positions(self.symbol)
        manager.adopt = self.algos.adopt_child
        if not spec.inverse:
            manager.value_sizes(spec.contract_size)  # PnL and the daily loss limit in USDT, not contracts
        manager.listeners.append(self._on_manager_event)

    # ---- views --------------------------------------------------------------------------------------
    def journal_positions(self) -> dict[str, Decimal]:
        """posSide -> contracts the bot's journaled fills add up to (net: signed)."""
        return {k: v for k, v in self.journal.positions(self.symbol).items() if v}

    def position(self, pos_side: str | None = None) -> Decimal:
        """The bot's position in contracts: net mode signed (short < 0); long/short mode the side's
        size (`pos_side` long or short; None: long minus short)."""
        held = self.journal.positions(self.symbol)
        if pos_side is not None:
            return held.get(pos_side, ZERO)
        if self.settings.hedged:
            return held.get("long", ZERO) - held.get("short", ZERO)
        return held.get("net", ZERO)

    def next_funding(self) -> NextFunding | None:
        f = self.funding
        return None if f is None else NextFunding(f.rate, f.funding_time, f.interval_hours)

    def funding_paid_today(self) -> Decimal:
        now = self.m.clock.now_ms()
        paid = sum(
            (-p.amount for p in self.journal.funding(now - now % DAY_MS) if p.symbol == self.symbol), ZERO
        )
        return max(paid, ZERO)

    # ---- placing ----------------------------------------------------------------------------------------
    def stop_spec(self, trigger: Decimal | StopSpec | None) -> StopSpec | None:
        if trigger is None or isinstance(trigger, StopSpec):
            return trigger
        return StopSpec(Decimal(trigger), None, self.swap.trigger_price_type)

    @staticmethod
    def trailing_spec(trailing: Decimal | TrailingSpec | None) -> TrailingSpec | None:
        """A TrailingSpec, or a bare Decimal as its callback ratio (0.02 = 2 %); OkxBadRequest (local)
        for a ratio outside OKX's range."""
        if trailing is None:
            return None
        if isinstance(trailing, TrailingSpec):
            spec = trailing
        else:
            try:
                ratio = Decimal(str(trailing))
            except ArithmeticError:
                raise OkxBadRequest(
                    None, f"trailing {trailing!r}", "Give a callback ratio (0.02 for 2 %) or a TrailingSpec.",
                    local=True,
                ) from None  # fmt: skip
            spec = TrailingSpec(callback_ratio=ratio)
        ratio = spec.callback_ratio
        if ratio is not None and not CALLBACK_RATIO_MIN <= ratio <= CALLBACK_RATIO_MAX:
            hint = f"; for {plain(ratio)} % give {plain(ratio / 100)}" if 1 < ratio <= 100 else ""
            raise OkxBadRequest(
                None,
                f"trailing callback ratio {plain(ratio)} is outside OKX's range "
                f"{plain(CALLBACK_RATIO_MIN)}..{plain(CALLBACK_RATIO_MAX)} (a ratio: 0.02 = 2 %{hint})",
                "Give the callback as a ratio: 0.02 for 2 %.",
                local=True,
            )
        return spec

    async def place(
        self,
        side: str,
        amount: Decimal,
        price: Decimal | None = None,
        *,
        unit: Unit = "contracts",
        pos_side: str | None = None,
        reduce_only: bool = False,
        post_only: bool = False,
        stop_loss: Decimal | StopSpec | None = None,
        take_profit: Decimal | StopSpec | None = None,
        trailing: Decimal | TrailingSpec | None = None,
    ) -> JournalOrder | None:
        """Plan, check, journal and send one swap order; None when a check refused it (the reason is in
        `stats.errors` and the log; nothing was sent). Long/short mode without `pos_side`: the side
        the order opens (buy long, sell short), or closes when `reduce_only`. `trailing` (market
        entries only): a TrailingSpec, or a Decimal callback ratio; okxbot places the reduce-only
        move_order_stop for the filled size once the entry has filled (OKX cannot attach one)."""
        if pos_side is None and self.settings.hedged:
            pos_side = (
                ("long" if side == "buy" else "short")
                if not reduce_only
                else ("short" if side == "buy" else "long")
            )
        try:
            plan = await self.venue.prepare_swap_order(
                self.symbol, side, amount, unit, price,
                margin_mode=self.swap.margin_mode, pos_side=pos_side, reduce_only=reduce_only,
                post_only=post_only, stop_loss=self.stop_spec(stop_loss), take_profit=self.stop_spec(take_profit),
                trailing=self.trailing_spec(trailing),
            )  # fmt: skip
        except OkxError as err:
            if not err.local:
                self.m.stats.error(f"swap order not checked: {err.message}")
                return None
            self.m._answered("place", LOCAL)
            self.m.stats.error(f"order refused before sending: {err.message}")
            log.warning("swap order refused before sending: %s", err)
            return None
        try:
            self.check(plan)
        except RiskRefused as refused:
            self.m.stats.refused += 1
            self.m.stats.error(str(refused))
            return None
        return await self.send(plan)

    def check(self, plan: SwapOrderPlan) -> None:
        """The swap rules, then the guard's general ones (which count the order in the rate rule)."""
        try:
            check_swap(plan, self.risk_view(plan), self.config.risk)
        except RiskRefused as refused:
            self.m.risk.refusals.append((refused.rule, str(refused)))
            log.warning(
                "order refused by risk rule %s: %s", refused.rule, refused, extra={"rule": refused.rule}
            )
            raise
        base = self.spec.amount(plan.contracts, "base", plan.intent.price or plan.mark)
        view = self.m._view()
        if self.m.mid is None:
            self.m.mid = plan.mark  # the price band needs a reference: the mark until a ticker came
        self.m.risk.check(ProposedOrder(self.symbol, plan.intent.side, base, plan.intent.price), view)

    def risk_view(self, plan: SwapOrderPlan) -> SwapRiskView:
        f = self.funding
        hours = (f.interval_hours if f is not None else None) or Decimal(8)
        protects = "long" if plan.position_after > 0 else "short"
        if self.settings.hedged:
            protects = plan.intent.pos_side
        covered = sum(
            (
                a.size or ZERO
                for a in self.journal.algos(final=False)
                if (a.stop_loss is not None or a.ord_type == "move_order_stop") and a.protects == protects
            ),
            ZERO,
        )
        return SwapRiskView(
            funding_rate=f.rate if f is not None else None,
            settlements_per_day=Decimal(24) / hours,
            funding_paid_today=self.funding_paid_today(),
            covered_by_stops=covered,
        )

    async def send(self, plan: SwapOrderPlan) -> JournalOrder | None:
        """Journal the swap fields (and the attached algo, expected), then the order manager's write-ahead
        and send."""
        intent = plan.intent
        attached: list[JournalAlgo] = []
        attach_id = None
        if intent.attach_algos:
            item = intent.attach_algos[0]
            attach_id = item["attachAlgoClOrdId"]
            both = plan.stop_loss is not None and plan.take_profit is not None
            leg = plan.stop_loss or plan.take_profit
            attached.append(
                JournalAlgo(
                    attach_id,
                    self.symbol,
                    intent.client_order_id,
                    "attached",
                    "oco" if both else "conditional",
                    "sell" if intent.side == "buy" else "buy",
                    intent.pos_side or "net",
                    None,
                    plan.stop_loss.trigger if plan.stop_loss else None,
                    plan.take_profit.trigger if plan.take_profit else None,
                    leg.trigger_type if leg else "",
                    "expected",
                    None,
                )
            )
        trailing = None
        if plan.trailing is not None:
            follower = JournalAlgo(
                new_client_order_id(), self.symbol, intent.client_order_id, "trailing", "move_order_stop",
                "sell" if intent.side == "buy" else "buy", intent.pos_side or "net", None, None, None,
                "last", "expected", None, note="placed once its entry has filled",
            )  # fmt: skip
            trailing = (follower, plan.trailing)
        self.journal.record_order(
            SwapOrderFields(
                intent.client_order_id,
                self.symbol,
                intent.pos_side or "net",
                intent.td_mode,
                intent.reduce_only,
                attach_id,
            ),
            attached,
            trailing,
        )
        return await self.m.send_prepared(intent)

    async def close_position(self, pos_side: str | None = None) -> list[JournalOrder | None]:
        """Reduce-only market orders closing the bot's position (one side in long/short mode; both when
        `pos_side` is None)."""
        results: list[JournalOrder | None] = []
        for side_name, held in self.journal_positions().items():
            if pos_side is not None and side_name != pos_side:
                continue
            if self.settings.hedged:
                side = "sell" if side_name == "long" else "buy"
                results.append(await self.place(side, abs(held), pos_side=side_name))
            else:
                results.append(await self.place("sell" if held > 0 else "buy", abs(held), reduce_only=True))
        return results

    # ---- positions, fills and funding -------------------------------------------------------------------
    async def _on_manager_event(self, kind: str, payload: Any) -> None:
        if kind == "fill":
            assert isinstance(payload, JournalFill)
            self.add_fill(payload)
            await self.algos.follow_entry(payload.client_order_id)

    def add_fill(self, fill: JournalFill) -> None:
        """A journaled fill moves the journal's position of its order's posSide (once)."""
        fields = self.journal.order_fields(fill.client_order_id)
        self.journal.apply_fill(fill, fields.pos_side if fields is not None else "net")

    async def refresh(self) -> None:
        """OKX's positions, mark, funding and the bot's funding bills; hooks queued for what changed."""
        positions = [
            p for p in await self.venue.positions(self.symbol) if p.margin_mode == self.swap.margin_mode
        ]
        shape = [(p.pos_side, p.contracts) for p in positions]
        if shape != [(p.pos_side, p.contracts) for p in self.positions]:
            self.positions = positions
            await self._call_emit("position", positions)
        else:
            self.positions = positions
        self.mark = await self.venue.mark_price(self.symbol)
        self.funding = await self.venue.funding_rate(self.symbol)
        pos_side = "net" if not self.settings.hedged else "long"
        self.leverage = await self.venue.leverage(self.symbol, self.swap.margin_mode, pos_side)
        # bills from before the bot's first order belong to whoever traded the account before it
        first = self.journal.first_order_ms()
        for bill in reversed(await self.venue.funding_bills(self.symbol)):  # oldest first
            if first is None or int(bill.get("ts") or 0) < first:
                continue
            payment = FundingPayment(self.symbol, str(bill.get("billId")), Decimal(str(bill.get("balChg") or "0")),
                                     int(bill.get("ts") or 0))  # fmt: skip
            if self.journal.add_funding(payment):
                await self._call_emit("funding", payment)

    async def _call_emit(self, kind: str, payload: Any) -> None:
        result = self._emit(kind, payload)
        if result is not None:
            await result

    def summary(self) -> dict[str, str]:
        """What a swap bot leaves behind, for the run summary."""
        held = self.journal_positions()
        algos = self.journal.algos()
        return {
            "position left (contracts)": ", ".join(f"{k} {v}" for k, v in held.items()) or "flat",
            "stops live on the exchange": str(sum(1 for a in algos if a.state == "live")),
            "stops that fired / replaced": (
                f"{sum(1 for a in algos if a.state == 'effective')} / {sum(1 for a in algos if a.state == 'missing')}"
            ),
            "funding (settle ccy, + received)": format(
                sum((p.amount for p in self.journal.funding()), ZERO), "f"
            ),
        }

    async def exchange_matches_journal(self) -> bool:
        """OKX's positions of the symbol are the journal's (what the bot's fills add up to)."""
        ours = self.journal_positions()
        theirs = {
            ("net" if not self.settings.hedged else p.pos_side): p.contracts
            for p in await self.venue.positions(self.symbol)
            if p.margin_mode == self.swap.margin_mode and p.contracts
        }
        return ours == theirs
