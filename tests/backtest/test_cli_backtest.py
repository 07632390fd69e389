"""`okxbot backtest CONFIG --from --to` as a user runs it (a real process): a run that writes its
result and prints the parity hash, and bad input refused clearly, with stored data left intact."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from okxbot.backtest import result_file
from tests.backtest.histkit import walk, write_candles

GRID = """name = "grid-bt"
symbol = "{symbol}"
strategy = "grid"

[grid]
lower = "59500"
upper = "60500"
levels = 11
size = "0.01"
{extra}
[backtest]
balances = {{ USDT = "20000", BTC = "0.5" }}
"""


def okxbot(tmp: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OKX_", "OKXBOT_"))}
    env.update({"OKXBOT_HOME": str(tmp / "home"), "COLUMNS": "200"})
    return subprocess.run(
        [sys.executable, "-m", "okxbot", "backtest", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )


@pytest.fixture
def history(tmp_path: Path) -> Path:
    write_candles(tmp_path / "hist", walk(2 * 1440, seed=5))
    return tmp_path / "hist"


def config(tmp: Path, symbol: str = "BTC/USDT", extra: str = "", name: str = "bot.toml") -> Path:
    path = tmp / name
    path.write_text(GRID.format(symbol=symbol, extra=extra))
    return path


def stored(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*.parquet"))
    }


def test_a_backtest_writes_its_result_and_prints_the_parity_hash(tmp_path: Path, history: Path) -> None:
    cfg = config(tmp_path)
    done = okxbot(tmp_path, str(cfg), "--from", "2024-01-01", "--to", "2024-01-03", "--data-dir", str(history),
                  "--out", str(tmp_path / "out"), "--latency-ms", "20", "--fee-tier", "vip1")  # fmt: skip
    assert done.returncode == 0, done.stderr
    result = result_file.load(tmp_path / "out")
    assert f"parity hash {result.parity_hash()}" in done.stdout
    assert "Orders" in done.stdout and "Fills" in done.stdout and "Net profit" in done.stdout
    assert result.settings["latency_ms"] == 20 and result.settings["maker_fee"] == "0.0006"
    assert result.initial_balances == {"USDT": 20000, "BTC": 0.5}
    assert len(result.equity) == 2 * 1440 + 1 and result.equity[0].ts_ms == result.start_ms and result.fills
    as_json = okxbot(tmp_path, "run", str(cfg), "--from", "2024-01-01", "--to", "2024-01-03", "--data-dir",
                     str(history), "--json", "--full", "--latency-ms", "20", "--fee-tier", "vip1")  # fmt: skip
    assert as_json.returncode == 0, as_json.stderr
    data = json.loads(as_json.stdout)
    assert data["parity_hash"] == result.parity_hash()  # the full run agrees


@pytest.mark.parametrize(
    ("args", "status", "says"),
    [
        (["--from", "2024-13-01"], 2, "--from '2024-13-01' is not a date"),
        (["--to", "2024-01-02"], 2, "--from is missing"),
        (["--from", "2024-01-02", "--to", "2024-01-01"], 2, "--to must be after --from"),
        (["--from", "2024-01-01", "--fill", "maybe"], 2, "backtest.fill"),
        (["--from", "2024-01-01", "--fee-tier", "vip9"], 2, "fee_tier 'vip9' is not an OKX spot tier"),
        (["--from", "2024-01-01", "--balance", "USDT"], 2, "is not CCY=AMOUNT"),
        (["--from", "2024-01-01", "--bar", "7m"], 2, "unknown bar '7m'"),
        (["--from", "2023-01-01", "--to", "2023-02-01"], 1, "okxbot data download BTC-USDT"),
        (["--from", "2024-01-01", "--trades"], 1, "trades stored"),
    ],
)
def test_bad_input_is_refused_clearly(
    tmp_path: Path, history: Path, args: list[str], status: int, says: str
) -> None:
    done = okxbot(tmp_path, str(config(tmp_path)), "--data-dir", str(history), *args)
    assert done.returncode == status, done.stderr
    assert says in done.stderr and "Fix:" in done.stderr
    assert "Traceback" not in done.stderr


def test_what_the_backtester_cannot_honour_is_refused(tmp_path: Path, history: Path) -> None:
    unknown = okxbot(
        tmp_path, str(config(tmp_path, "PEPE/USDT")), "--from", "2024-01-01", "--data-dir", str(history)
    )
    assert unknown.returncode == 1 and "does not know PEPE/USDT's trading rules" in unknown.stderr
    ma = tmp_path / "ma.toml"
    ma.write_text(
        'name = "ma"\nsymbol = "BTC/USDT"\nstrategy = "ma_cross"\n\n[ma_cross]\nfast = 2\nslow = 5\n'
        'size = "0.01"\nuse_forming_bar = true\n'
    )
    forming = okxbot(tmp_path, str(ma), "--from", "2024-01-01", "--data-dir", str(history))
    assert forming.returncode == 1 and "use_forming_bar" in forming.stderr
    deep = tmp_path / "deep.py"
    deep.write_text(
        "from okxbot.trading.strategy import Strategy\n\nclass Deep(Strategy):\n    book_depth = 50\n\n"
        "    async def on_book(self, book):\n        pass\n"
    )
    (tmp_path / "deep.toml").write_text('name = "deep"\nsymbol = "BTC/USDT"\nstrategy = "deep.py"\n')
    books = okxbot(tmp_path, str(tmp_path / "deep.toml"), "--from", "2024-01-01", "--data-dir", str(history))
    assert books.returncode == 1 and "reads 50 book levels" in books.stderr and "depth = 50" in books.stderr
    small = config(tmp_path, extra="\n[risk]\nmax_open_orders = 5\n", name="small.toml").read_text()
    (tmp_path / "tiny.toml").write_text(small.replace('size = "0.01"', 'size = "0.000001"'))
    below = okxbot(tmp_path, str(tmp_path / "tiny.toml"), "--from", "2024-01-01", "--data-dir", str(history))
    assert below.returncode == 1 and "below BTC/USDT's minimum order size" in below.stderr


def test_a_corrupted_file_is_named_and_left_as_it_is(tmp_path: Path, history: Path) -> None:
    month = next(history.rglob("2024-01.parquet"))
    month.write_bytes(month.read_bytes()[:200])  # torn
    before = stored(history)
    done = okxbot(
        tmp_path,
        str(config(tmp_path)),
        "--from",
        "2024-01-01",
        "--to",
        "2024-01-02",
        "--data-dir",
        str(history),
    )
    assert done.returncode == 1
    assert f"stored file {month} is corrupted" in done.stderr and "left as it is" in done.stderr
    assert stored(history) == before


def test_repeated_bot_warnings_are_counted_not_scrolled(tmp_path: Path, history: Path) -> None:
    # no BTC to sell: the grid's sell levels are refused by the funds check at every tick
    cfg = tmp_path / "no-btc.toml"
    cfg.write_text(config(tmp_path).read_text().replace('BTC = "0.5"', 'BTC = "0"'))
    done = okxbot(tmp_path, str(cfg), "--from", "2024-01-01", "--to", "2024-01-03", "--data-dir", str(history),
                  "--out", str(tmp_path / "out"))  # fmt: skip
    assert done.returncode == 0, done.stderr
    refused = result_file.load(tmp_path / "out").refused
    assert refused > 20, "the config must make the bot refuse orders again and again"
    lines = [line for line in done.stderr.splitlines() if "order refused" in line]
    # one line per kind of warning, with how often it came, instead of one line per refusal
    assert len(lines) < 5, done.stderr[-2000:]
    counts = [int(line.split("bot warning, ")[1].split(" time")[0].replace(",", "")) for line in lines]
    assert sum(counts) == refused
    assert "not enough BTC" in lines[0] and lines[0].startswith(
        f"bot warning, {max(counts):,} times, the first:"
    )


def test_an_out_that_cannot_be_a_directory_is_refused_before_the_run(tmp_path: Path, history: Path) -> None:
    taken = tmp_path / "report.txt"
    taken.write_text("mine")
    for out, says in ((taken, "is a file, not a directory"), (taken / "run", "is not a directory this user")):
        done = okxbot(tmp_path, str(config(tmp_path)), "--from", "2024-01-01", "--to", "2024-01-03",
                      "--data-dir", str(history), "--out", str(out))  # fmt: skip
        assert done.returncode == 2, done.stderr
        assert says in done.stderr and "Traceback" not in done.stderr
        assert "parity hash" not in done.stdout  # refused before the backtest ran
    assert taken.read_text() == "mine"
