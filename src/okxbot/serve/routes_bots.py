"""Bots: their state, chart, logs and events; adding and removing them; start, stop, cancel."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request
from pydantic import BaseModel, Field

from okxbot.serve.guard import Caller, context, controller, reader, state_change
from okxbot.serve.registry import RegistryError
from okxbot.serve.supervisor import ControlError
from okxbot.trading.config import ConfigError, parse_config

router = APIRouter(tags=["bots"])
BotName = Path(min_length=1, max_length=64, description="the bot's name (from its config)")


class Confirm(BaseModel):
    confirm: bool = Field(description="must be true: control actions are never implicit")


class NewBot(BaseModel):
    config: str = Field(min_length=1, max_length=100_000, description="the bot's TOML config")
    profile: str | None = Field(default=None, max_length=64, description="vault profile whose key trades")
    sim_url: str | None = Field(
        default=None, max_length=200, description="trade on the okxbot simulator at this URL instead of OKX"
    )
    start: bool = Field(default=False, description="start it right away")


def _confirmed(body: Confirm) -> None:
    if body.confirm is not True:
        raise HTTPException(400, 'confirm the action: send {"confirm": true}')


async def _view(request: Request, name: str) -> dict[str, Any]:
    view = await context(request).supervisor.bot_view(name)
    if view is None:
        raise HTTPException(404, f"no bot named {name!r}")
    return view


@router.get("/api/bots", summary="Every bot of every supervisor: state, PnL, position, orders, errors")
async def bots(request: Request, caller: Caller = Depends(reader)) -> list[dict[str, Any]]:
    return await context(request).supervisor.bot_views()


@router.get(
    "/api/bots/{name}",
    summary="One bot: state, PnL, position, open orders, last error, headroom, 50011s, latency",
)
async def bot(request: Request, name: str = BotName, caller: Caller = Depends(reader)) -> dict[str, Any]:
    return await _view(request, name)


@router.post("/api/bots", status_code=201, summary="Add a bot from its TOML config (control)")
async def add_bot(
    body: NewBot,
    request: Request,
    caller: Caller = Depends(controller),
    _: Caller = Depends(state_change),
) -> dict[str, Any]:
    ctx = context(request)
    try:
        config = parse_config(body.config, "config")
    except ConfigError as err:
        raise HTTPException(422, str(err)) from None
    if body.sim_url:
        from okxbot.vault.errors import VaultError
        from okxbot.vault.profiles import check_sim_url

        try:
            sim_url: str | None = check_sim_url(body.sim_url)
        except VaultError as err:
            raise HTTPException(422, str(err)) from None
    else:
        sim_url = None
    try:
        await asyncio.to_thread(
            ctx.registry.add_bot, config.name, body.config, profile=body.profile, sim_url=sim_url
        )
    except RegistryError as err:
        raise HTTPException(409, str(err)) from None
    if body.start:
        await ctx.supervisor.start_bot(config.name)
    return await _view(request, config.name)


@router.delete("/api/bots/{name}", summary="Remove a stopped bot from the registry (its journal stays)")
async def remove_bot(
    request: Request,
    name: str = BotName,
    caller: Caller = Depends(controller),
    _: Caller = Depends(state_change),
) -> dict[str, Any]:
    try:
        await asyncio.to_thread(context(request).registry.remove_bot, name)
    except RegistryError as err:
        raise HTTPException(409, str(err)) from None
    return {"removed": name}


@router.post("/api/bots/{name}/start", summary="Start a bot (control, confirm)")
async def start(
    body: Confirm,
    request: Request,
    name: str = BotName,
    caller: Caller = Depends(controller),
    _: Caller = Depends(state_change),
) -> dict[str, Any]:
    _confirmed(body)
    return await _control(context(request).supervisor.start_bot(name))


@router.post(
    "/api/bots/{name}/stop", summary="Stop a bot cleanly: its open orders are canceled (control, confirm)"
)
async def stop(
    body: Confirm,
    request: Request,
    name: str = BotName,
    caller: Caller = Depends(controller),
    _: Caller = Depends(state_change),
) -> dict[str, Any]:
    _confirmed(body)
    return await _control(context(request).supervisor.stop_bot(name))


@router.post("/api/bots/{name}/cancel-all", summary="Cancel every open order of a bot (control, confirm)")
async def cancel_all(
    body: Confirm,
    request: Request,
    name: str = BotName,
    caller: Caller = Depends(controller),
    _: Caller = Depends(state_change),
) -> dict[str, Any]:
    _confirmed(body)
    return await _control(context(request).supervisor.cancel_all(name))


@router.post(
    "/api/bots/{name}/orders/{client_order_id}/cancel", summary="Cancel one order of a bot (control, confirm)"
)
async def cancel_order(
    body: Confirm,
    request: Request,
    name: str = BotName,
    client_order_id: str = Path(min_length=1, max_length=32),
    caller: Caller = Depends(controller),
    _: Caller = Depends(state_change),
) -> dict[str, Any]:
    _confirmed(body)
    return await _control(context(request).supervisor.cancel_order(name, client_order_id))


async def _control(action: Any) -> dict[str, Any]:
    try:
        result: dict[str, Any] = await action
    except (ControlError, RegistryError) as err:
        raise HTTPException(409, str(err)) from None
    return result


@router.get(
    "/api/bots/{name}/chart", summary="Price and equity samples, orders and fills, for the bot's chart"
)
async def chart(
    request: Request,
    name: str = BotName,
    caller: Caller = Depends(reader),
) -> dict[str, Any]:
    ctx = context(request)
    await _view(request, name)
    slot = ctx.supervisor.slots.get(name)
    history = list(slot.history) if slot is not None else []
    fills = await asyncio.to_thread(ctx.journal.fills, bot=name, limit=500)
    orders = await asyncio.to_thread(ctx.journal.orders, bot=name, limit=500)
    return {
        "bot": name,
        "prices": [[ts, mid] for ts, mid, _ in history],
        "equity": [[ts, pnl] for ts, _, pnl in history if pnl is not None],
        "fills": fills["items"],
        "orders": orders["items"],
    }


@router.get("/api/bots/{name}/logs", summary="The bot's latest log lines (this supervisor's bots)")
async def logs(
    request: Request,
    name: str = BotName,
    limit: int = Query(100, ge=1, le=200),
    caller: Caller = Depends(reader),
) -> dict[str, Any]:
    ctx = context(request)
    await _view(request, name)
    lines = ctx.logs.lines(name, limit) if ctx.logs is not None else []
    return {"bot": name, "lines": lines}


@router.get("/api/bots/{name}/events", summary="The bot's recent events (from every supervisor)")
async def bot_events(
    request: Request,
    name: str = BotName,
    limit: int = Query(100, ge=1, le=500),
    caller: Caller = Depends(reader),
) -> list[dict[str, Any]]:
    ctx = context(request)
    return await asyncio.to_thread(ctx.registry.recent_events, name, limit)
