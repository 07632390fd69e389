"""`okxbot data ...` as a user runs it: a real process, a real simulator over HTTP, a temporary home."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import pytest

from tests.data.datakit import DAY, MINUTE, answer_okx, join_of, sim_paths
from tests.data.test_import import okx_zip, trade_lines

if TYPE_CHECKING:
    from okxbot.sim.server import RunningSim


def iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M")


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


def okxbot(home: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("OKX_", "OKXBOT_"))}
    full_env.update({"OKXBOT_HOME": str(home), "COLUMNS": "200", **(env or {})})
    return subprocess.run(
        [sys.executable, "-m", "okxbot", "data", *args],
        capture_output=True,
        text=True,
        env=full_env,
        timeout=300,
    )


@pytest.fixture(autouse=True)
def _fresh_limits(sim: RunningSim) -> None:
    sim.admin("POST", "/__sim__/reset-limits")


def test_help_explains_every_command(home: Path) -> None:
    out = okxbot(home, "--help").stdout
    assert all(word in out for word in ("download", "list", "check", "import", "no API key"))
    download_help = okxbot(home, "download", "--help").stdout
    assert "--since" in download_help and "--trades" in download_help and "history-candles" in download_help


def test_download_list_check_from_the_readme(sim: RunningSim, home: Path) -> None:
    join = join_of(sim, "BTC-USDT")
    since, until = iso(join - 2 * DAY), iso(join - DAY)
    done = okxbot(
        home, "download", "BTC-USDT", "ETH-USDT", "--since", since, "--until", until, "--sim", sim.rest
    )
    assert done.returncode == 0, done.stderr
    assert "BTC-USDT 1m candles" in done.stdout and "1,440" in done.stdout
    assert "ETA" in done.stderr  # the progress bar
    listed = json.loads(okxbot(home, "list", "--json").stdout)
    assert [(d["dataset"], d["rows"], d["missingBars"]) for d in listed] == [
        ("BTC-USDT 1m candles", 1440, 0), ("ETH-USDT 1m candles", 1440, 0),
    ]  # fmt: skip
    table = okxbot(home, "list").stdout
    assert "BTC-USDT 1m candles" in table and "1,440" in table
    checked = okxbot(home, "check")
    assert checked.returncode == 0 and checked.stdout.count(": ok") == 2
    again = okxbot(
        home, "download", "BTC-USDT", "--since", since, "--until", until, "--sim", sim.rest, "--json"
    )
    assert json.loads(again.stdout)[0]["alreadyStored"] is True


def test_gaps_and_duplicates_are_said_out_loud(sim: RunningSim, home: Path) -> None:
    join = join_of(sim, "OKB-USDT")
    start = join - 5 * DAY
    outage = [start + 60 * MINUTE, start + 75 * MINUTE]
    doubled = [start + 10 * MINUTE, start + 20 * MINUTE]
    sim.admin("POST", "/__sim__/history", {"instId": "OKB-USDT", "missing": [outage], "duplicates": doubled})
    try:
        done = okxbot(home, "download", "OKB-USDT", "--since", iso(start), "--until", iso(start + 200 * MINUTE),
                      "--sim", sim.rest)  # fmt: skip
    finally:
        sim.admin("POST", "/__sim__/history", {"reset": True})
    assert done.returncode == 0, done.stderr
    assert "OKB-USDT 1m candles: OKX sent 2 rows twice; stored once." in done.stdout
    assert (
        f"gap {iso(outage[0]).replace('T', ' ')} .. {iso(outage[1]).replace('T', ' ')} (15 bars missing)"
        in done.stdout
    )
    checked = okxbot(home, "check")
    assert (
        checked.returncode == 0 and "1 gap warnings" in checked.stdout and "15 bars missing" in checked.stdout
    )


def test_a_corrupted_file_fails_check_and_download_and_stays_as_it_was(sim: RunningSim, home: Path) -> None:
    join = join_of(sim, "SOL-USDT")
    args = ("--since", iso(join - 3 * DAY), "--until", iso(join - 3 * DAY + 120 * MINUTE), "--sim", sim.rest)
    assert okxbot(home, "download", "SOL-USDT", *args).returncode == 0
    (path,) = (home / "history" / "candles" / "SOL-USDT" / "1m").glob("*.parquet")
    path.write_bytes(b"PAR1 this is not parquet any more PAR1")
    checked = okxbot(home, "check", "SOL-USDT")
    assert checked.returncode == 1 and str(path) in checked.stdout and "cannot be read" in checked.stdout
    wider = okxbot(home, "download", "SOL-USDT", "--refetch", *args)
    assert wider.returncode == 1 and "is corrupted" in wider.stderr and "Fix:" in wider.stderr
    assert path.read_bytes() == b"PAR1 this is not parquet any more PAR1"
    listed = json.loads(okxbot(home, "list", "--json").stdout)
    assert "corrupted" in listed[0]["problem"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["BTC-USDT", "--bar", "1h"], "unknown bar '1h' (OKX spells it '1H')"),
        (["BTC-USDT", "--since", "last tuesday"], "--since 'last tuesday' is not a date"),
        (["BTCUSDT"], "'BTCUSDT' is not an OKX instrument id"),
        (["BTC-USDT", "--since", "2024-02-01", "--until", "2024-01-01"], "is not before --until"),
        (["BTC-USDT", "--funding"], "BTC-USDT is not a perpetual swap"),
        (["BTC-USDT", "--sim", "localhost:1"], "is not a URL"),
        (["BTC-USDT", "--region", "mars"], "unknown region 'mars'"),
    ],
)
def test_bad_input_is_refused_before_any_request(
    sim: RunningSim, home: Path, args: list[str], message: str
) -> None:
    before = sim_paths(sim)
    extra = [] if "--sim" in args else ["--sim", sim.rest]
    result = okxbot(home, "download", *args, *extra)
    assert result.returncode == 2 and message in result.stderr and "Fix:" in result.stderr
    after = sim_paths(sim)
    assert {k: v for k, v in after.items() if k != "/__sim__/stats"} == {
        k: v for k, v in before.items() if k != "/__sim__/stats"
    }
    assert not (home / "history").exists() or not any((home / "history").rglob("*.parquet"))


def test_unknown_symbols_and_ranges_without_data_exit_non_zero(sim: RunningSim, home: Path) -> None:
    unknown = okxbot(home, "download", "NOPE-USDT", "--sim", sim.rest)
    assert unknown.returncode == 1 and "OKX lists no SPOT instrument NOPE-USDT" in unknown.stderr
    join = join_of(sim, "BTC-USDT")
    empty = okxbot(
        home,
        "download",
        "BTC-USDT",
        "--since",
        iso(join - 2000 * DAY),
        "--until",
        iso(join - 1900 * DAY),
        "--sim",
        sim.rest,
    )
    assert empty.returncode == 1 and "OKX has no BTC-USDT 1m candles between" in empty.stderr
    assert not any((home / "history").rglob("*.parquet"))


def test_import_from_the_command_line(home: Path, tmp_path: Path) -> None:
    good = okx_zip(tmp_path / "XRP-USDT-trades-2024-01-01.zip", trade_lines(12))
    result = okxbot(home, "import", str(good))
    assert result.returncode == 0 and "XRP-USDT trades" in result.stdout
    assert json.loads(okxbot(home, "list", "--json").stdout)[0]["rows"] == 12
    bad = tmp_path / "notes.csv"
    bad.write_text("hello,world\n1,2\n")
    refused = okxbot(home, "import", str(bad))
    assert refused.returncode == 1 and "not an OKX history file" in refused.stderr


class _Recorder(BaseHTTPRequestHandler):
    """A stand-in OKX that records every request's headers and answers as OKX's docs say."""

    seen: ClassVar[list[dict[str, str]]] = []

    def do_GET(self) -> None:
        type(self).seen.append(dict(self.headers))
        data: list[Any] = []
        if self.path.startswith("/api/v5/public/instruments"):
            data = [{"instId": "BTC-USDT", "instType": "SPOT", "tickSz": "0.1", "lotSz": "0.00000001"}]
        answer_okx(self, data)

    def log_message(self, *args: object) -> None:
        return


@pytest.fixture
def recorder() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_public_downloads_never_send_credentials(recorder: str, home: Path) -> None:
    _Recorder.seen.clear()
    keys = {"OKX_API_KEY": "k-123", "OKX_SECRET_KEY": "s-456", "OKX_PASSPHRASE": "p-789"}
    result = okxbot(home, "download", "BTC-USDT", "--since", "2d", "--sim", recorder, env=keys)
    assert result.returncode == 1 and "OKX has no BTC-USDT 1m candles" in result.stderr
    assert len(_Recorder.seen) >= 2
    for headers in _Recorder.seen:
        assert not any(name.lower().startswith("ok-access") for name in headers)
        assert not any(secret in value for value in headers.values() for secret in keys.values())
