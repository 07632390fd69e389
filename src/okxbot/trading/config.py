"""A bot's TOML config, validated with pydantic; every refusal names the file, the line and the fix.

tomllib gives no line numbers, so a failing key path (risk.max_order_notional) is mapped back to the
line that sets it by scanning the file's text for its table header and key.
"""

from __future__ import annotations

import re
import tomllib
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

# Every money or size in a config: finite and below 10^15 (no OKX price or size comes near it; a typo
# such as "1e999999" must be refused, not traded on).
Dec = Annotated[Decimal, Field(allow_inf_nan=False, lt=Decimal("1e15"))]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class GridConfig(Strict):
    lower: Dec = Field(gt=0, description="lowest grid price")
    upper: Dec = Field(gt=0, description="highest grid price")
    levels: int = Field(ge=2, le=200)
    size: Dec = Field(gt=0, description="base amount per level")

    @model_validator(mode="after")
    def _range(self) -> GridConfig:
        if self.lower >= self.upper:
            raise ValueError(f"lower ({self.lower}) must be below upper ({self.upper})")
        return self


class DcaConfig(Strict):
    quote_amount: Dec = Field(gt=0, description="quote currency spent per buy")
    interval_seconds: float = Field(gt=0)
    max_price: Dec | None = Field(default=None, gt=0, description="no buy above this price")


class MaCrossConfig(Strict):
    fast: int = Field(ge=1)
    slow: int = Field(ge=2)
    bar: Literal["1m", "3m", "5m", "15m", "30m", "1H", "4H", "1D"] = "1m"
    size: Dec = Field(gt=0)
    # act on the bar still forming (reacts within seconds, may flip back before the bar closes)
    use_forming_bar: bool = False

    @model_validator(mode="after")
    def _order(self) -> MaCrossConfig:
        if self.fast >= self.slow:
            raise ValueError(f"fast ({self.fast}) must be shorter than slow ({self.slow})")
        return self


class MaCrossPerpConfig(Strict):
    """`ma_cross_perp`: long when the fast average is above the slow, short when below; every entry
    carries an ATR stop (and optionally a take-profit) attached on the exchange."""

    fast: int = Field(ge=1)
    slow: int = Field(ge=2)
    bar: Literal["1m", "3m", "5m", "15m", "30m", "1H", "4H", "1D"] = "1m"
    size: Dec = Field(gt=0, description="position size, in `unit`")
    unit: Literal["contracts", "base", "quote"] = "contracts"
    atr_period: int = Field(default=14, ge=1)
    stop_atr: Dec = Field(default=Decimal("2"), gt=0, description="stop distance, in ATRs")
    take_profit_atr: Dec | None = Field(default=None, gt=0, description="take-profit distance, in ATRs")
    use_forming_bar: bool = False

    @model_validator(mode="after")
    def _order(self) -> MaCrossPerpConfig:
        if self.fast >= self.slow:
            raise ValueError(f"fast ({self.fast}) must be shorter than slow ({self.slow})")
        return self


class SwapConfig(Strict):
    """How a perpetual-swap bot trades (required for a swap symbol such as BTC/USDT:USDT)."""

    margin_mode: Literal["cross", "isolated"] = "cross"  # the tdMode of every order
    leverage: Dec | None = Field(default=None, gt=0)  # set on the exchange at start (None: as it is)
    trigger_price_type: Literal["last", "index", "mark"] = "mark"  # attached stops / take-profits


class RiskConfig(Strict):
    allowed_symbols: list[str] = Field(default_factory=list)  # empty: only the bot's own symbol
    max_order_notional: Dec = Field(default=Decimal("10000"), gt=0)
    max_position: dict[str, Dec] = Field(default_factory=dict)  # asset -> max holding bought by the bot
    max_open_orders: int = Field(default=50, ge=1)
    price_band_pct: Dec = Field(default=Decimal("5"), gt=0, le=100)
    max_orders_per_minute: int = Field(default=120, ge=1)
    daily_loss_limit: Dec | None = Field(default=None, gt=0)  # quote currency
    # perpetual swaps (okxbot.trading.swap_risk): refused before anything is sent
    max_leverage: Dec = Field(default=Decimal("5"), gt=0)  # the leverage in force on the exchange
    min_liquidation_distance_pct: Dec = Field(default=Decimal("10"), ge=0, le=99)  # % of the mark
    max_position_notional: Dec = Field(default=Decimal("10000"), gt=0)  # per symbol, settle currency
    max_funding_per_day: Dec = Field(default=Decimal("20"), ge=0)  # projected funding cost, settle ccy
    require_stop: bool = True  # an order opening or increasing a position needs an exchange-side stop


class RunConfig(Strict):
    cancel_on_stop: bool = True
    dead_man_seconds: int = Field(default=60, ge=10, le=120)  # OKX cancel-all-after: 10..120
    dead_man: bool = True
    poll_seconds: float = Field(default=2.0, gt=0)
    journal_url: str | None = None  # default: SQLite in the data directory
    cancel_foreign: bool = False  # cancel orders on the key that okxbot did not place


BUILT_IN_STRATEGIES = ("grid", "dca", "ma_cross", "ma_cross_perp")  # else the path of a Python file
SWAP_STRATEGIES = ("ma_cross_perp",)  # built-ins that trade perpetual swaps (the others: spot)


class BotConfig(Strict):
    # the name is also a file name (log, pid file): letters, digits, '-' and '_', no leading '-'
    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
    # spot BTC/USDT, or a perpetual swap in ccxt's form BTC/USDT:USDT (then [swap] applies)
    symbol: str = Field(pattern=r"^[A-Z0-9]+/[A-Z0-9]+(:[A-Z0-9]+)?$")
    strategy: str  # grid | dca | ma_cross | ma_cross_perp | path/to/file.py
    grid: GridConfig | None = None
    dca: DcaConfig | None = None
    ma_cross: MaCrossConfig | None = None
    ma_cross_perp: MaCrossPerpConfig | None = None
    swap: SwapConfig | None = None  # filled with the defaults for a swap symbol
    params: dict[str, Any] = Field(default_factory=dict)  # a user strategy's own settings
    risk: RiskConfig = Field(default_factory=RiskConfig)
    run: RunConfig = Field(default_factory=RunConfig)
    # `okxbot backtest` settings (balances, fees, latency, fill and slippage models), validated by
    # the backtester (okxbot.backtest.settings); live runs ignore the table
    backtest: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _strategy_section(self) -> BotConfig:
        if self.strategy in BUILT_IN_STRATEGIES and getattr(self, self.strategy) is None:
            raise ValueError(f"strategy {self.strategy!r} needs a [{self.strategy}] table")
        if self.strategy not in BUILT_IN_STRATEGIES and not self.strategy.endswith(".py"):
            raise ValueError(
                f"strategy {self.strategy!r}: use grid, dca, ma_cross, ma_cross_perp or the path of a "
                "Python file"
            )
        if self.is_swap and self.strategy in BUILT_IN_STRATEGIES and self.strategy not in SWAP_STRATEGIES:
            raise ValueError(
                f"strategy {self.strategy!r} trades spot; {self.symbol} is a perpetual swap (use "
                f"ma_cross_perp, a strategy file, or a spot symbol such as {self.symbol.split(':')[0]})"
            )
        if not self.is_swap and self.strategy in SWAP_STRATEGIES:
            raise ValueError(
                f"strategy {self.strategy!r} trades perpetual swaps: give a swap symbol such as "
                f"{self.symbol}:{self.quote}"
            )
        if not self.is_swap and self.swap is not None:
            raise ValueError(f"[swap] applies to perpetual swaps only; {self.symbol} is a spot pair")
        if self.is_swap and self.swap is None:
            object.__setattr__(self, "swap", SwapConfig())
        return self

    @property
    def is_swap(self) -> bool:
        """A perpetual swap (ccxt's BASE/QUOTE:SETTLE form)."""
        return ":" in self.symbol

    @property
    def base(self) -> str:
        return self.symbol.split("/")[0]

    @property
    def quote(self) -> str:
        return self.symbol.split("/")[1].split(":")[0]


class ConfigError(Exception):
    """A config the bot refuses; str() is 'file:line: problem' followed by the fix."""

    def __init__(self, path: str, line: int | None, problem: str, fix: str) -> None:
        where = f"{path}:{line}" if line else path
        super().__init__(f"{where}: {problem}\n  Fix: {fix}")
        self.path, self.line, self.problem, self.fix = path, line, problem, fix


def load_config(path: str | Path) -> BotConfig:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as err:
        raise ConfigError(
            str(path), None, f"cannot read the config ({err.strerror})", "check the path"
        ) from None
    return parse_config(text, str(path))


def parse_config(text: str, path: str = "<config>") -> BotConfig:
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        line = getattr(err, "lineno", None) or _line_from_message(str(err))
        raise ConfigError(path, line, f"not valid TOML: {err}", "fix the TOML syntax at that line") from None
    try:
        config = BotConfig.model_validate(raw)
    except ValidationError as err:
        first = err.errors()[0]
        loc = [str(p) for p in first["loc"]]
        raise ConfigError(path, key_line(text, loc), _problem(loc, first), _fix(loc, first)) from None
    return config


def check_instrument(config: BotConfig, min_size: Decimal, path: str, text: str | None = None) -> None:
    """Refuse sizes below the instrument's minimum (known only once the markets are loaded)."""
    sizes = []
    if config.grid is not None:
        sizes.append((["grid", "size"], config.grid.size))
    if config.ma_cross is not None:
        sizes.append((["ma_cross", "size"], config.ma_cross.size))
    if config.ma_cross_perp is not None and config.ma_cross_perp.unit == "contracts":
        sizes.append((["ma_cross_perp", "size"], config.ma_cross_perp.size))
    for loc, size in sizes:
        if size < min_size:
            line = key_line(text, loc) if text is not None else None
            raise ConfigError(
                path,
                line,
                f"{'.'.join(loc)} = {size} is below {config.symbol}'s minimum order size {min_size}",
                f"set {'.'.join(loc)} to at least {min_size}",
            )


def key_line(text: str | None, loc: list[str]) -> int | None:
    """The 1-based line that sets `loc` (a.b.c), or its table header, or None."""
    if text is None:
        return None
    lines = text.splitlines()
    table: list[str] = []
    best: int | None = None
    keys = [k for k in loc if not k.isdigit()]
    for number, line in enumerate(lines, 1):
        stripped = line.split("#", 1)[0].strip()
        header = re.match(r"^\[\s*([^\]]+?)\s*\]$", stripped)
        if header:
            table = [p.strip().strip('"') for p in header.group(1).split(".")]
            if table == keys[: len(table)] and best is None and len(table) == len(keys):
                best = number
            if table == keys[:-1] and len(keys) > 1 and best is None:
                best = number  # the table exists; the key may be missing
            continue
        match = re.match(r'^"?([A-Za-z0-9_.-]+)"?\s*=', stripped)
        if match:
            full = table + [p.strip() for p in match.group(1).split(".")]
            if full == keys[: len(full)] and full:
                return number
    return best


def _line_from_message(message: str) -> int | None:
    match = re.search(r"line (\d+)", message)
    return int(match.group(1)) if match else None


def _problem(loc: list[str], error: Any) -> str:
    name = ".".join(loc) or "(top level)"
    kind = error["type"]
    if kind == "extra_forbidden":
        return f"unknown key {name!r}"
    if kind == "missing":
        return f"missing key {name!r}"
    msg = str(error["msg"]).removeprefix("Value error, ")
    value = error.get("input")
    shown = "" if isinstance(value, dict) else f" (got {value!r})"
    return f"{name}: {msg}{shown}"


def _fix(loc: list[str], error: Any) -> str:
    kind = error["type"]
    if kind == "extra_forbidden":
        parent = BotConfig
        for part in loc[:-1]:
            field = parent.model_fields.get(part)
            ann = getattr(field, "annotation", None) if field else None
            sub = [
                a
                for a in getattr(ann, "__args__", (ann,))
                if isinstance(a, type) and issubclass(a, BaseModel)
            ]
            if not sub:
                break
            parent = sub[0]
        known = ", ".join(parent.model_fields)
        return f"remove it or correct the spelling; known keys here: {known}"
    if kind == "missing":
        return f"add {loc[-1]} = ... (see examples/*.toml)"
    if "decimal" in kind or "float" in kind or "int" in kind:
        return 'write a number; for prices and sizes prefer a string, e.g. "0.001"'
    return "change the value as the problem says (see examples/*.toml)"
