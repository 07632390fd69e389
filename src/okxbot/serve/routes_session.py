"""Login, logout, the session, and unlocking control (`/api/login`, `/api/session...`)."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request, Response
from pydantic import BaseModel, Field

from okxbot.serve.access import SESSION_MAX_MS
from okxbot.serve.guard import Caller, check_origin, context, identify, state_change
from okxbot.serve.passwords import needs_rehash, verify_password

router = APIRouter(tags=["session"])


class Password(BaseModel):
    password: str = Field(min_length=1, max_length=1024)


class SessionInfo(BaseModel):
    authenticated: bool
    kind: str
    scopes: list[str]
    csrf: str | None = None
    control_until_ms: int = 0
    supervisor: str


def _source(request: Request) -> str:
    return (request.client.host if request.client else "unknown")[:64]


def _check_password(request: Request, password: str) -> None:
    """Verify against the stored hash with the lockout rules (okxbot.serve.access); raise on refusal."""
    ctx = context(request)
    source = _source(request)
    lock = ctx.access.lockout(source)
    if lock.locked:
        raise HTTPException(
            429,
            f"too many wrong passwords: try again in {lock.retry_after_s} s",
            headers={"Retry-After": str(lock.retry_after_s)},
        )
    stored = ctx.access.password_hash()
    if not verify_password(stored, password):
        lock = ctx.access.record_failure(source)
        if lock.locked:
            raise HTTPException(
                429,
                f"too many wrong passwords: try again in {lock.retry_after_s} s",
                headers={"Retry-After": str(lock.retry_after_s)},
            )
        raise HTTPException(401, "wrong password")
    ctx.access.clear_failures(source)
    if stored is not None and needs_rehash(stored):
        from okxbot.serve.passwords import _HASHER

        ctx.access.set_password_hash(_HASHER.hash(password))


@router.post("/api/login", response_model=SessionInfo, summary="Log in with the dashboard password")
async def login(body: Password, request: Request, response: Response) -> SessionInfo:
    """Sets a fresh session cookie (HttpOnly, SameSite=Strict, Secure under TLS); any session the
    browser had is ended. Wrong passwords lock the address out after a few tries (429)."""
    check_origin(request)
    ctx = context(request)
    await asyncio.to_thread(_check_password, request, body.password)
    old = request.cookies.get(ctx.cookie_name)
    value, session = await asyncio.to_thread(ctx.access.create_session, _source(request), old)
    response.set_cookie(
        ctx.cookie_name,
        value,
        max_age=SESSION_MAX_MS // 1000,
        path="/",
        secure=ctx.tls,
        httponly=True,
        samesite="strict",
    )
    return SessionInfo(
        authenticated=True, kind="session", scopes=["read"], csrf=session.csrf, supervisor=ctx.supervisor.sid
    )


@router.get("/api/session", response_model=SessionInfo, summary="Who am I (401 when logged out)")
def session(request: Request, caller: Caller = Depends(identify)) -> SessionInfo:
    ctx = context(request)
    return SessionInfo(
        authenticated=True,
        kind=caller.kind,
        scopes=sorted(caller.scopes),
        csrf=caller.session.csrf if caller.session else None,
        control_until_ms=caller.session.control_until_ms if caller.session else 0,
        supervisor=ctx.supervisor.sid,
    )


@router.post("/api/logout", summary="End this session")
def logout(request: Request, response: Response, caller: Caller = Depends(state_change)) -> dict[str, Any]:
    ctx = context(request)
    if caller.session_value:
        ctx.access.end_session(caller.session_value)
    response.delete_cookie(ctx.cookie_name, path="/", secure=ctx.tls, httponly=True, samesite="strict")
    return {"ok": True}


@router.post("/api/session/control", summary="Unlock control actions (password again)")
async def unlock_control(
    body: Password, request: Request, caller: Caller = Depends(state_change)
) -> dict[str, Any]:
    """A session is read-only; control actions (start, stop, cancel, panic) need the password again,
    and stay unlocked for 15 minutes. API tokens get control from their scope instead."""
    if caller.kind != "session" or caller.session_value is None:
        raise HTTPException(400, "tokens get control from their scope, not by unlocking")
    ctx = context(request)
    await asyncio.to_thread(_check_password, request, body.password)
    until = await asyncio.to_thread(ctx.access.unlock_control, caller.session_value)
    return {"control_until_ms": until}


@router.delete("/api/session/control", summary="Lock control actions again")
def lock_control(request: Request, caller: Caller = Depends(state_change)) -> dict[str, Any]:
    if caller.session_value:
        context(request).access.lock_control(caller.session_value)
    return {"control_until_ms": 0}
