"""Algo orders on the exchange: TP/SL (`conditional` / `oco`), trailing stops (`move_order_stop`),
trigger orders; listing, history and cancelling (derivatives reference §4). Reached as `client.algos`.

Placement goes straight to `trade/order-algo` with OKX's exact strings rather than through ccxt's
`create_order(..., {stopLossPrice / takeProfitPrice / trailingPercent})`: ccxt turns the prices and
sizes into floats and back, picks posSide by its own hedged-mode rule and gives okxbot no id to look
the order up by. Every algo carries an `algoClOrdId`; after an answer that leaves its outcome unknown
it is looked up by that id, and never sent again while in doubt (`order-algo` takes no expTime, so an
unanswered request may still land: the caller is told, with the id to look for).

Cancelling takes lists of at most 10 per request (OKX's cap), grouped by instrument. `cancel_all`
cancels every pending algo of every type on every instrument (what `okxbot panic` needs): OKX lists
pending algos by type, `conditional,oco` together and every other type alone.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from okxbot.okx.contracts import plain
from okxbot.okx.errors import (
    OkxBadRequest,
    OkxError,
    OkxOrderNotFound,
    OkxUnavailable,
    answers_are_checked,
    from_code,
)
from okxbot.okx.ids import new_client_order_id
from okxbot.okx.swap_models import AlgoOrder

if TYPE_CHECKING:
    from okxbot.okx.client import OkxClient

# OKX's algo order types and how its pending / history lists must be asked for them.
TYPE_GROUPS: tuple[str, ...] = ("conditional,oco", "trigger", "move_order_stop", "twap", "iceberg", "chase")
PRICE_TYPES = ("last", "index", "mark")
MAX_CANCEL = 10
PAGE = 100


@dataclass(frozen=True)
class StopSpec:
    """One TP or SL leg: the trigger price, and the order price (None: a market order on trigger)."""

    trigger: Decimal
    price: Decimal | None = None
    trigger_type: str = "last"  # last | index | mark

    def fields(self, prefix: str) -> dict[str, str]:
        """`{prefix}TriggerPx` / `{prefix}OrdPx` / `{prefix}TriggerPxType` of an order-algo or
        attachAlgoOrds item (prefix "sl" or "tp")."""
        if self.trigger_type not in PRICE_TYPES:
            raise OkxBadRequest(
                "51000",
                f"trigger type {self.trigger_type!r}",
                "Use last (the last trade), mark (the mark price: not moved by one trade) or index.",
                "BadRequest",
                local=True,
            )
        return {
            f"{prefix}TriggerPx": plain(self.trigger),
            f"{prefix}OrdPx": "-1" if self.price is None else plain(self.price),
            f"{prefix}TriggerPxType": self.trigger_type,
        }


@dataclass(frozen=True)
class TrailingSpec:
    """A trailing stop: a callback ratio (0.02 = 2 %) or a callback spread (price distance), and an
    optional activation price (tracking starts there; else at once)."""

    callback_ratio: Decimal | None = None
    callback_spread: Decimal | None = None
    activation_price: Decimal | None = None

    def __post_init__(self) -> None:
        if (self.callback_ratio is None) == (self.callback_spread is None):
            raise OkxBadRequest(
                None,
                "a trailing stop needs a callback ratio or a callback spread (not both)",
                "Give --trail PCT (percent) or --trail-spread PRICE_DISTANCE.",
                "BadRequest",
                local=True,
            )
        for name, value in (
            ("callback", self.callback_ratio or self.callback_spread),
            ("activation", self.activation_price),
        ):
            if value is not None and (not value.is_finite() or value <= 0):
                raise OkxBadRequest(
                    None,
                    f"trailing {name} {value}",
                    f"The trailing {name} must be positive.",
                    "BadRequest",
                    local=True,
                )

    def fields(self) -> dict[str, str]:
        body = {}
        if self.callback_ratio is not None:
            body["callbackRatio"] = plain(self.callback_ratio)
        else:
            assert self.callback_spread is not None
            body["callbackSpread"] = plain(self.callback_spread)
        if self.activation_price is not None:
            body["activePx"] = plain(self.activation_price)
        return body


@dataclass(frozen=True)
class AlgoRequest:
    """One `trade/order-algo` request, built and checked before anything is sent."""

    symbol: str
    inst_id: str
    side: str
    order_type: str  # conditional | oco | move_order_stop | trigger
    td_mode: str
    size: Decimal  # contracts (swaps) / base (spot)
    algo_client_id: str
    pos_side: str = ""
    reduce_only: bool = False
    stop_loss: StopSpec | None = None
    take_profit: StopSpec | None = None
    trailing: TrailingSpec | None = None

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "instId": self.inst_id,
            "tdMode": self.td_mode,
            "side": self.side,
            "ordType": self.order_type,
            "sz": plain(self.size),
            "algoClOrdId": self.algo_client_id,
        }
        if self.pos_side:
            body["posSide"] = self.pos_side
        if self.reduce_only:
            body["reduceOnly"] = True
        if self.stop_loss is not None:
            body.update(self.stop_loss.fields("sl"))
        if self.take_profit is not None:
            body.update(self.take_profit.fields("tp"))
        if self.trailing is not None:
            body.update(self.trailing.fields())
        return body


def protective_type(stop_loss: StopSpec | None, take_profit: StopSpec | None) -> str:
    """`oco` for both legs (a net `conditional` with both would keep only the SL), else `conditional`."""
    if stop_loss is None and take_profit is None:
        raise OkxBadRequest(None, "no stop-loss or take-profit given", "Give --sl and/or --tp.", local=True)
    return "oco" if stop_loss is not None and take_profit is not None else "conditional"


@dataclass(frozen=True)
class AlgoCancelResult:
    symbol: str
    algo_id: str
    ok: bool
    code: str
    message: str


@answers_are_checked
class Algos:
    """Algo orders of one client (`client.algos`)."""

    def __init__(self, client: OkxClient) -> None:
        self.client = client

    @property
    def raw(self) -> Any:
        return self.client.raw

    # ---- placing ------------------------------------------------------------------------------------
    def new_id(self) -> str:
        return new_client_order_id()

    async def place(self, request: AlgoRequest) -> AlgoOrder:
        """Place one algo order; returns it as OKX lists it (state live).

        Refusals raise their OkxError. An ambiguous answer (timeout, 5xx, unreadable) is followed by a
        lookup by algoClOrdId: found, it is returned; not found, `OkxUnavailable(outcome_unknown=True)`
        names the id (it may still be placed), and nothing is sent again."""
        body = request.body()
        try:
            response = await self.client._call(self.raw.privatePostTradeOrderAlgo(body))
            data = response.get("data") or []
            item = data[0] if data and isinstance(data[0], dict) else {}
            if str(item.get("sCode", "0")) != "0" or not item.get("algoId"):
                raise from_code(str(item.get("sCode") or "1"), str(item.get("sMsg") or "not accepted"))
        except OkxError as err:
            if not err.outcome_unknown:
                raise
            found = await self._find(request.algo_client_id)
            if found is not None:
                return found
            raise OkxUnavailable(
                err.code,
                f"algo order {request.algo_client_id} on {request.symbol}: outcome unknown after {err.message}",
                f"It may still be placed: look for algoClOrdId {request.algo_client_id} "
                "(`okxbot algos`) before placing it again.",
                err.ccxt_class,
                outcome_unknown=True,
                details={"algo_client_id": request.algo_client_id},
            ) from None
        found = await self._find(request.algo_client_id)
        if found is not None:
            return found
        return AlgoOrder.from_okx(dict(body, algoId=item["algoId"], state="live"), request.symbol)

    async def _find(self, algo_client_id: str, tries: int = 3) -> AlgoOrder | None:
        for attempt in range(tries):
            try:
                return await self.get(algo_client_id=algo_client_id)
            except OkxOrderNotFound:
                return None
            except OkxError as err:
                if not (
                    err.outcome_unknown or err.family in ("network", "exchange_unavailable", "rate_limit")
                ):
                    raise
                await asyncio.sleep(0.2 * 2**attempt)
        return None

    # ---- reading --------------------------------------------------------------------------------------
    async def get(self, algo_id: str | None = None, *, algo_client_id: str | None = None) -> AlgoOrder:
        """One algo order by algoId or algoClOrdId; OkxOrderNotFound (51603) when OKX has none."""
        if not algo_id and not algo_client_id:
            raise OkxBadRequest(
                "50015", "no algo id given", "Give an algo id or an algo client id.", local=True
            )
        params = {"algoId": algo_id} if algo_id else {"algoClOrdId": str(algo_client_id)}
        response = await self.client._call(self.raw.privateGetTradeOrderAlgo(params))
        data = response.get("data") or []
        if not data:
            raise from_code("51603", "Order does not exist")
        return self._parse(data[0])

    async def pending(self, symbol: str | None = None, types: Sequence[str] = TYPE_GROUPS) -> list[AlgoOrder]:
        """Every pending (untriggered) algo order of the given type groups, newest first."""
        params = await self._filters(symbol)
        lists = await asyncio.gather(
            *(self._paged(self.raw.privateGetTradeOrdersAlgoPending, dict(params, ordType=t)) for t in types)
        )
        return self._newest_first([a for found in lists for a in found])

    async def history(
        self,
        symbol: str | None = None,
        types: Sequence[str] = TYPE_GROUPS,
        states: Sequence[str] = ("effective", "canceled", "order_failed"),
        limit: int = PAGE,
    ) -> list[AlgoOrder]:
        """Finished algo orders (last 3 months), newest first, at most `limit` per type and state."""
        params = await self._filters(symbol)
        calls = [
            self._paged(self.raw.privateGetTradeOrdersAlgoHistory, dict(params, ordType=t, state=s), limit)
            for t in types
            for s in states
        ]
        lists = await asyncio.gather(*calls)
        return self._newest_first([a for found in lists for a in found])

    async def _filters(self, symbol: str | None) -> dict[str, str]:
        if symbol is None:
            await self.client.load_markets()
            return {}
        return {"instId": await self.client._inst_id(symbol)}

    async def _paged(self, method: Any, params: dict[str, str], limit: int | None = None) -> list[AlgoOrder]:
        found: list[AlgoOrder] = []
        query = dict(params, limit=str(PAGE))
        while True:
            response = await self.client._call(method(dict(query)))
            page = response.get("data") or []
            found += [self._parse(a) for a in page]
            if len(page) < PAGE or (limit is not None and len(found) >= limit):
                return found[:limit] if limit is not None else found
            query["after"] = str(page[-1]["algoId"])

    def _parse(self, raw: dict[str, Any]) -> AlgoOrder:
        return AlgoOrder.from_okx(raw, self.client._symbol_of(str(raw.get("instId", ""))))

    @staticmethod
    def _newest_first(algos: list[AlgoOrder]) -> list[AlgoOrder]:
        unique = {a.algo_id: a for a in algos}
        return sorted(unique.values(), key=lambda a: int(a.algo_id or 0), reverse=True)

    # ---- cancelling ---------------------------------------------------------------------------------
    async def cancel(self, algos: Sequence[AlgoOrder]) -> list[AlgoCancelResult]:
        """Cancel these algo orders (10 per request, grouped by instrument); one result each, in order.
        `ok` means OKX accepted the cancel; an algo that triggered first answers 51412 / 51416."""
        groups: dict[str, list[int]] = {}
        for index, algo in enumerate(algos):
            groups.setdefault(algo.inst_id, []).append(index)
        chunks = [
            indexes[start : start + MAX_CANCEL]
            for indexes in groups.values()
            for start in range(0, len(indexes), MAX_CANCEL)
        ]
        results: dict[int, AlgoCancelResult] = {}
        answers = await asyncio.gather(*(self._cancel_chunk([algos[i] for i in chunk]) for chunk in chunks))
        for chunk, answer in zip(chunks, answers, strict=True):
            for index, result in zip(chunk, answer, strict=True):
                results[index] = result
        return [results[i] for i in range(len(algos))]

    async def _cancel_chunk(self, chunk: list[AlgoOrder]) -> list[AlgoCancelResult]:
        body = [{"algoId": a.algo_id, "instId": a.inst_id} for a in chunk]
        try:
            response = await self.client._call(self.raw.privatePostTradeCancelAlgos(body), partial_ok=True)
        except OkxError as err:
            return [AlgoCancelResult(a.symbol, a.algo_id, False, err.code or "", err.message) for a in chunk]
        items = {str(i.get("algoId", "")): i for i in response.get("data") or [] if isinstance(i, dict)}
        results = []
        for algo in chunk:
            item = items.get(algo.algo_id, {})
            code = str(item.get("sCode", "0" if item else "?"))
            results.append(
                AlgoCancelResult(algo.symbol, algo.algo_id, code == "0", code, str(item.get("sMsg", "")))
            )
        return results

    async def cancel_by_id(self, symbol: str, algo_ids: Sequence[str]) -> list[AlgoCancelResult]:
        inst_id = await self.client._inst_id(symbol)
        algos = [
            AlgoOrder(symbol, inst_id, i, "", "", "", "", "", None, None, "live", False) for i in algo_ids
        ]
        return await self.cancel(algos)

    async def cancel_all(self, symbol: str | None = None) -> list[AlgoCancelResult]:
        """Cancel every pending algo order, every type, on every instrument (or `symbol`'s)."""
        return await self.cancel(await self.pending(symbol))
