"""Swap orders for `client.derivatives`: sized in an explicit unit, checked before sending, protected on
the exchange, placed exactly once.

`prepare_order(symbol, side, amount, unit, ...)` converts the amount to contracts exactly
(okxbot.okx.contracts) and runs every pre-trade check (okxbot.okx.pretrade) with nothing sent to the
order endpoints: account mode, posSide against the position mode, reduce-only against the position,
the leverage in force against the position tier the order would reach, and the estimated liquidation
price against a minimum distance from the mark (okxbot.okx.liquidation). It returns a `SwapOrderPlan`
whose `intent` is an `OrderIntent` (contracts, tdMode, posSide, reduceOnly, attachAlgoOrds).

`place(plan)` sends it through `OkxClient.place` (clOrdId, expTime, never twice). A stop-loss and a
take-profit ride on the order as `attachAlgoOrds`: OKX creates them (one `oco` for both) when the order
has fully filled, so the protection lives on the exchange even if okxbot dies right after. OKX cannot
attach a trailing stop, so `trailing` follows a market entry as a reduce-only `move_order_stop` placed
as soon as the entry is filled (and is refused up front for a resting limit entry).

`close_intents(position)` / `close_position(position)`: reduce-only market orders (net mode:
`reduceOnly`; long/short mode: the closing side of that posSide), split at the market-order cap.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from okxbot.okx import pretrade
from okxbot.okx.algos import AlgoRequest, StopSpec, TrailingSpec
from okxbot.okx.contracts import ContractSpec, Size, Unit, plain
from okxbot.okx.errors import OkxBadRequest, OkxError, OkxInvalidOrder, answers_are_checked
from okxbot.okx.ids import new_client_order_id
from okxbot.okx.liquidation import after_fill, liquidation_price
from okxbot.okx.swap_models import AccountSettings, AlgoOrder, Position
from okxbot.okx.validate import order_basics

if TYPE_CHECKING:
    from okxbot.okx.client import OkxClient, OrderIntent
    from okxbot.okx.contracts import ContractSpec as _Spec
    from okxbot.okx.models import Order
    from okxbot.okx.swap_models import LeverageSetting, MarkPrice, Tier

ZERO = Decimal(0)
DEFAULT_MIN_LIQ_DISTANCE = Decimal("0.05")  # the CLI's default: 5 % of the mark
FILL_WAIT_S = 10.0  # how long a market entry's fill is awaited before its trailing stop


@dataclass(frozen=True)
class SwapOrderPlan:
    """A checked swap order and what okxbot worked out for it; nothing has been sent yet."""

    intent: OrderIntent
    spec: ContractSpec
    requested: Size
    conversion_price: Decimal | None  # the price a base/quote amount was converted at
    conversion_source: str  # "limit price" | "mark price" | ""
    margin_mode: str
    leverage: Decimal
    position_before: Decimal  # signed contracts of the position the order acts on
    position_after: Decimal
    mark: Decimal
    estimated_liquidation: Decimal | None  # after the order; None: none, or the order only reduces
    stop_loss: StopSpec | None = None
    take_profit: StopSpec | None = None
    trailing: TrailingSpec | None = None

    @property
    def contracts(self) -> Decimal:
        return self.intent.amount

    def describe(self) -> str:
        """One line for the user, said before sending: contracts and what they are worth."""
        spec, c = self.spec, self.contracts
        fixed_unit = "base" if not spec.inverse else "quote"  # what a contract is worth without a price
        worth = f"{plain(spec.amount(c, fixed_unit))} {spec.unit_ccy(fixed_unit)}"
        if self.requested.unit not in ("contracts", fixed_unit):
            asked = f"{plain(self.requested.value)} {spec.unit_ccy(self.requested.unit)}"
            if self.conversion_price is not None:
                asked += f" at the {self.conversion_source} {plain(self.conversion_price)}"
            worth = f"{asked} = {worth}"
        text = (
            f"{self.intent.side} {plain(c)} contracts of {spec.symbol} ({worth}), {self.margin_mode} margin"
        )
        if self.intent.pos_side:
            text += f", posSide {self.intent.pos_side}"
        if self.intent.reduce_only:
            text += ", reduce-only"
        text += f", {plain(self.leverage)}x"
        if self.estimated_liquidation is not None:
            text += f", est. liquidation {plain(self.estimated_liquidation.quantize(Decimal('0.01')))}"
        return text


@dataclass(frozen=True)
class SwapPlacement:
    """What `place` did: the order, and the trailing stop that follows it (or why it is missing)."""

    order: Order
    trailing: AlgoOrder | None = None
    trailing_error: OkxError | None = None


@answers_are_checked
class SwapOrderEntry:
    """The order half of `Derivatives` (a mixin: it uses the reads of `okxbot.okx.derivatives`)."""

    client: OkxClient

    if TYPE_CHECKING:

        async def contract(self, symbol: str) -> _Spec: ...
        async def settings(self) -> AccountSettings: ...
        async def positions(self, symbol: Any = None) -> list[Position]: ...
        async def tiers(self, symbol: str, margin_mode: str = "cross") -> tuple[Tier, ...]: ...
        async def taker_fee(self, spec: _Spec) -> Decimal: ...
        async def mark_price(self, symbol: str) -> MarkPrice: ...
        async def leverage(self, symbol: str, margin_mode: str = "cross") -> list[LeverageSetting]: ...
        async def leverage_in_force(self, spec: _Spec, margin_mode: str, pos_side: str) -> Decimal: ...
        async def balance_detail(self, ccy: str) -> dict[str, Any]: ...

    async def prepare_order(
        self,
        symbol: str,
        side: str,
        amount: Decimal | str,
        unit: Unit,
        price: Decimal | str | None = None,
        *,
        margin_mode: str = "cross",
        pos_side: str | None = None,
        reduce_only: bool = False,
        post_only: bool = False,
        ioc: bool = False,
        fok: bool = False,
        stop_loss: StopSpec | None = None,
        take_profit: StopSpec | None = None,
        trailing: TrailingSpec | None = None,
        min_liq_distance: Decimal | None = None,
        client_order_id: str | None = None,
    ) -> SwapOrderPlan:
        """Check a swap order and build what will be sent; every refusal is local (nothing sent).

        `unit`: what `amount` counts (contracts, base or quote currency; no default). A base/quote
        amount that needs a price converts at `price`, or at the mark price for a market order.
        `min_liq_distance`: refuse when the estimated liquidation price would be closer to the mark
        than this fraction (0.05 = 5 %); None or 0 turns the check off."""
        basics = order_basics(
            side, amount, price, post_only=post_only, ioc=ioc, fok=fok, client_order_id=client_order_id
        )
        pretrade.margin_mode(margin_mode)
        cid, qty, px, order_type = basics.client_order_id, basics.amount, basics.price, basics.order_type
        size = Size(qty, unit)
        spec = await self.contract(symbol)
        if spec.state != "live":
            raise OkxInvalidOrder(
                None, f"{spec.symbol} is not trading now (state: {spec.state})", "Wait until it is live.",
                "BadSymbol", local=True,
            )  # fmt: skip
        if px is not None:
            self._check_tick(spec, px)
        if trailing is not None and px is not None:
            raise OkxBadRequest(
                None,
                "a trailing stop can only follow a market entry",
                "OKX attaches TP/SL to a resting order but not a trailing stop: use a market order with "
                "--trail, or a limit order with --sl / --tp.",
                local=True,
            )
        if reduce_only and (stop_loss or take_profit or trailing):
            raise OkxInvalidOrder(
                "51100",
                "a reduce-only order cannot carry a stop-loss, take-profit or trailing stop",
                "Attach protection to the order that opens the position, or use `okxbot algos` for an "
                "existing one.",
                local=True,
            )
        settings = await self.settings()
        pretrade.account_mode(settings, margin_mode, spec.symbol)
        side_sent = pretrade.position_side(settings, pos_side, side)
        mark = (await self.mark_price(spec.symbol)).mark
        conv_price, source = None, ""
        if spec.needs_price(unit):
            conv_price, source = (px, "limit price") if px is not None else (mark, "mark price")
        contracts = spec.contracts(size, conv_price, market=px is None)

        rows = [p for p in await self.positions(spec.symbol) if p.margin_mode == margin_mode]
        held, held_avg, held_margin = self._held(rows, settings, side_sent)
        signed = contracts if side == "buy" else -contracts
        closing = settings.hedged and (side == "sell") == (side_sent == "long")
        send_reduce = False
        if reduce_only or closing:
            send_reduce = pretrade.reduce_only(
                settings, side, side_sent, contracts, abs(held) if settings.hedged else held, spec.symbol
            )
            if closing and (stop_loss or take_profit or trailing):
                raise OkxInvalidOrder(
                    "51333",
                    f"a {side} on the {side_sent} side closes that position and cannot carry TP/SL",
                    "Attach protection to the order that opens the position.",
                    local=True,
                )
        after = held + signed
        fill_px = px if px is not None else mark
        for name, leg in (("take-profit", take_profit), ("stop-loss", stop_loss)):
            if leg is not None:
                self._check_leg(spec, name, leg, side, fill_px, px is None)
        lever = await self.leverage_in_force(spec, margin_mode, side_sent)
        estimate: Decimal | None = None
        increases = abs(after) > abs(held) or (held and after and (held > 0) != (after > 0))
        if increases:
            tiers = await self.tiers(spec.symbol, margin_mode)
            pretrade.leverage_for_size(spec, tiers, lever, abs(after), setting=False)
            fee = await self.taker_fee(spec)
            cross_margin = ZERO
            if margin_mode == "cross":
                cross_margin = await self._cross_margin(spec, side_sent, fee)
            shape = after_fill(
                spec, held, held_avg, held_margin, signed, fill_px,
                isolated=margin_mode == "isolated", leverage=lever, cross_margin=cross_margin, fee_rate=fee,
            )  # fmt: skip
            if shape is not None:
                estimate = liquidation_price(spec, shape, tiers, fee)
                if min_liq_distance:
                    pretrade.liquidation_distance(
                        spec.symbol, mark, estimate, min_liq_distance, "long" if after > 0 else "short"
                    )
        if trailing is not None and trailing.activation_price is not None:
            self._check_activation(spec, trailing.activation_price, side, mark)
        attach: tuple[dict[str, str], ...] = ()
        if stop_loss or take_profit:
            item = {"attachAlgoClOrdId": new_client_order_id()}
            if stop_loss:
                item.update(stop_loss.fields("sl"))
            if take_profit:
                item.update(take_profit.fields("tp"))
            attach = (item,)
        from okxbot.okx.client import OrderIntent

        intent = OrderIntent(
            spec.symbol, spec.inst_id, side, contracts, px, order_type, cid,
            td_mode=margin_mode, pos_side=side_sent, reduce_only=send_reduce, attach_algos=attach,
        )  # fmt: skip
        return SwapOrderPlan(
            intent, spec, size, conv_price, source, margin_mode, lever, held, after, mark, estimate,
            stop_loss, take_profit, trailing,
        )  # fmt: skip

    async def place_plan(
        self,
        plan: SwapOrderPlan,
        *,
        confirm: bool = True,
        place: Callable[[OrderIntent], Awaitable[Order]] | None = None,
    ) -> SwapPlacement:
        """Send a prepared swap order (exactly once: `OkxClient.place`, or `place`, e.g. one that
        journals the intent first), then its trailing stop once the entry has filled."""
        if place is None:
            order = await self.client.place(plan.intent, confirm=confirm)
        else:
            order = await place(plan.intent)
        if plan.trailing is None:
            return SwapPlacement(order)
        try:
            filled = await self._await_fill(order)
            algo = await self.client.algos.place(self.trailing_request(plan, filled.filled))
        except OkxError as err:
            return SwapPlacement(order, None, err)
        return SwapPlacement(order, algo)

    def trailing_request(self, plan: SwapOrderPlan, contracts: Decimal) -> AlgoRequest:
        """The reduce-only trailing stop that protects what `plan`'s entry opened."""
        assert plan.trailing is not None
        intent = plan.intent
        return AlgoRequest(
            plan.spec.symbol, plan.spec.inst_id, "sell" if intent.side == "buy" else "buy", "move_order_stop",
            intent.td_mode, contracts, new_client_order_id(), pos_side=intent.pos_side,
            reduce_only=not intent.pos_side, trailing=plan.trailing,
        )  # fmt: skip

    async def _await_fill(self, order: Order) -> Order:
        """The entry once fully filled (market orders fill at once; OKX's read endpoints may lag)."""
        deadline = asyncio.get_running_loop().time() + FILL_WAIT_S
        current = order
        delay = 0.1
        while current.state != "filled":
            if current.state in ("canceled", "mmp_canceled") or asyncio.get_running_loop().time() > deadline:
                raise OkxInvalidOrder(
                    None,
                    f"the entry {order.client_order_id} is {current.state} ({plain(current.filled)} of "
                    f"{plain(order.amount)} contracts filled): the trailing stop was not placed",
                    "Protect what was filled with `okxbot algos` or close it (`okxbot positions`).",
                )
            await asyncio.sleep(delay)
            delay = min(delay * 2, 1.0)
            current = await self.client.fetch_order(order.symbol, client_order_id=order.client_order_id)
        return current

    # ---- protecting and closing an existing position ------------------------------------------------
    async def protect(
        self,
        position: Position,
        *,
        stop_loss: StopSpec | None = None,
        take_profit: StopSpec | None = None,
        trailing: TrailingSpec | None = None,
    ) -> list[AlgoOrder]:
        """Place reduce-only TP/SL (one `oco` for both) and/or a trailing stop on `position`, sized to it."""
        from okxbot.okx.algos import protective_type

        spec = await self.contract(position.symbol)
        side = "sell" if position.side == "long" else "buy"
        pos_side = position.pos_side if position.pos_side in ("long", "short") else ""
        mark = (await self.mark_price(spec.symbol)).mark
        entry_side = "buy" if position.side == "long" else "sell"
        requests = []
        if stop_loss or take_profit:
            for name, leg in (("take-profit", take_profit), ("stop-loss", stop_loss)):
                if leg is not None:
                    self._check_leg(spec, name, leg, entry_side, mark, True)
            requests.append(
                AlgoRequest(
                    spec.symbol,
                    spec.inst_id,
                    side,
                    protective_type(stop_loss, take_profit),
                    position.margin_mode,
                    position.size,
                    new_client_order_id(),
                    pos_side=pos_side,
                    reduce_only=not pos_side,
                    stop_loss=stop_loss,
                    take_profit=take_profit,
                )
            )
        if trailing is not None:
            if trailing.activation_price is not None:
                self._check_activation(spec, trailing.activation_price, entry_side, mark)
            requests.append(
                AlgoRequest(
                    spec.symbol,
                    spec.inst_id,
                    side,
                    "move_order_stop",
                    position.margin_mode,
                    position.size,
                    new_client_order_id(),
                    pos_side=pos_side,
                    reduce_only=not pos_side,
                    trailing=trailing,
                )
            )
        if not requests:
            raise OkxBadRequest(None, "nothing to place", "Give --sl, --tp or --trail.", local=True)
        return [await self.client.algos.place(r) for r in requests]

    async def close_intents(self, position: Position) -> list[OrderIntent]:
        """Reduce-only market orders closing `position` (several if it exceeds the market-order cap)."""
        from okxbot.okx.client import OrderIntent

        spec = await self.contract(position.symbol)
        side = "sell" if position.side == "long" else "buy"
        hedged = position.pos_side in ("long", "short")
        cap = spec.max_market_size or position.size
        left, intents = position.size, []
        while left > 0:
            chunk = min(left, cap)
            left -= chunk
            intents.append(
                OrderIntent(
                    spec.symbol,
                    spec.inst_id,
                    side,
                    chunk,
                    None,
                    "market",
                    new_client_order_id(),
                    td_mode=position.margin_mode,
                    pos_side=position.pos_side if hedged else "",
                    reduce_only=not hedged,
                )
            )
        return intents

    async def liquidation_estimate(self, position: Position) -> Decimal | None:
        """okxbot's estimate of `position`'s liquidation price (okxbot.okx.liquidation), from its entry,
        size and margin: what the pre-trade check uses for the position an order would leave."""
        from okxbot.okx.liquidation import PositionShape

        spec = await self.contract(position.symbol)
        fee = await self.taker_fee(spec)
        tiers = await self.tiers(spec.symbol, position.margin_mode)
        signed = -position.size if position.side == "short" else position.size
        if position.margin_mode == "isolated":
            margin = position.margin or ZERO
        else:
            margin = await self._cross_margin(spec, position.pos_side, fee)
        shape = PositionShape(signed, position.average_price or ZERO, margin)
        return liquidation_price(spec, shape, tiers, fee)

    # ---- helpers --------------------------------------------------------------------------------------
    @staticmethod
    def _check_tick(spec: ContractSpec, px: Decimal) -> None:
        if px <= 0:
            raise OkxInvalidOrder(
                "51000", f"price {plain(px)} must be greater than 0", "Give a positive price.", local=True
            )
        if spec.tick_size and px % spec.tick_size:
            raise OkxInvalidOrder(
                "51000",
                f"price {plain(px)} is not a multiple of the tick size {plain(spec.tick_size)} of {spec.symbol}",
                f"Round the price to the tick size {plain(spec.tick_size)}.",
                "BadRequest",
                local=True,
            )

    def _check_leg(
        self, spec: ContractSpec, name: str, leg: StopSpec, side: str, reference: Decimal, market: bool
    ) -> None:
        """A take-profit above / stop-loss below a buy's price (the reverse for a sell): 51046-51053."""
        self._check_tick(spec, leg.trigger)
        if leg.price is not None:
            self._check_tick(spec, leg.price)
        above = (name == "take-profit") == (side == "buy")
        wrong = leg.trigger <= reference if above else leg.trigger >= reference
        if wrong:
            codes = {("take-profit", "buy"): "51046", ("stop-loss", "buy"): "51047",
                     ("take-profit", "sell"): "51048", ("stop-loss", "sell"): "51049"}  # fmt: skip
            code = codes[(name, side)]
            if market:
                code = str(int(code) + 4)
            where = "the mark price" if market else "the order price"
            raise OkxInvalidOrder(
                code,
                f"the {name} trigger {plain(leg.trigger)} must be {'above' if above else 'below'} {where} "
                f"{plain(reference)} for a {'long' if side == 'buy' else 'short'} position",
                f"A {'long' if side == 'buy' else 'short'}'s stop-loss sits "
                f"{'below' if side == 'buy' else 'above'} the entry and its take-profit "
                f"{'above' if side == 'buy' else 'below'}.",
                local=True,
            )

    @staticmethod
    def _check_activation(spec: ContractSpec, active: Decimal, entry_side: str, mark: Decimal) -> None:
        """A trailing sell (protecting a long) activates above the price, a trailing buy below it."""
        SwapOrderEntry._check_tick(spec, active)
        if entry_side == "buy" and active <= mark:
            raise OkxInvalidOrder(
                "51258",
                f"the trailing stop of a long activates when the price rises: {plain(active)} is not above "
                f"the mark {plain(mark)}",
                "Give an activation price above the current price, or none (tracking starts at once).",
                local=True,
            )
        if entry_side == "sell" and active >= mark:
            raise OkxInvalidOrder(
                "51259",
                f"the trailing stop of a short activates when the price falls: {plain(active)} is not below "
                f"the mark {plain(mark)}",
                "Give an activation price below the current price, or none (tracking starts at once).",
                local=True,
            )

    @staticmethod
    def _held(
        rows: list[Position], settings: AccountSettings, pos_side: str
    ) -> tuple[Decimal, Decimal | None, Decimal]:
        """The signed contracts, entry and isolated margin of the position an order acts on."""
        for p in rows:
            if settings.hedged and p.pos_side != pos_side:
                continue
            signed = p.contracts
            if settings.hedged and pos_side == "short":
                signed = -abs(p.contracts)
            return signed, p.average_price, p.margin or ZERO
        return ZERO, None, ZERO

    async def _cross_margin(self, spec: ContractSpec, pos_side: str, fee: Decimal) -> Decimal:
        """M of `okxbot.okx.liquidation` for a cross position of `spec`: the settle currency's cross
        equity, minus this position's unrealised pnl, minus the other cross positions' maintenance
        margin and liquidation fees."""
        from okxbot.okx.liquidation import value

        detail = await self.balance_detail(spec.settle_ccy)
        eq = Decimal(str(detail.get("eq") or "0"))
        iso_eq = Decimal(str(detail.get("isoEq") or "0"))
        margin = eq - iso_eq
        for p in await self.positions():
            if p.margin_mode != "cross" or p.margin_ccy != spec.settle_ccy:
                continue
            if p.inst_id == spec.inst_id and (pos_side in ("", "net") or p.pos_side == pos_side):
                margin -= p.unrealized_pnl
                continue
            other = await self.contract(p.symbol)
            mark = p.mark_price or ZERO
            liq_fee = value(other, p.contracts, mark) * fee if mark else ZERO
            margin -= (p.maintenance_margin or ZERO) + liq_fee
        return margin
