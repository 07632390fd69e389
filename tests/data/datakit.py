"""Helpers for the data tests: run downloads against a simulator over real HTTP, read the simulator."""

from __future__ import annotations

import asyncio
import json
from http.server import BaseHTTPRequestHandler
from typing import Any

import httpx

from okxbot.data.dates import now_ms
from okxbot.data.download import Report, Request, run
from okxbot.data.okx_public import PublicApi
from okxbot.data.store import Store
from okxbot.okx.ratelimit import MemoryRateLimiter

MINUTE = 60_000
DAY = 1440 * MINUTE


def download(
    base_url: str, store: Store, inst_ids: list[str], start: int, end: int, **kw: Any
) -> tuple[list[Report], PublicApi]:
    """One download through a fresh limiter; returns the reports and the API (its request counters)."""

    async def main() -> tuple[list[Report], PublicApi]:
        limiter = MemoryRateLimiter()
        async with PublicApi(base_url, limiter) as api:
            reports = await run(api, store, Request(inst_ids, kw.pop("bar", "1m"), start, end, **kw))
        await limiter.close()
        return reports, api

    return asyncio.run(main())


def okx_raw(sim: Any, path: str, **params: Any) -> dict[str, Any]:
    """A public GET's whole answer. Tests read the simulator much faster than OKX's public limits
    allow, so a 50011 resets the simulator's windows (admin API) and asks again."""
    for _ in range(2):
        body: dict[str, Any] = httpx.get(f"{sim.rest}/api/v5/{path}", params=params, timeout=30).json()
        if body.get("code") != "50011":
            return body
        sim.admin("POST", "/__sim__/reset-limits")
    return body


def okx_get(sim: Any, path: str, **params: Any) -> list[Any]:
    """A public GET's data (the answer must be code 0)."""
    body = okx_raw(sim, path, **params)
    assert body["code"] == "0", body
    data: list[Any] = body["data"]
    return data


def minute_floor(ms: int) -> int:
    return ms - ms % MINUTE


def join_of(sim: Any, inst_id: str) -> int:
    """Where the simulator's generated past joins its tape (the tape's first minute), read through
    `sim.call` (test-only inspection; OKX's market/candles shows only the latest 1,440 bars)."""
    from okxbot.sim.history import history_of

    join: int = sim.call(lambda: history_of(sim.ctx).series(inst_id).join_ms)
    return join


def sim_paths(sim: Any) -> dict[str, int]:
    return dict(sim.admin("GET", "/__sim__/stats")["paths"])


def days_ago(n: float) -> int:
    return minute_floor(now_ms()) - int(n * DAY)


def answer_okx(handler: BaseHTTPRequestHandler, data: list[Any]) -> None:
    """Answer a stand-in OKX request with OKX's envelope around `data`."""
    body = json.dumps({"code": "0", "msg": "", "data": data}).encode()
    handler.send_response(200)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)
