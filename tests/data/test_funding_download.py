"""`--funding`: public/funding-rate-history as OKX documents it, over real HTTP.

The simulator lists no perpetual swaps yet (they are being built), so this test serves the documented
wire format from a small loopback server: SWAP instruments, funding every 8 h for 200 days, newest
first, `after` / `before` exclusive on fundingTime, at most 400 rows (the documented maximum), and
OKX's 3 months of depth.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import parse_qs, urlsplit

import pytest

from okxbot.data import load_funding
from okxbot.data.dates import now_ms
from okxbot.data.errors import DataError
from okxbot.data.store import Store
from tests.data.datakit import DAY, answer_okx, download

EIGHT_HOURS = 8 * 3_600_000


class _FundingOkx(BaseHTTPRequestHandler):
    settlements: ClassVar[list[int]] = []
    limits_seen: ClassVar[list[int]] = []

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        data: list[Any] = []
        if url.path == "/api/v5/public/instruments":
            if query.get("instType") == "SWAP" and query.get("instId") == "BTC-USDT-SWAP":
                data = [{"instId": "BTC-USDT-SWAP", "instType": "SWAP", "tickSz": "0.1", "lotSz": "0.01"}]
        elif url.path == "/api/v5/public/funding-rate-history":
            limit = int(query.get("limit", "400"))
            type(self).limits_seen.append(limit)
            after = int(query.get("after", str(2**62)))
            before = int(query.get("before", "-1"))
            rows = [t for t in reversed(self.settlements) if before < t < after and t >= now_ms() - 92 * DAY]
            data = [
                {"formulaType": "noRate", "fundingRate": f"0.0000{t // EIGHT_HOURS % 9 + 1}", "fundingTime": str(t),
                 "instId": "BTC-USDT-SWAP", "instType": "SWAP", "method": "current_period",
                 "realizedRate": f"0.0000{t // EIGHT_HOURS % 9 + 1}1"}
                for t in rows[: min(limit, 400)]
            ]  # fmt: skip
        answer_okx(self, data)

    def log_message(self, *args: object) -> None:
        return


@pytest.fixture
def funding_okx() -> Iterator[str]:
    now = now_ms()
    last = now - now % EIGHT_HOURS
    _FundingOkx.settlements = [last - k * EIGHT_HOURS for k in range(600)][::-1]
    _FundingOkx.limits_seen = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _FundingOkx)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_funding_history_downloads_exactly_and_resumes(funding_okx: str, tmp_path: Path) -> None:
    store = Store(tmp_path)
    start, end = now_ms() - 80 * DAY, now_ms()
    (report,), api = download(funding_okx, store, ["BTC-USDT-SWAP"], start, end, candles=False, funding=True)
    expected = [t for t in _FundingOkx.settlements if start <= t < end]
    assert report.rows == len(expected) == 240 and report.gaps == [] and report.duplicates == 0
    assert _FundingOkx.limits_seen[0] == 400 and api.counters.by_path["public/funding-rate-history"] == 2
    funding = load_funding("BTC-USDT-SWAP", store=store)
    assert funding.ts.tolist() == expected
    t = expected[7]
    assert funding.table["realized_rate"][7].as_py() == Decimal(f"0.0000{t // EIGHT_HOURS % 9 + 1}1")
    assert funding.rate[7] == float(f"0.0000{t // EIGHT_HOURS % 9 + 1}1")
    (again,), api = download(funding_okx, store, ["BTC-USDT-SWAP"], start, end, candles=False, funding=True)
    assert again.already and "public/funding-rate-history" not in api.counters.by_path


def test_funding_needs_a_swap(funding_okx: str, tmp_path: Path) -> None:
    with pytest.raises(DataError, match="funding rates exist for swaps only"):
        download(funding_okx, Store(tmp_path), ["BTC-USDT"], now_ms() - DAY, now_ms(), funding=True)
