"""Perpetual swaps for `OkxClient`: contracts, account settings, leverage, positions, funding, marks.

Reached as `client.derivatives` (orders: `okxbot.okx.swap_orders`, mixed in). Every request goes through
the client's `OkxExchange`, so OKX's exact rate limits (okxbot.okx.limits), the corrected clock and
OkxErrors with hints apply. ccxt's okx methods are used where they keep OKX's strings
(`fetch_positions`, `fetch_leverage`, `set_leverage`, `set_position_mode`, `fetch_funding_rate`,
`fetch_funding_rate_history`, `fetch_market_leverage_tiers`, `watch_positions`: their `info` is
OKX's row); the raw endpoint where ccxt is lossy (mark-price candles come back as floats, fractional
leverage is refused by ccxt, mark price and trade fees have no unified method). Numbers are Decimals.

Settings changes are checked first (`okxbot.okx.pretrade`): a leverage above the position tier's
maximum, a posSide the position mode does not take, a Spot-mode account, a position-mode change with
open orders or positions are refused with nothing sent; OKX's own refusals of that kind (51000
posSide, 51010, the 59000 family) are explained and never retried.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from okxbot.okx import pretrade
from okxbot.okx.contracts import ContractSpec, plain
from okxbot.okx.errors import OkxInvalidOrder, OkxSettingsRefused, answers_are_checked, from_code
from okxbot.okx.swap_models import (
    AccountSettings,
    Candle,
    FundingRate,
    FundingRecord,
    LeverageSetting,
    MarkPrice,
    Position,
    Tier,
)
from okxbot.okx.swap_orders import SwapOrderEntry

if TYPE_CHECKING:
    from okxbot.okx.client import OkxClient

DEFAULT_TAKER_FEE = Decimal("0.0005")  # OKX Lv1 swap taker (reference §2.8) when trade-fee is unreadable
SETTINGS_TTL_S = 5.0
MARK_BARS = ("1m", "3m", "5m", "15m", "30m", "1H", "2H", "4H", "6H", "12H", "1D", "1W", "1M")


@answers_are_checked
class Derivatives(SwapOrderEntry):
    """The perpetual-swap side of one client: `client.derivatives`."""

    def __init__(self, client: OkxClient) -> None:
        self.client = client
        self._tiers: dict[tuple[str, str], tuple[Tier, ...]] = {}
        self._fees: dict[str, Decimal] = {}
        self._settings: tuple[float, AccountSettings] | None = None

    @property
    def raw(self) -> Any:
        return self.client.raw

    # ---- instruments --------------------------------------------------------------------------------
    async def contract(self, symbol: str) -> ContractSpec:
        """The contract terms of a swap, by ccxt symbol (BTC/USDT:USDT) or OKX instId (BTC-USDT-SWAP)."""
        return ContractSpec.from_market(await self._swap_market(symbol))

    async def is_swap(self, symbol: str) -> bool:
        """Whether `symbol` names a perpetual swap (False for spot pairs and unknown names)."""
        await self.client.load_markets()
        market = self._lookup(symbol)
        return bool(market and market.get("swap"))

    def _lookup(self, symbol: str) -> dict[str, Any] | None:
        markets = self.raw.markets or {}
        if symbol in markets:
            return markets[symbol]
        by_id = (self.raw.markets_by_id or {}).get(symbol)
        if by_id:
            return by_id[0] if isinstance(by_id, list) else by_id
        return None

    async def _swap_market(self, symbol: str) -> dict[str, Any]:
        from okxbot.okx.client import _unknown_symbol

        await self.client.load_markets()
        market = self._lookup(symbol) if isinstance(symbol, str) else None
        if market is None:
            swaps = [s for s, m in (self.raw.markets or {}).items() if m.get("swap")]
            raise _unknown_symbol(symbol, swaps)
        if not market.get("swap"):
            base, quote = market["base"], market["quote"]
            raise OkxInvalidOrder(
                "51001",
                f"{market['symbol']} is a spot pair, not a perpetual swap",
                f"Perpetual swaps are named like {base}/{quote}:{quote} (USDT-margined) or {base}/USD:{base} "
                f"(coin-margined), or by OKX's id {base}-{quote}-SWAP.",
                "BadSymbol",
                local=True,
            )
        return market

    async def tiers(self, symbol: str, margin_mode: str = "cross") -> tuple[Tier, ...]:
        """The position tiers of `symbol` (smallest first; kept for the client's lifetime)."""
        spec = await self.contract(symbol)
        key = (spec.inst_family, margin_mode)
        if key not in self._tiers:
            rows = await self.client._call(
                self.raw.fetch_market_leverage_tiers(spec.symbol, {"marginMode": margin_mode})
            )
            tiers = [Tier.from_okx(row.get("info") or {}) for row in rows or []]
            self._tiers[key] = tuple(sorted((t for t in tiers if t.max_size), key=lambda t: t.tier))
        return self._tiers[key]

    async def taker_fee(self, spec: ContractSpec) -> Decimal:
        """This account's taker fee rate for `spec` as a positive fraction (GET account/trade-fee)."""
        if spec.inst_family not in self._fees:
            rate = DEFAULT_TAKER_FEE
            try:
                response = await self.client._call(
                    self.raw.privateGetAccountTradeFee({"instType": "SWAP", "instFamily": spec.inst_family})
                )
                row = (response.get("data") or [{}])[0]
                field = "taker" if spec.inverse else ("takerUSDC" if spec.settle_ccy == "USDC" else "takerU")
                text = row.get(field) or row.get("taker")
                if text not in (None, ""):
                    rate = abs(Decimal(str(text)))
            except Exception:  # the estimate falls back to OKX's published Lv1 rate
                rate = DEFAULT_TAKER_FEE
            self._fees[spec.inst_family] = rate
        return self._fees[spec.inst_family]

    # ---- account settings -----------------------------------------------------------------------------
    async def settings(self, *, fresh: bool = False) -> AccountSettings:
        """The account's mode (acctLv) and position mode (GET account/config, reused for
        `SETTINGS_TTL_S`: OKX allows 5 of those requests per 2 s)."""
        now = time.monotonic()
        if fresh or self._settings is None or now - self._settings[0] > SETTINGS_TTL_S:
            config = await self.client.account_config()
            self._settings = (now, AccountSettings(config.account_level, config.position_mode))
        return self._settings[1]

    async def set_position_mode(self, mode: str) -> AccountSettings:
        """Switch between `net_mode` and `long_short_mode` (ccxt set_position_mode).

        Refused locally (59000, nothing sent) while positions or open orders (any) exist: OKX would
        refuse it."""
        if mode not in pretrade.POSITION_MODES:
            raise OkxInvalidOrder(
                "51000",
                f"position mode {mode!r}",
                "Use net_mode (one position per instrument) or long_short_mode (a long and a short).",
                "BadRequest",
                local=True,
            )
        settings = await self.settings(fresh=True)
        pretrade.account_mode(settings, "cross", "swaps")
        if settings.position_mode == mode:
            return settings
        positions = [p for p in await self.positions() if p.contracts]
        # OKX: "close any open positions or orders" (spot orders too, in the harsher reading)
        orders = await self.client.fetch_open_orders()
        if positions or orders:
            raise OkxSettingsRefused(
                "59000",
                f"cannot switch to {mode} with {len(positions)} open position(s) and {len(orders)} open "
                "order(s)",
                "Close the positions and cancel the orders first (`okxbot positions`, `okxbot cancel --all`); "
                "OKX refuses the switch until then.",
                local=True,
            )
        await self.client._call(self.raw.set_position_mode(mode == "long_short_mode"))
        return await self.settings(fresh=True)

    async def leverage(self, symbol: str, margin_mode: str = "cross") -> list[LeverageSetting]:
        """The leverage `symbol` trades at in `margin_mode` (one row, or long and short rows)."""
        spec = await self.contract(symbol)
        pretrade.margin_mode(margin_mode)
        result = await self.client._call(self.raw.fetch_leverage(spec.symbol, {"marginMode": margin_mode}))
        rows = result.get("info") if isinstance(result, dict) else None
        rows = rows if isinstance(rows, list) else [rows] if isinstance(rows, dict) else []
        return [LeverageSetting.from_okx(r, spec.symbol) for r in rows]

    async def leverage_in_force(self, spec: ContractSpec, margin_mode: str, pos_side: str) -> Decimal:
        """The leverage an order of (`margin_mode`, `pos_side`) would use."""
        rows = await self.leverage(spec.symbol, margin_mode)
        for row in rows:
            if margin_mode == "isolated" and pos_side in ("long", "short") and row.pos_side != pos_side:
                continue
            return row.leverage
        return rows[0].leverage if rows else Decimal(1)

    async def set_leverage(
        self, symbol: str, leverage: Decimal | str, *, margin_mode: str = "cross", pos_side: str | None = None
    ) -> list[LeverageSetting]:
        """Set the leverage of `symbol` in `margin_mode` (isolated in long/short mode: per side).

        Checked first, nothing sent on refusal: the account mode, the side against the position mode,
        and the leverage against the instrument and the tier of the position held now."""
        from okxbot.okx.validate import parse_decimal

        lever = parse_decimal(leverage, "leverage")
        pretrade.margin_mode(margin_mode)
        spec = await self.contract(symbol)
        settings = await self.settings()
        pretrade.account_mode(settings, margin_mode, spec.symbol)
        side = (pos_side or "").strip()
        if margin_mode == "isolated" and settings.hedged:
            if side not in ("long", "short"):
                raise OkxInvalidOrder(
                    "51000",
                    "in long/short mode isolated leverage is set per side: say which (posSide long or short)",
                    "Add --side long or --side short.",
                    "BadRequest",
                    local=True,
                )
        elif side:
            where = "cross margin" if margin_mode == "cross" else "net mode"
            raise OkxInvalidOrder(
                "51000",
                f"a side ({side}) is only taken for isolated margin in long/short mode, not in {where}",
                "Leave --side out: the leverage applies to the whole instrument.",
                "BadRequest",
                local=True,
            )
        held = Decimal(0)
        for p in await self.positions(spec.symbol):
            if p.margin_mode == margin_mode and (not side or p.pos_side == side):
                held = max(held, p.size)
        pretrade.leverage_for_size(
            spec, await self.tiers(spec.symbol, margin_mode), lever, held, setting=True
        )
        if lever == lever.to_integral_value() and 1 <= lever <= 125:
            params: dict[str, Any] = {"marginMode": margin_mode}
            if side:
                params["posSide"] = side
            await self.client._call(self.raw.set_leverage(int(lever), spec.symbol, params))
        else:  # ccxt refuses fractional leverage, which OKX takes (0.01 steps)
            body = {"instId": spec.inst_id, "lever": plain(lever), "mgnMode": margin_mode}
            if side:
                body["posSide"] = side
            await self.client._call(self.raw.privatePostAccountSetLeverage(body))
        return await self.leverage(spec.symbol, margin_mode)

    # ---- positions -----------------------------------------------------------------------------------
    async def positions(self, symbol: str | Sequence[str] | None = None) -> list[Position]:
        """Open positions (GET account/positions through ccxt's fetch_positions): all swaps, or some.

        Rows with pos "0" (closed positions OKX still lists for an explicit instId) are left out."""
        symbols: list[str] | None
        if symbol is None:
            await self.client.load_markets()
            symbols = None
        else:
            names = [symbol] if isinstance(symbol, str) else list(symbol)
            symbols = [(await self.contract(s)).symbol for s in names]
        rows = await self.client._call(self.raw.fetch_positions(symbols, {"instType": "SWAP"}))
        found = []
        for row in rows or []:
            info = row.get("info") or {}
            position = Position.from_okx(info, self.client._symbol_of(str(info.get("instId", ""))))
            if position.contracts:
                found.append(position)
        return found

    async def watch_positions(self, symbols: Sequence[str] | None = None) -> AsyncIterator[list[Position]]:
        """Position updates from OKX's `positions` WebSocket channel (ccxt.pro watch_positions), as
        lists of the positions that changed (a closed one has 0 contracts)."""
        names = None if symbols is None else [(await self.contract(s)).symbol for s in symbols]
        while True:
            rows = await self.client._call(self.raw.watch_positions(names))
            yield [
                Position.from_okx(
                    r.get("info") or {}, self.client._symbol_of(str((r.get("info") or {}).get("instId", "")))
                )
                for r in rows or []
            ]

    # ---- market data: marks and funding --------------------------------------------------------------
    async def mark_price(self, symbol: str) -> MarkPrice:
        """The mark price (GET public/mark-price): what margin, pnl and liquidation use."""
        spec = await self.contract(symbol)
        response = await self.client._call(
            self.raw.publicGetPublicMarkPrice({"instType": "SWAP", "instId": spec.inst_id})
        )
        data = response.get("data") or []
        if not data:
            raise from_code("52000", f"no mark price for {spec.symbol}")
        row = data[0]
        return MarkPrice(spec.symbol, Decimal(str(row["markPx"])), int(row.get("ts") or 0) or None)

    async def mark_candles(self, symbol: str, bar: str = "1m", limit: int = 100) -> list[Candle]:
        """Mark-price candles, newest first (ccxt's fetch_mark_ohlcv would turn them into floats)."""
        if bar not in MARK_BARS:
            raise OkxInvalidOrder(
                "51000", f"bar {bar!r}", f"Use one of {', '.join(MARK_BARS)}.", "BadRequest", local=True
            )
        if not 1 <= limit <= 100:
            raise OkxInvalidOrder(
                "51000", f"limit {limit}", "limit must be 1..100.", "BadRequest", local=True
            )
        spec = await self.contract(symbol)
        response = await self.client._call(
            self.raw.publicGetMarketMarkPriceCandles(
                {"instId": spec.inst_id, "bar": bar, "limit": str(limit)}
            )
        )
        return [Candle.from_okx(row) for row in response.get("data") or []]

    async def funding_rate(self, symbol: str) -> FundingRate:
        """The current funding rate and the next settlement times (ccxt fetch_funding_rate)."""
        spec = await self.contract(symbol)
        result = await self.client._call(self.raw.fetch_funding_rate(spec.symbol))
        return FundingRate.from_okx(result.get("info") or {}, spec.symbol)

    async def funding_rates(self, symbols: Sequence[str] | None = None) -> dict[str, FundingRate]:
        """The current funding rate of every swap (or of `symbols`) in one request (ccxt
        fetch_funding_rates: GET public/funding-rate?instId=ANY), by ccxt symbol."""
        names = None if symbols is None else [(await self.contract(s)).symbol for s in symbols]
        if names is None:
            await self.client.load_markets()
        result = await self.client._call(self.raw.fetch_funding_rates(names))
        rates = {}
        for row in (result or {}).values():
            info = row.get("info") or {}
            symbol = self.client._symbol_of(str(info.get("instId", "")))
            if names is None or symbol in names:
                rates[symbol] = FundingRate.from_okx(info, symbol)
        return rates

    async def funding_history(self, symbol: str, limit: int = 20) -> list[FundingRecord]:
        """Past settlements, newest first (ccxt fetch_funding_rate_history; OKX keeps 3 months)."""
        if not 1 <= limit <= 400:
            raise OkxInvalidOrder(
                "51000", f"limit {limit}", "limit must be 1..400.", "BadRequest", local=True
            )
        spec = await self.contract(symbol)
        rows = await self.client._call(self.raw.fetch_funding_rate_history(spec.symbol, None, limit))
        records = [FundingRecord.from_okx(r.get("info") or {}, spec.symbol) for r in rows or []]
        return sorted(records, key=lambda r: r.funding_time, reverse=True)

    async def balance_detail(self, ccy: str) -> dict[str, Any]:
        """The trading account's balance row of `ccy` (eq, isoEq, availEq, ...), {} when empty."""
        response = await self.client._call(self.raw.privateGetAccountBalance({"ccy": ccy}))
        for detail in (response.get("data") or [{}])[0].get("details") or []:
            if detail.get("ccy") == ccy:
                return dict(detail)
        return {}
