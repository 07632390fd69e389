"""What the swap side of the client returns: positions, leverage, tiers, funding, marks, algo orders.

Small frozen dataclasses with exact Decimals parsed from OKX's wire strings (`""` = not applicable =
None). Sizes are contracts, as OKX counts them; `Position.base_size` gives a linear position in coin.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from okxbot.okx.models import ZERO, dec, dec0


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


@dataclass(frozen=True)
class AccountSettings:
    """The account's mode (acctLv) and position mode, which decide what a swap order must say."""

    account_level: str  # "1" spot, "2" futures, "3" multi-currency margin, "4" portfolio margin
    position_mode: str  # net_mode | long_short_mode

    @property
    def trades_swaps(self) -> bool:
        return self.account_level in ("2", "3", "4")

    @property
    def hedged(self) -> bool:
        return self.position_mode == "long_short_mode"


@dataclass(frozen=True)
class Position:
    """One row of GET account/positions (or a `positions` WebSocket push)."""

    symbol: str
    inst_id: str
    margin_mode: str  # cross | isolated
    pos_side: str  # net | long | short
    contracts: Decimal  # signed in net mode (negative = short); >= 0 in long/short mode
    average_price: Decimal | None
    mark_price: Decimal | None
    liquidation_price: Decimal | None  # OKX's estimate; None when it cannot be liquidated
    unrealized_pnl: Decimal
    realized_pnl: Decimal
    leverage: Decimal | None
    margin: Decimal | None  # isolated: the position's margin
    initial_margin: Decimal | None  # cross: imr
    maintenance_margin: Decimal | None
    margin_ratio: Decimal | None  # OKX's mgnRatio: liquidation at <= 1
    notional_usd: Decimal | None
    margin_ccy: str
    funding_fee: Decimal = ZERO
    fee: Decimal = ZERO
    adl: str = ""
    position_id: str = ""
    created_ms: int | None = None
    updated_ms: int | None = None
    attached_algos: tuple[dict[str, Any], ...] = ()  # closeOrderAlgo: TP/SL closing the whole position
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def side(self) -> str:
        """long or short (from posSide, or the sign of a net position); "" when flat."""
        if self.pos_side in ("long", "short"):
            return self.pos_side if self.contracts else ""
        if self.contracts > 0:
            return "long"
        return "short" if self.contracts < 0 else ""

    @property
    def size(self) -> Decimal:
        """Contracts held, always >= 0."""
        return abs(self.contracts)

    @classmethod
    def from_okx(cls, raw: Mapping[str, Any], symbol: str) -> Position:
        return cls(
            symbol=symbol,
            inst_id=str(raw.get("instId", "")),
            margin_mode=str(raw.get("mgnMode", "")),
            pos_side=str(raw.get("posSide", "")),
            contracts=dec0(raw.get("pos")),
            average_price=dec(raw.get("avgPx")),
            mark_price=dec(raw.get("markPx")),
            liquidation_price=dec(raw.get("liqPx")),
            unrealized_pnl=dec0(raw.get("upl")),
            realized_pnl=dec0(raw.get("realizedPnl")),
            leverage=dec(raw.get("lever")),
            margin=dec(raw.get("margin")),
            initial_margin=dec(raw.get("imr")),
            maintenance_margin=dec(raw.get("mmr")),
            margin_ratio=dec(raw.get("mgnRatio")),
            notional_usd=dec(raw.get("notionalUsd")),
            margin_ccy=str(raw.get("ccy", "")),
            funding_fee=dec0(raw.get("fundingFee")),
            fee=dec0(raw.get("fee")),
            adl=str(raw.get("adl", "")),
            position_id=str(raw.get("posId", "")),
            created_ms=_int(raw.get("cTime")),
            updated_ms=_int(raw.get("uTime")),
            attached_algos=tuple(a for a in raw.get("closeOrderAlgo") or [] if isinstance(a, dict)),
            raw=dict(raw),
        )


@dataclass(frozen=True)
class LeverageSetting:
    """One row of GET account/leverage-info: the leverage an instrument trades at in a margin mode."""

    symbol: str
    inst_id: str
    margin_mode: str
    pos_side: str  # "" / net for cross and net-mode isolated; long / short for long/short isolated
    leverage: Decimal

    @classmethod
    def from_okx(cls, raw: Mapping[str, Any], symbol: str) -> LeverageSetting:
        return cls(
            symbol,
            str(raw.get("instId", "")),
            str(raw.get("mgnMode", "")),
            str(raw.get("posSide", "")),
            dec0(raw.get("lever")),
        )


@dataclass(frozen=True)
class Tier:
    """One position tier (GET public/position-tiers): positions up to `max_size` contracts may use up to
    `max_leverage`, and keep `mmr` of their value as maintenance margin."""

    tier: int
    min_size: Decimal  # contracts, exclusive (0 for the first tier)
    max_size: Decimal  # contracts, inclusive
    mmr: Decimal
    imr: Decimal
    max_leverage: Decimal

    @classmethod
    def from_okx(cls, raw: Mapping[str, Any]) -> Tier:
        return cls(
            int(raw.get("tier") or 0),
            dec0(raw.get("minSz")),
            dec0(raw.get("maxSz")),
            dec0(raw.get("mmr")),
            dec0(raw.get("imr")),
            dec0(raw.get("maxLever")),
        )


def tier_for(tiers: tuple[Tier, ...], contracts: Decimal) -> Tier:
    """The tier holding a position of `contracts` (the last one beyond the table)."""
    for tier in tiers:
        if contracts <= tier.max_size:
            return tier
    return tiers[-1]


@dataclass(frozen=True)
class FundingRate:
    """GET public/funding-rate: the rate of the current period, settled at `funding_time`."""

    symbol: str
    inst_id: str
    rate: Decimal
    funding_time: int  # ms, the next settlement
    next_funding_time: int | None  # ms, the settlement after it
    min_rate: Decimal | None
    max_rate: Decimal | None
    premium: Decimal | None
    settled_rate: Decimal | None  # the rate of the last settlement (settFundingRate)
    method: str
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def interval_hours(self) -> Decimal | None:
        """Hours between settlements: OKX's documented derivation, nextFundingTime - fundingTime."""
        if self.next_funding_time is None:
            return None
        return Decimal(self.next_funding_time - self.funding_time) / Decimal(3_600_000)

    @classmethod
    def from_okx(cls, raw: Mapping[str, Any], symbol: str) -> FundingRate:
        return cls(
            symbol=symbol,
            inst_id=str(raw.get("instId", "")),
            rate=dec0(raw.get("fundingRate")),
            funding_time=int(raw.get("fundingTime") or 0),
            next_funding_time=_int(raw.get("nextFundingTime")),
            min_rate=dec(raw.get("minFundingRate")),
            max_rate=dec(raw.get("maxFundingRate")),
            premium=dec(raw.get("premium")),
            settled_rate=dec(raw.get("settFundingRate")),
            method=str(raw.get("method", "")),
            raw=dict(raw),
        )


@dataclass(frozen=True)
class FundingRecord:
    """One settled funding of GET public/funding-rate-history."""

    symbol: str
    funding_time: int
    rate: Decimal  # fundingRate: the predicted rate
    realized_rate: Decimal | None  # the rate actually settled

    @classmethod
    def from_okx(cls, raw: Mapping[str, Any], symbol: str) -> FundingRecord:
        return cls(
            symbol,
            int(raw.get("fundingTime") or 0),
            dec0(raw.get("fundingRate")),
            dec(raw.get("realizedRate")),
        )


@dataclass(frozen=True)
class MarkPrice:
    symbol: str
    mark: Decimal
    ts: int | None


@dataclass(frozen=True)
class Candle:
    """One mark-price or index candle: [ts, o, h, l, c, confirm]."""

    ts: int
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    confirmed: bool

    @classmethod
    def from_okx(cls, row: list[Any]) -> Candle:
        return cls(
            int(row[0]), Decimal(str(row[1])), Decimal(str(row[2])), Decimal(str(row[3])), Decimal(str(row[4])),
            str(row[5]) == "1" if len(row) > 5 else True,
        )  # fmt: skip


@dataclass(frozen=True)
class AlgoOrder:
    """One algo order (TP/SL `conditional` / `oco`, `trigger`, trailing `move_order_stop`, ...)."""

    symbol: str
    inst_id: str
    algo_id: str
    algo_client_id: str
    order_type: str  # conditional | oco | trigger | move_order_stop | twap | iceberg | chase
    side: str
    pos_side: str
    margin_mode: str
    size: Decimal | None  # contracts; None with closeFraction
    close_fraction: Decimal | None
    state: str  # live | effective | canceled | order_failed | partially_effective | partially_failed
    reduce_only: bool
    stop_loss_trigger: Decimal | None = None
    stop_loss_price: Decimal | None = None  # -1 = market
    stop_loss_trigger_type: str = ""
    take_profit_trigger: Decimal | None = None
    take_profit_price: Decimal | None = None
    take_profit_trigger_type: str = ""
    trigger_price: Decimal | None = None
    order_price: Decimal | None = None
    trigger_type: str = ""
    callback_ratio: Decimal | None = None
    callback_spread: Decimal | None = None
    activation_price: Decimal | None = None
    move_trigger_price: Decimal | None = None
    actual_size: Decimal | None = None
    actual_price: Decimal | None = None
    actual_side: str = ""  # tp | sl once triggered
    order_ids: tuple[str, ...] = ()  # the orders it placed
    fail_code: str = ""
    created_ms: int | None = None
    triggered_ms: int | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def is_pending(self) -> bool:
        return self.state in ("live", "pause", "partially_effective")

    @classmethod
    def from_okx(cls, raw: Mapping[str, Any], symbol: str) -> AlgoOrder:
        ids = [str(i) for i in raw.get("ordIdList") or [] if i]
        if not ids and raw.get("ordId"):
            ids = [str(raw["ordId"])]
        return cls(
            symbol=symbol,
            inst_id=str(raw.get("instId", "")),
            algo_id=str(raw.get("algoId", "")),
            algo_client_id=str(raw.get("algoClOrdId", "")),
            order_type=str(raw.get("ordType", "")),
            side=str(raw.get("side", "")),
            pos_side=str(raw.get("posSide", "")),
            margin_mode=str(raw.get("tdMode", "")),
            size=dec(raw.get("sz")),
            close_fraction=dec(raw.get("closeFraction")),
            state=str(raw.get("state", "")),
            reduce_only=str(raw.get("reduceOnly", "")).lower() == "true",
            stop_loss_trigger=dec(raw.get("slTriggerPx")),
            stop_loss_price=dec(raw.get("slOrdPx")),
            stop_loss_trigger_type=str(raw.get("slTriggerPxType", "")),
            take_profit_trigger=dec(raw.get("tpTriggerPx")),
            take_profit_price=dec(raw.get("tpOrdPx")),
            take_profit_trigger_type=str(raw.get("tpTriggerPxType", "")),
            trigger_price=dec(raw.get("triggerPx")),
            order_price=dec(raw.get("ordPx")),
            trigger_type=str(raw.get("triggerPxType", "")),
            callback_ratio=dec(raw.get("callbackRatio")),
            callback_spread=dec(raw.get("callbackSpread")),
            activation_price=dec(raw.get("activePx")),
            move_trigger_price=dec(raw.get("moveTriggerPx")),
            actual_size=dec(raw.get("actualSz")),
            actual_price=dec(raw.get("actualPx")),
            actual_side=str(raw.get("actualSide", "")),
            order_ids=tuple(ids),
            fail_code=str(raw.get("failCode", "")),
            created_ms=_int(raw.get("cTime")),
            triggered_ms=_int(raw.get("triggerTime")),
            raw=dict(raw),
        )
