"""Orders, fills, balances, posture, journal, rate limits, supervisors, events, the live stream,
panic and /metrics."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import Response, StreamingResponse
from pydantic import BaseModel, Field

from okxbot.serve.access import same
from okxbot.serve.guard import Caller, context, controller, identify, reader, state_change
from okxbot.serve.journal_views import QueryError
from okxbot.serve.metrics import CONTENT_TYPE
from okxbot.serve.supervisor import ControlError
from okxbot.vault.errors import VaultError

router = APIRouter(tags=["data"])
KEEPALIVE_S = 15.0


def _query(call: Any) -> Any:
    try:
        return call()
    except QueryError as err:
        raise HTTPException(422, str(err)) from None


@router.get("/api/orders", summary="Journaled orders of every bot, newest first, filtered and paged")
def orders(
    request: Request,
    bot: str | None = Query(None, max_length=64),
    state: str | None = Query(None, description="open, final, or a journal state (live, filled, ...)"),
    side: str | None = Query(None, description="buy or sell"),
    symbol: str | None = Query(None, max_length=32, description="ccxt symbol, e.g. BTC/USDT"),
    limit: int = Query(100, ge=1, le=500),
    offset: int = Query(0, ge=0),
    caller: Caller = Depends(reader),
) -> dict[str, Any]:
    views = context(request).journal
    return _query(
        lambda: views.orders(bot=bot, state=state, side=side, symbol=symbol, limit=limit, offset=offset)
    )


@router.get("/api/fills", summary="Journaled fills of every bot, newest first, filtered and paged")
def fills(
    request: Request,
    bot: str | None = Query(None, max_length=64),
    symbol: str | None = Query(None, max_length=32),
    side: str | None = Query(None),
    since_ms: int | None = Query(None, ge=0),
    until_ms: int | None = Query(None, ge=0),
    limit: int = Query(100, ge=1, le=500),
    offset: int = Query(0, ge=0),
    caller: Caller = Depends(reader),
) -> dict[str, Any]:
    views = context(request).journal
    return _query(
        lambda: views.fills(
            bot=bot,
            symbol=symbol,
            side=side,
            since_ms=since_ms,
            until_ms=until_ms,
            limit=limit,
            offset=offset,
        )
    )


@router.get("/api/balances", summary="Balances per key (as the bots on it last saw them)")
async def balances(request: Request, caller: Caller = Depends(reader)) -> list[dict[str, Any]]:
    sup = context(request).supervisor
    seen: dict[str, dict[str, Any]] = {}
    for slot in sup.slots.values():
        runner = slot.runner
        if runner is None or not runner.balances:
            continue
        profile = runner.target.profile or "(environment)"
        entry = seen.setdefault(profile, {"profile": profile, "bots": [], "balances": {}})
        entry["bots"].append(slot.name)
        for ccy, b in runner.balances.items():
            entry["balances"][ccy] = {
                "total": _s(b.total),
                "available": _s(b.available),
                "frozen": _s(b.frozen),
            }
    return sorted(seen.values(), key=lambda e: e["profile"])


def _s(value: Any) -> str | None:
    from okxbot.serve.snapshot import dec_str

    return dec_str(value)


@router.get("/api/posture", summary="Key posture (okxbot doctor's checks) per profile in use")
async def posture(request: Request, caller: Caller = Depends(reader)) -> dict[str, Any]:
    watch = context(request).posture
    return {"profiles": watch.results, "watching": sorted(watch.profiles())}


@router.post("/api/posture/{profile}/check", summary="Run the posture checks of a profile now")
async def check_posture(
    profile: str, request: Request, caller: Caller = Depends(state_change)
) -> dict[str, Any]:
    try:
        return await context(request).posture.check(profile)
    except KeyError:
        raise HTTPException(404, f"no running bot uses profile {profile!r}") from None


@router.get("/api/journal", summary="Journal and reconciliation status per bot")
async def journal(request: Request, caller: Caller = Depends(reader)) -> dict[str, Any]:
    ctx = context(request)
    per_bot = await asyncio.to_thread(ctx.journal.journal_status)
    reconciliation = {
        name: {
            "reconciliation": slot.status.get("reconciliation"),
            "foreign": slot.status.get("foreign"),
            "ws_orders": slot.status.get("ws_orders"),
        }
        for name, slot in ctx.supervisor.slots.items()
    }
    return {"bots": per_bot, "running": reconciliation}


@router.get("/api/limits", summary="Rate-limit buckets in use (fullest first) and per-bot order headroom")
async def limits(request: Request, caller: Caller = Depends(reader)) -> dict[str, Any]:
    sup = context(request).supervisor
    usage = await sup.limiter.usage(top=50)
    return {
        "buckets": [
            {"rule": u.name, "bucket": u.bucket, "used": u.used, "capacity": u.capacity} for u in usage
        ],
        "bots": {name: slot.status.get("headroom", []) for name, slot in sup.slots.items()},
        "shared_keys": sup.clients.sharing(),
    }


@router.get("/api/supervisors", summary="The supervisors sharing this database")
async def supervisors(request: Request, caller: Caller = Depends(reader)) -> list[dict[str, Any]]:
    ctx = context(request)
    rows = await asyncio.to_thread(ctx.registry.supervisors)
    bots = await asyncio.to_thread(ctx.registry.bots)
    return [
        {
            "id": r.id,
            "host": r.host,
            "pid": r.pid,
            "api_url": r.api_url,
            "started_ms": r.started_ms,
            "heartbeat_ms": r.heartbeat_ms,
            "me": r.id == ctx.supervisor.sid,
            "bots": sorted(b.name for b in bots if b.owner == r.id and b.lease_valid()),
        }
        for r in rows
    ]


@router.get("/api/events", summary="Recent events of every bot")
def events(
    request: Request,
    bot: str | None = Query(None, max_length=64),
    limit: int = Query(100, ge=1, le=500),
    caller: Caller = Depends(reader),
) -> list[dict[str, Any]]:
    return context(request).registry.recent_events(bot, limit)


@router.get(
    "/api/stream",
    summary="Live updates (Server-Sent Events): order, fill, bot, status, ... as they happen",
    response_class=StreamingResponse,
)
async def stream(request: Request, caller: Caller = Depends(reader)) -> StreamingResponse:
    ctx = context(request)
    sub = ctx.supervisor.bus.subscribe(maxsize=5000)

    async def still_allowed() -> bool:
        try:
            await asyncio.to_thread(identify, request)
        except HTTPException:
            return False
        return True

    async def frames() -> Any:
        closing = asyncio.ensure_future(ctx.closing.wait())
        try:
            yield "retry: 2000\n\n"
            yield f"event: hello\ndata: {json.dumps({'supervisor': ctx.supervisor.sid})}\n\n"
            while not ctx.closing.is_set():
                getter = asyncio.ensure_future(sub.get())
                done, _ = await asyncio.wait(
                    {getter, closing}, timeout=KEEPALIVE_S, return_when="FIRST_COMPLETED"
                )
                if getter not in done:
                    getter.cancel()
                    if closing in done or not await still_allowed():
                        return
                    yield ": keepalive\n\n"
                    continue
                event = getter.result()
                yield f"event: {event.kind}\ndata: {json.dumps(event.as_dict(), default=str)}\n\n"
        finally:
            closing.cancel()
            sub.close()

    return StreamingResponse(
        frames(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


class PanicRequest(BaseModel):
    profile: str = Field(min_length=1, max_length=64, description="the profile whose key may be compromised")
    confirm: str = Field(max_length=64, description="the profile name typed again")


@router.post(
    "/api/panic", summary="Compromised key: stop its bots, cancel everything, export, disable (control)"
)
async def panic(
    body: PanicRequest,
    request: Request,
    caller: Caller = Depends(controller),
    _: Caller = Depends(state_change),
) -> dict[str, Any]:
    """What `okxbot panic --profile NAME` does, for the bots of every supervisor on that profile; the
    profile name must be typed back in `confirm`."""
    if not same(body.confirm, body.profile):
        raise HTTPException(400, "type the profile name exactly to confirm the panic")
    try:
        return await context(request).supervisor.panic(body.profile)
    except (ControlError, VaultError) as err:
        raise HTTPException(409, str(err)) from None


@router.get("/metrics", summary="Prometheus metrics (token with read scope, or a session)", tags=["metrics"])
def metrics(request: Request, caller: Caller = Depends(reader)) -> Response:
    return Response(context(request).metrics.render(), media_type=CONTENT_TYPE)
