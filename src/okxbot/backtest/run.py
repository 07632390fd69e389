"""`run_backtest`: a bot config on history, from its data to its `BacktestResult`.

    result = run_backtest(BacktestRequest(config, config_path, start_ms, end_ms, settings))

Everything the replay needs is loaded and checked first (instrument, data, settings the backtester
can honour), so that a refusal comes before anything runs; then the bot's own strategy, risk guard
and order manager (`okxbot.trading.core.BotCore`) trade against the simulator's matching engine in
this process, on the virtual clock (`okxbot.backtest.loop`), and the result is assembled.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from okxbot.backtest.book import SyntheticBook
from okxbot.backtest.candles import CandleReplay
from okxbot.backtest.equity import EquityCurve
from okxbot.backtest.errors import BacktestError
from okxbot.backtest.history import HISTORY_BARS, CandleSeries, load_series, load_trades, load_warmup
from okxbot.backtest.loop import VirtualClock, run
from okxbot.backtest.outcome import build_result, price_bars
from okxbot.backtest.replay import Replay
from okxbot.backtest.result import BacktestResult, PriceBar
from okxbot.backtest.settings import BacktestSettings
from okxbot.backtest.venue import BacktestVenue
from okxbot.data.bars import fixed_ms
from okxbot.data.horizon import visible_until
from okxbot.data.store import Store
from okxbot.okx.validate import InstrumentRules
from okxbot.sim.engine import Exchange
from okxbot.sim.instruments import DEFAULT_INSTRUMENTS, Instrument, InstrumentSet
from okxbot.trading.config import BotConfig, check_instrument
from okxbot.trading.core import BotCore
from okxbot.trading.journal_memory import MemoryJournal
from okxbot.trading.strategy import StrategyLoadError, strategy_class

Progress = Callable[[int], None]  # called now and then with the replay's time (ms)


@dataclass
class BacktestRequest:
    config: BotConfig
    config_path: Path
    start_ms: int
    end_ms: int
    settings: BacktestSettings
    data_dir: Path | None = None  # the history store (default OKXBOT_HOME/history)
    bar: str = "1m"  # the stored candles replayed
    trades: bool = False  # replay stored trades instead of candles
    recording: Path | None = None  # replay a recorded simulator session instead (okxbot.sim.recorder)
    fast: bool = True  # fast-forward through quiet stretches (results identical to fast=False)
    progress: Progress | None = None


def instrument_for(config: BotConfig, settings: BacktestSettings) -> Instrument:
    """The instrument's trading rules: `[backtest.instrument]`, or the simulator's table (OKX's
    tick / lot / minimum for those pairs)."""
    inst_id = config.symbol.replace("/", "-")
    spec = settings.instrument
    if spec is not None:
        return Instrument(inst_id, spec.tick_size, spec.lot_size, spec.min_size, spec.tick_size)
    for inst in DEFAULT_INSTRUMENTS:
        if inst.inst_id == inst_id:
            return inst
    known = ", ".join(i.inst_id.replace("-", "/") for i in DEFAULT_INSTRUMENTS)
    raise BacktestError(
        f"the backtester does not know {config.symbol}'s trading rules (tick, lot, minimum size)",
        f"give them in the config's [backtest.instrument] table (tick_size, lot_size, min_size), or use one of {known}",
    )


def check_honoured(config: BotConfig, config_path: Path, settings: BacktestSettings) -> type:
    """The strategy class, after refusing what a backtest cannot reproduce."""
    try:
        cls = strategy_class(config.strategy, config_path.parent)
    except StrategyLoadError as err:
        raise BacktestError(str(err), "fix the `strategy` setting or the strategy file") from None
    if config.ma_cross is not None and config.ma_cross.use_forming_bar:
        raise BacktestError(
            "ma_cross.use_forming_bar = true acts on the bar still forming, which a replay of closed bars cannot show",
            "set use_forming_bar = false for backtests",
        )
    depth = getattr(cls, "book_depth", 5)
    if cls.on_book is not _base_hook("on_book") and depth > settings.depth:
        raise BacktestError(
            f"the strategy reads {depth} book levels; the backtest's synthetic book has {settings.depth}",
            f"set depth = {depth} (or more) in [backtest]",
        )
    return cls


def _base_hook(name: str) -> object:
    from okxbot.trading.strategy import Strategy

    return getattr(Strategy, name)


def run_backtest(request: BacktestRequest) -> BacktestResult:
    config, settings = request.config, request.settings
    if request.end_ms <= request.start_ms:
        raise BacktestError("the range is empty: --to must be after --from", "give --from before --to")
    check_honoured(config, request.config_path, settings)
    if request.recording is not None:
        return _run_recorded(request)
    inst = instrument_for(config, settings)
    rules = _rules(config, inst)
    text = _read(request.config_path)
    check_instrument(config, rules.min_size, str(request.config_path), text)
    store = Store(request.data_dir)
    candles, trades = None, None
    if request.trades:
        trades = load_trades(inst.inst_id, request.start_ms, request.end_ms, store)
        px_scale = trades.px_scale
    else:
        candles = load_series(inst.inst_id, request.bar, request.start_ms, request.end_ms, store)
        px_scale = candles.px_scale
    bars, first_bar = _strategy_bars(config, request, inst.inst_id, candles, store)

    clock = VirtualClock(request.start_ms)
    exchange = Exchange(clock, InstrumentSet([inst]), seed=0)  # type: ignore[arg-type]
    initial = settings.start_balances(inst.quote_ccy)
    uid = exchange.create_account(initial, fee_rates=settings.fee_rates())
    book = SyntheticBook(exchange, inst, uid, settings)
    venue = BacktestVenue(
        exchange, uid, rules, clock, settings.latency_ms, before_request=book.before_request
    )
    journal = MemoryJournal(config.name, clock.now_ms)
    core = BotCore(config, venue, journal, rules, clock=clock, config_dir=request.config_path.parent)
    equity = EquityCurve(px_scale)
    replay = CandleReplay(
        core, venue, clock, request.start_ms, request.end_ms, book,
        candles=candles, trades=trades, bars=bars, first_bar=first_bar, equity=equity, fast=request.fast,
    )  # fmt: skip
    _play(replay, clock, request.progress)
    if candles is not None:
        prices = price_bars(
            candles.ts, candles.open, candles.high, candles.low, candles.close, candles.vol,
            candles.px_scale, candles.vol_scale, candles.bar_ms,
        )  # fmt: skip
    else:
        assert trades is not None
        prices = _trade_bars(trades)
    shown = settings.shown() | {
        "fast_forward": request.fast,
        "source": "trades" if request.trades else "candles",
    }
    return build_result(
        core, venue, start_ms=request.start_ms, end_ms=request.end_ms,
        bar="trades" if request.trades else request.bar, source="trades" if request.trades else "candles",
        settings=shown, initial=initial, equity=equity, prices=prices,
    )  # fmt: skip


def _rules(config: BotConfig, inst: Instrument) -> InstrumentRules:
    return InstrumentRules(
        config.symbol, inst.inst_id, inst.base_ccy, inst.quote_ccy, inst.tick_sz, inst.lot_sz, inst.min_sz,
        inst.max_lmt_sz, inst.max_mkt_sz,
    )  # fmt: skip


def _run_recorded(request: BacktestRequest) -> BacktestResult:
    """The bot against a recorded simulator session (okxbot.backtest.recorded)."""
    from okxbot.backtest.recorded import RecordedMarket, RecordedReplay, instrument_of, load_recording

    config, settings = request.config, request.settings
    assert request.recording is not None
    recording = load_recording(request.recording)
    inst = instrument_of(recording, config.symbol.replace("/", "-"))
    rules = _rules(config, inst)
    check_instrument(config, rules.min_size, str(request.config_path), _read(request.config_path))
    first, last = int(recording["startMs"]), int(recording["endMs"])
    if request.start_ms < first or request.end_ms > last:
        raise BacktestError(
            f"the recording covers {first} to {last} (ms); the backtest asks for {request.start_ms} to {request.end_ms}",
            "give --from and --to inside the recording (or leave them out)",
        )
    clock = VirtualClock(first)
    exchange = Exchange(clock, InstrumentSet([inst]), seed=int(recording.get("seed", 0)))  # type: ignore[arg-type]
    market = RecordedMarket(exchange, recording, inst.inst_id, clock)
    initial = settings.start_balances(inst.quote_ccy)
    uid = exchange.create_account(initial, fee_rates=settings.fee_rates())
    venue = BacktestVenue(exchange, uid, rules, clock, settings.latency_ms)
    journal = MemoryJournal(config.name, clock.now_ms)
    core = BotCore(config, venue, journal, rules, clock=clock, config_dir=request.config_path.parent)
    equity = EquityCurve(max(0, -int(inst.tick_sz.as_tuple().exponent)))
    replay = RecordedReplay(core, venue, clock, request.start_ms, request.end_ms, market, equity)
    replay.catch_up()
    _play(replay, clock, request.progress)
    rows = [
        r
        for r in exchange.candles(inst.inst_id, "1m", limit=100_000)
        if request.start_ms <= int(r[0]) < request.end_ms
    ]
    prices = [
        PriceBar(int(r[0]), Decimal(r[1]), Decimal(r[2]), Decimal(r[3]), Decimal(r[4]), Decimal(r[5]))
        for r in reversed(rows)
    ]
    shown = {"latency_ms": settings.latency_ms, "maker_fee": str(settings.fee_rates()[0]),
             "taker_fee": str(settings.fee_rates()[1]), "fee_tier": settings.fee_tier, "source": "recorded",
             "recording": str(request.recording)}  # fmt: skip
    return build_result(
        core, venue, start_ms=request.start_ms, end_ms=request.end_ms, bar="1m", source="recorded",
        settings=shown, initial=initial, equity=equity, prices=prices,
    )  # fmt: skip


def _play(replay: Replay, clock: VirtualClock, progress: Progress | None) -> None:
    async def main() -> None:
        with visible_until(clock.now_ms):
            replay.progress = progress
            await replay.run()

    run(main(), clock)


def _strategy_bars(
    config: BotConfig, request: BacktestRequest, inst_id: str, candles: CandleSeries | None, store: Store
) -> tuple[CandleSeries | None, int]:
    """The strategy's candles (warm-up before the start included) and the index of the first one
    that closes after the start."""
    cls = strategy_class(config.strategy, request.config_path.parent)
    bar = (
        config.ma_cross.bar
        if config.ma_cross is not None and config.strategy == "ma_cross"
        else getattr(cls, "candle_bar", None)
    )
    if bar is None:
        return None, 0
    size = fixed_ms(bar)
    data_bar = request.bar
    if candles is None:
        candles = load_series(inst_id, data_bar, request.start_ms, request.end_ms, store)
    if size is None:
        raise BacktestError(f"the strategy's bar {bar} has no fixed length", "use a bar of 1m to 1W")
    warm = load_warmup(inst_id, data_bar, request.start_ms, HISTORY_BARS * size // candles.bar_ms + 1, store)
    joined = candles if warm is None else _concat(warm, candles)
    bars = joined.aggregate(bar)
    closes = bars.ts + bars.bar_ms
    first = int((closes <= request.start_ms).sum())
    return bars, first


def _concat(a: CandleSeries, b: CandleSeries) -> CandleSeries:
    import numpy as np

    if a.px_scale != b.px_scale or a.vol_scale != b.vol_scale:
        px, vol = max(a.px_scale, b.px_scale), max(a.vol_scale, b.vol_scale)
        a, b = _rescale(a, px, vol), _rescale(b, px, vol)
    return CandleSeries(
        b.bar, b.bar_ms, *(np.concatenate((getattr(a, f), getattr(b, f))) for f in ("ts", "open", "high", "low", "close", "vol")),
        b.px_scale, b.vol_scale,
    )  # fmt: skip


def _rescale(c: CandleSeries, px: int, vol: int) -> CandleSeries:
    f, g = 10 ** (px - c.px_scale), 10 ** (vol - c.vol_scale)
    return CandleSeries(
        c.bar, c.bar_ms, c.ts, c.open * f, c.high * f, c.low * f, c.close * f, c.vol * g, px, vol
    )


def _trade_bars(trades: object) -> list:  # type: ignore[type-arg]
    import numpy as np

    t = trades
    minute = t.ts // 60_000 * 60_000  # type: ignore[attr-defined]
    starts = np.flatnonzero(np.r_[True, minute[1:] != minute[:-1]])
    ends = np.r_[starts[1:], len(minute)] - 1
    px = t.px  # type: ignore[attr-defined]
    return price_bars(
        minute[starts], px[starts], np.maximum.reduceat(px, starts), np.minimum.reduceat(px, starts), px[ends],
        np.add.reduceat(t.sz, starts), t.px_scale, t.sz_scale, 60_000,  # type: ignore[attr-defined]
    )  # fmt: skip


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except OSError:
        return None


__all__ = ["BacktestError", "BacktestRequest", "Decimal", "run_backtest"]
