"""OKX's public REST endpoints for history: no credentials, OKX's limits, patient retries.

Public market data needs no API key, so none is sent: these requests carry no OK-ACCESS headers at
all, whatever profiles the vault holds. The host is the region's (www / eea / us.okx.com) or a
simulator's URL. Every request first waits for room in okxbot's limiter (`okxbot.okx.ratelimit`,
OKX's table in `okxbot.okx.limits`): IP-keyed buckets, so a shared Redis limiter (`--rate-limit-url`)
also keeps a bot on the same machine inside the same budget.

They are GETs, so retrying cannot do harm: timeouts, dropped connections, HTTP 5xx, 50001 (service
unavailable), 50013 (busy) and 50011 (too many requests: another process on the same IP) are retried
with a growing pause. OKX's parameter errors (51000), unknown instruments (51001) and anything else
become a DataError that says what to change.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import aiohttp

from okxbot.data.errors import DataError
from okxbot.data.symbols import inst_type
from okxbot.okx.ratelimit import DEFAULT_IP, RateLimiter

RETRIABLE_CODES = frozenset({"50001", "50004", "50011", "50013", "50026"})
ATTEMPTS = 6
TIMEOUT_S = 15.0


@dataclass(frozen=True)
class InstrumentInfo:
    inst_id: str
    inst_type: str
    tick_sz: Decimal
    lot_sz: Decimal
    list_time: int | None  # ms; None when OKX does not say


@dataclass
class Counters:
    requests: int = 0
    retries: int = 0
    by_path: dict[str, int] = field(default_factory=dict)


class PublicApi:
    """GET `/api/v5/...` on `base_url` through `limiter`; `async with PublicApi(...)` owns a session."""

    def __init__(self, base_url: str, limiter: RateLimiter, *, timeout_s: float = TIMEOUT_S) -> None:
        self.base_url = base_url.rstrip("/")
        self.limiter = limiter.bind(uid=None, ip=DEFAULT_IP)
        self.timeout = aiohttp.ClientTimeout(total=timeout_s)
        self.counters = Counters()
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> PublicApi:
        self._session = aiohttp.ClientSession(timeout=self.timeout)
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._session is not None:
            await self._session.close()

    async def get(self, path: str, params: dict[str, str]) -> list[Any]:
        """The `data` of a successful answer; DataError when OKX refuses or keeps failing."""
        assert self._session is not None, "use `async with PublicApi(...)`"
        full = f"/api/v5/{path}"
        problem = ""
        for attempt in range(ATTEMPTS):
            if attempt:
                self.counters.retries += 1
                await asyncio.sleep(min(8.0, 0.25 * 2**attempt))
            async with self.limiter.request("GET", full, params):
                self.counters.requests += 1
                self.counters.by_path[path] = self.counters.by_path.get(path, 0) + 1
                try:
                    async with self._session.get(self.base_url + full, params=params) as response:
                        status = response.status
                        text = await response.text()
                except (aiohttp.ClientError, TimeoutError, OSError) as err:
                    problem = f"no answer from {self.base_url} ({type(err).__name__}: {err})"
                    continue
            try:
                body = json.loads(text)
            except ValueError:
                body = None
            if not isinstance(body, dict):
                problem = f"HTTP {status} with a body that is not OKX's JSON: {text[:120]!r}"
                continue
            code = str(body.get("code", ""))
            if code == "0" and isinstance(body.get("data"), list):
                return body["data"]
            if code in RETRIABLE_CODES or status >= 500:
                problem = f"OKX answered {code or status}: {body.get('msg', '')}"
                continue
            raise _refusal(path, params, code, str(body.get("msg", "")), status)
        raise DataError(
            f"GET {full} kept failing after {ATTEMPTS} attempts: {problem}",
            "check the network and the host (--sim URL or --region), then run the same command again: "
            "what was stored is kept and the download resumes where it stopped",
        )

    async def instrument(self, inst_id: str) -> InstrumentInfo:
        """The instrument as OKX lists it; DataError naming it when OKX lists no such instrument."""
        kind = inst_type(inst_id)
        data = await self.get("public/instruments", {"instType": kind, "instId": inst_id})
        if not data:
            raise DataError(
                f"OKX lists no {kind} instrument {inst_id} at {self.base_url}",
                "check the spelling (BTC-USDT, BTC-USDT-SWAP) or list them: "
                f"GET {self.base_url}/api/v5/public/instruments?instType={kind}",
            )
        item = data[0]
        listed = str(item.get("listTime") or "")
        return InstrumentInfo(
            inst_id=inst_id,
            inst_type=str(item.get("instType") or kind),
            tick_sz=Decimal(str(item.get("tickSz") or "0")),
            lot_sz=Decimal(str(item.get("lotSz") or "0")),
            list_time=int(listed) if listed.isdigit() else None,
        )


def _refusal(path: str, params: dict[str, str], code: str, msg: str, status: int) -> DataError:
    inst = params.get("instId", "")
    if code == "51001":
        return DataError(
            f"OKX does not know the instrument {inst!r} ({code} {msg})", "check the instrument id"
        )
    if code == "51000":
        return DataError(
            f"OKX refused a parameter of GET {path} ({code} {msg}); sent {params}",
            "check --bar (OKX's names: 1m 5m 1H 1D ...) and the dates",
        )
    return DataError(f"OKX refused GET {path} for {inst or params}: {code or status} {msg}".rstrip())
