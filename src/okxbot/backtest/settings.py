"""Backtest settings: the bot config's `[backtest]` table, overridden by `okxbot backtest` flags.

    [backtest]
    balances = { USDT = "10000", BTC = "0" }   # the bot's account at the start (default: 10000 quote)
    fee_tier = "lv1"          # OKX spot tier: lv1..lv5, vip1..vip8 (okxbot.backtest.fees), or
    maker_fee = "0.0008"      #   explicit rates (fractions; a negative maker fee is a rebate)
    taker_fee = "0.001"
    latency_ms = 50           # an order reaches the book this long after the event that caused it
    fill = "through"          # resting orders fill when the price trades through them ("at-touch":
    queue = true              #   at their price too, after the queue ahead of them has traded)
    spread_bps = 2            # synthetic book: best bid to best ask (at least one tick each side)
    depth = 20                # synthetic book: levels per side
    level_gap_bps = 1         # synthetic book: distance between levels
    level_size = "point"      # synthetic book: size of each level ("point": the replayed volume of
                              #   the price point, at least the minimum order size; or an amount)
    [backtest.instrument]     # trading rules for an instrument the simulator does not list
    tick_size = "0.1"
    lot_size = "0.00000001"
    min_size = "0.00001"

Every refusal names the key and the fix (`BacktestError`, or the config's own `ConfigError` with
its file and line).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from okxbot.backtest.fees import SPOT_FEE_TIERS
from okxbot.trading.config import BotConfig, ConfigError, key_line

Dec = Annotated[Decimal, Field(allow_inf_nan=False, lt=Decimal("1e15"))]
FILL_MODELS = ("through", "at-touch")


class InstrumentSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    tick_size: Dec = Field(gt=0)
    lot_size: Dec = Field(gt=0)
    min_size: Dec = Field(gt=0)


class BacktestSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    balances: dict[str, Dec] = Field(default_factory=dict)  # empty: 10000 of the quote currency
    fee_tier: str = "lv1"
    maker_fee: Decimal | None = Field(default=None, ge=Decimal("-0.01"), le=Decimal("0.01"))
    taker_fee: Decimal | None = Field(default=None, ge=Decimal("0"), le=Decimal("0.01"))
    latency_ms: int = Field(default=50, ge=0, le=60_000)
    fill: Literal["through", "at-touch"] = "through"
    queue: bool = True
    spread_bps: Dec = Field(default=Decimal(2), ge=0, le=10_000)
    depth: int = Field(default=20, ge=1, le=400)
    level_gap_bps: Dec = Field(default=Decimal(1), ge=0, le=10_000)
    level_size: Literal["point"] | Dec = "point"
    instrument: InstrumentSpec | None = None

    @model_validator(mode="after")
    def _check(self) -> BacktestSettings:
        if self.fee_tier not in SPOT_FEE_TIERS:
            raise ValueError(
                f"fee_tier {self.fee_tier!r} is not an OKX spot tier; use one of {', '.join(SPOT_FEE_TIERS)}"
            )
        for ccy, amount in self.balances.items():
            if amount < 0:
                raise ValueError(f"balances.{ccy} must be >= 0 (got {amount})")
        if isinstance(self.level_size, Decimal) and self.level_size <= 0:
            raise ValueError(f'level_size must be "point" or a positive amount (got {self.level_size})')
        return self

    def fee_rates(self) -> tuple[Decimal, Decimal]:
        """(maker, taker): the explicit rates where given, else the tier's."""
        maker, taker = SPOT_FEE_TIERS[self.fee_tier]
        return (
            self.maker_fee if self.maker_fee is not None else maker,
            self.taker_fee if self.taker_fee is not None else taker,
        )

    def start_balances(self, quote: str) -> dict[str, Decimal]:
        return {k.upper(): v for k, v in self.balances.items()} if self.balances else {quote: Decimal(10_000)}

    def shown(self) -> dict[str, Any]:
        """What shaped the fills, for the result's `settings` (strings, JSON-ready)."""
        maker, taker = self.fee_rates()
        return {
            "fee_tier": self.fee_tier,
            "maker_fee": str(maker),
            "taker_fee": str(taker),
            "latency_ms": self.latency_ms,
            "fill": self.fill,
            "queue": self.queue,
            "spread_bps": str(self.spread_bps),
            "depth": self.depth,
            "level_gap_bps": str(self.level_gap_bps),
            "level_size": str(self.level_size),
        }


def settings_for(
    config: BotConfig,
    overrides: dict[str, Any] | None = None,
    *,
    path: str = "<config>",
    text: str | None = None,
) -> BacktestSettings:
    """The config's `[backtest]` table with `overrides` (CLI flags) on top, validated. A perpetual-swap
    bot is refused: the backtest venue models spot only (no margin, funding, positions or algo orders)."""
    if config.is_swap:
        raise ConfigError(
            path,
            key_line(text, ["symbol"]),
            f"{config.symbol} is a perpetual swap; backtests run spot bots only (no margin, funding, "
            "positions or exchange-side stops are modelled)",
            f"backtest the signal on the spot pair {config.symbol.split(':')[0]} with a spot strategy, or "
            "try the swap bot on the simulator: okxbot demo --swap / okxbot run CONFIG --sim URL",
        )
    raw = dict(config.backtest)
    raw.update({k: v for k, v in (overrides or {}).items() if v is not None})
    try:
        return BacktestSettings.model_validate(raw)
    except ValidationError as err:
        first = err.errors()[0]
        loc = ["backtest", *(str(p) for p in first["loc"])]
        name = ".".join(loc)
        msg = str(first["msg"]).removeprefix("Value error, ")
        from_flag = bool(first["loc"]) and str(first["loc"][0]) in (overrides or {})
        if first["type"] == "extra_forbidden":
            known = ", ".join(BacktestSettings.model_fields)
            raise ConfigError(
                path, key_line(text, loc), f"unknown key {name!r}", f"known keys: {known}"
            ) from None
        value = first.get("input")
        shown = "" if isinstance(value, dict) else f" (got {value!r})"
        where = "the command line" if from_flag else path
        line = None if from_flag else key_line(text, loc)
        raise ConfigError(
            where, line, f"{name}: {msg}{shown}", "see `okxbot backtest --help` and the README"
        ) from None
