"""`OkxSwapVenue`: the `SwapVenue` port over the OKX client's `derivatives` and `algos` (live bots).

Each method is one of the client's own (their checks, rate limits and plain-word errors apply);
this module only narrows them to what a swap bot needs, so the order manager and the strategy never
hold the client itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from okxbot.okx.algos import AlgoRequest, StopSpec, TrailingSpec
from okxbot.okx.contracts import ContractSpec, Unit
from okxbot.okx.errors import OkxOrderNotFound
from okxbot.okx.swap_models import AccountSettings, AlgoOrder, FundingRate, Position
from okxbot.okx.swap_orders import SwapOrderPlan

if TYPE_CHECKING:
    from okxbot.okx.client import OkxClient

LIQUIDATION = frozenset({"full_liquidation", "partial_liquidation", "adl"})  # OKX's order categories


class OkxSwapVenue:
    def __init__(self, client: OkxClient) -> None:
        self.client = client
        self.d = client.derivatives
        self.algos = client.algos

    async def contract(self, symbol: str) -> ContractSpec:
        return await self.d.contract(symbol)

    async def settings(self) -> AccountSettings:
        return await self.d.settings()

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
        return await self.d.prepare_order(
            symbol, side, amount, unit, price,
            margin_mode=margin_mode, pos_side=pos_side, reduce_only=reduce_only, post_only=post_only,
            stop_loss=stop_loss, take_profit=take_profit, trailing=trailing, min_liq_distance=min_liq_distance,
        )  # fmt: skip

    async def positions(self, symbol: str) -> list[Position]:
        return await self.d.positions(symbol)

    async def mark_price(self, symbol: str) -> Decimal:
        return (await self.d.mark_price(symbol)).mark

    async def funding_rate(self, symbol: str) -> FundingRate:
        return await self.d.funding_rate(symbol)

    async def leverage(self, symbol: str, margin_mode: str, pos_side: str) -> Decimal:
        return await self.d.leverage_in_force(await self.d.contract(symbol), margin_mode, pos_side)

    async def set_leverage(self, symbol: str, leverage: Decimal, margin_mode: str) -> None:
        settings = await self.d.settings()
        if margin_mode == "isolated" and settings.hedged:
            for side in ("long", "short"):
                await self.d.set_leverage(symbol, leverage, margin_mode=margin_mode, pos_side=side)
        else:
            await self.d.set_leverage(symbol, leverage, margin_mode=margin_mode)

    async def funding_bills(self, symbol: str) -> list[dict[str, str]]:
        spec = await self.d.contract(symbol)
        answer = await self.client._call(
            self.client.raw.privateGetAccountBills({"instType": "SWAP", "type": "8", "limit": "100"})
        )
        return [
            b for b in answer.get("data") or [] if isinstance(b, dict) and b.get("instId") == spec.inst_id
        ]

    async def liquidation_orders(self, symbol: str) -> list[dict[str, Any]]:
        spec = await self.d.contract(symbol)
        answer = await self.client._call(
            self.client.raw.privateGetTradeOrdersHistory(
                {"instType": "SWAP", "instId": spec.inst_id, "category": "full_liquidation", "limit": "100"}
            )
        )
        return [
            o for o in answer.get("data") or [] if isinstance(o, dict) and o.get("category") in LIQUIDATION
        ]

    async def place_algo(self, request: AlgoRequest) -> AlgoOrder:
        return await self.algos.place(request)

    async def find_algo(self, algo_client_id: str) -> AlgoOrder | None:
        try:
            return await self.algos.get(algo_client_id=algo_client_id)
        except OkxOrderNotFound:
            return None

    async def pending_algos(self, symbol: str) -> list[AlgoOrder]:
        return await self.algos.pending(symbol)

    async def cancel_algos(self, algos: Sequence[AlgoOrder]) -> list[bool]:
        return [r.ok for r in await self.algos.cancel(algos)]
