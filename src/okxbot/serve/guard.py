"""Every request's gate: who is calling (session cookie or API token), with which scopes, and the
checks on every state change (JSON body, same origin, CSRF token for sessions).

Read routes depend on `reader`, control routes on `controller`; state-changing routes also on
`state_change`. A route with neither is public: the tests enumerate the app's routes and require
401 without credentials from every route not in `PUBLIC_PATHS`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from fastapi import Depends, HTTPException, Request

from okxbot.serve.access import Session, same

if TYPE_CHECKING:
    from okxbot.serve.context import ServeContext

# the only routes answered without credentials: the page shell, its static files, the login itself
PUBLIC_PATHS = frozenset({"/", "/api/login", "/favicon.ico"})
PUBLIC_PREFIXES = ("/static/",)
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CSRF_HEADER = "X-CSRF-Token"


@dataclass(frozen=True)
class Caller:
    kind: str  # "session" | "token"
    scopes: frozenset[str]
    session: Session | None = None
    session_value: str | None = None
    token_id: str | None = None

    @property
    def label(self) -> str:
        return f"token {self.token_id}" if self.kind == "token" else "dashboard session"


def context(request: Request) -> ServeContext:
    return request.app.state.ctx  # type: ignore[no-any-return]


def _unauthorized(detail: str) -> HTTPException:
    return HTTPException(401, detail, headers={"WWW-Authenticate": 'Bearer realm="okxbot"'})


def identify(request: Request) -> Caller:
    """The caller, or 401. Sync: FastAPI runs it on a worker thread (a database lookup)."""
    ctx = context(request)
    auth = request.headers.get("authorization")
    if auth is not None:
        scheme, _, token = auth.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise _unauthorized("use 'Authorization: Bearer <token>' (okxbot serve token create)")
        info = ctx.access.check_token(token.strip())
        if info is None:
            raise _unauthorized("unknown or revoked API token")
        return Caller("token", frozenset(info.scopes), token_id=info.id)
    value = request.cookies.get(ctx.cookie_name)
    session = ctx.access.session(value)
    if session is None or value is None:
        raise _unauthorized("log in first")
    scopes = {"read", "control"} if session.can_control() else {"read"}
    return Caller("session", frozenset(scopes), session=session, session_value=value)


def reader(caller: Caller = Depends(identify)) -> Caller:
    if "read" not in caller.scopes:
        raise HTTPException(403, "this token cannot read")
    return caller


def controller(caller: Caller = Depends(identify)) -> Caller:
    if "control" not in caller.scopes:
        if caller.kind == "session":
            raise HTTPException(403, "control is locked: unlock it with your password (read-only by default)")
        raise HTTPException(403, "this token has no control scope (okxbot serve token create --control)")
    return caller


def check_origin(request: Request) -> None:
    """State changes come as JSON from this very origin (a cross-site form cannot send JSON, and a
    cross-site script would need CORS, which okxbot never grants)."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/json":
        raise HTTPException(415, "send the request body as application/json")
    origin = request.headers.get("origin")
    if origin is not None and origin != "null":
        host = request.headers.get("host", "")
        if origin.split("://", 1)[-1] != host:
            raise HTTPException(403, "cross-origin request refused")
    elif origin == "null":
        raise HTTPException(403, "cross-origin request refused")


def state_change(request: Request, caller: Caller = Depends(identify)) -> Caller:
    check_origin(request)
    if caller.kind == "session":
        assert caller.session is not None
        sent = request.headers.get(CSRF_HEADER, "")
        if not sent or not same(sent, caller.session.csrf):
            raise HTTPException(403, "CSRF token missing or wrong: reload the page")
    return caller
