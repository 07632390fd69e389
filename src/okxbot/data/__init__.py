"""Historical market data: download from OKX, import OKX's daily files, a Parquet store, checks.

Layer rules: `data/` may import `okx/` (limiter, limits) and `vault/` (home directory, atomic
writes), never `trading/` or `cli/`. The library API the backtester uses is re-exported here.
"""

from okxbot.data.errors import DataError
from okxbot.data.load import Candles, Funding, Trades, iter_trades, load_candles, load_funding, load_trades
from okxbot.data.store import Store

__all__ = [
    "Candles", "DataError", "Funding", "Store", "Trades", "iter_trades", "load_candles", "load_funding",
    "load_trades",
]  # fmt: skip
