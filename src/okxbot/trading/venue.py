"""The venue port: everything the order manager asks of an exchange, and nothing more.

`okxbot.okx.client.OkxClient` implements it over the wire (OKX or the simulator); a backtest venue
can implement it over the simulator's engine on a virtual clock. Orders go out single or in batches;
an answer can leave an outcome unknown (`OkxOutcomeUnknown`, with the OKX time at which a lookup
that finds nothing becomes proof), and an accepted cancel or amend takes effect later (or not).
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any, Protocol

from okxbot.okx.algos import AlgoRequest, StopSpec, TrailingSpec
from okxbot.okx.contracts import ContractSpec, Unit
from okxbot.okx.models import AmendResult, CancelResult, Fill, Order
from okxbot.okx.order_entry import AmendRequest, OrderIntent, OrderRef, PlaceResult
from okxbot.okx.ratelimit import Headroom
from okxbot.okx.swap_models import AccountSettings, AlgoOrder, FundingRate, Position
from okxbot.okx.swap_orders import SwapOrderPlan


class Venue(Protocol):
    async def prepare_order(
        self,
        symbol: str,
        side: str,
        amount: Decimal | str,
        price: Decimal | str | None = None,
        *,
        post_only: bool = False,
        ioc: bool = False,
        fok: bool = False,
        client_order_id: str | None = None,
        check_funds: bool = True,
    ) -> OrderIntent: ...

    async def place(self, intent: OrderIntent, *, confirm: bool = True, wait: bool = True) -> Order: ...

    async def place_batch(
        self, intents: Sequence[OrderIntent], *, confirm: bool = False, wait: bool = True
    ) -> list[PlaceResult]: ...

    async def amend_order(
        self,
        symbol: str,
        order_id: str | None = None,
        *,
        client_order_id: str | None = None,
        new_price: Decimal | None = None,
        new_amount: Decimal | None = None,
        req_id: str = "",
    ) -> AmendResult: ...

    async def amend_batch(self, requests: Sequence[AmendRequest]) -> list[AmendResult]: ...

    async def cancel_order(
        self, symbol: str, order_id: str | None = None, *, client_order_id: str | None = None
    ) -> CancelResult: ...

    async def cancel_batch(self, refs: Sequence[OrderRef]) -> list[CancelResult]: ...

    async def find_order(
        self, symbol: str, client_order_id: str | None = None, *, order_id: str | None = None
    ) -> Order | None: ...

    async def fetch_open_orders(self, symbol: str | None = None) -> list[Order]: ...

    async def fetch_fills(
        self, symbol: str | None = None, limit: int = 100, *, order_id: str | None = None
    ) -> list[Fill]: ...

    def okx_now_ms(self) -> int:
        """The venue's clock (ms), on which settle times are given."""
        ...

    def horizon_ms(self) -> int:
        """When any request sent until now has taken effect and shows on the read endpoints."""
        ...

    async def headroom(self, path: str, inst_id: str) -> Headroom | None:
        """What the instrument's single-order and batch buckets of `path`'s operation can take now
        without waiting (None: unknown)."""
        ...


class SwapVenue(Protocol):
    """What a perpetual-swap bot asks of an exchange beyond `Venue` (whose `place` sends the order:
    `SwapOrderPlan.intent` is an `OrderIntent` with tdMode, posSide, reduceOnly and attachAlgoOrds).

    `okxbot.trading.swap_venue.OkxSwapVenue` implements it over `client.derivatives` and
    `client.algos`. The backtest venue does not: `okxbot backtest` refuses swap configs."""

    async def contract(self, symbol: str) -> ContractSpec: ...

    async def settings(self) -> AccountSettings: ...

    async def prepare_swap_order(
        self,
        symbol: str,
        side: str,
        amount: Decimal,
        unit: Unit,
        price: Decimal | None = None,
        *,
        margin_mode: str,
        pos_side: str | None = None,
        reduce_only: bool = False,
        post_only: bool = False,
        stop_loss: StopSpec | None = None,
        take_profit: StopSpec | None = None,
        trailing: TrailingSpec | None = None,
        min_liq_distance: Decimal | None = None,
    ) -> SwapOrderPlan:
        """Every pre-trade check (okxbot.okx.pretrade), nothing sent to the order endpoints."""
        ...

    async def positions(self, symbol: str) -> list[Position]: ...

    async def mark_price(self, symbol: str) -> Decimal: ...

    async def funding_rate(self, symbol: str) -> FundingRate: ...

    async def leverage(self, symbol: str, margin_mode: str, pos_side: str) -> Decimal:
        """The leverage in force for new positions of `symbol` in that mode and side."""
        ...

    async def set_leverage(self, symbol: str, leverage: Decimal, margin_mode: str) -> None: ...

    async def funding_bills(self, symbol: str) -> list[dict[str, str]]:
        """The account's recent funding bills of `symbol` (OKX bill type 8), newest first."""
        ...

    async def liquidation_orders(self, symbol: str) -> list[dict[str, Any]]:
        """OKX's recent liquidation orders on the account's `symbol` positions (wire order objects)."""
        ...

    async def place_algo(self, request: AlgoRequest) -> AlgoOrder: ...

    async def find_algo(self, algo_client_id: str) -> AlgoOrder | None:
        """One algo order by algoClOrdId, pending or finished; None when OKX has none."""
        ...

    async def pending_algos(self, symbol: str) -> list[AlgoOrder]: ...

    async def cancel_algos(self, algos: Sequence[AlgoOrder]) -> list[bool]: ...
