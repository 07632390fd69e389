"""aiohttp handler for every `/api/v5/...` request: one dispatcher, one table of endpoints.

The dispatcher applies, in order: request statistics, injected faults, method / path lookup (404
50005, 405 50115), body checks (50006 Content-Type, 50000 empty, 50002 JSON), authentication on the
raw bytes received (`auth.KeyStore.verify_rest`), permission (50120), rate limits (50011 / 50061),
then the endpoint. Endpoint functions live in `okxbot.sim.endpoints` and return the `data` list (or a
whole response for batch answers); they raise `SimError` for top-level errors.

A fault that answers without executing (`faults`: timeout, 50013, ...) may still let an order-entry
request execute later (`okxbot.sim.asynchrony`): the request then passes every check above now, and
its endpoint runs on the loop later, unless its expTime has passed by then.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NoReturn

from aiohttp import web

from okxbot.sim.asynchrony import UNANSWERED_KINDS
from okxbot.sim.auth import ApiKey, require_permission
from okxbot.sim.context import CTX, SimContext
from okxbot.sim.engine import ParamError
from okxbot.sim.faults import Fault
from okxbot.sim.wire import SimError, error_response, now_us, ok

log = logging.getLogger("okxbot.sim")


@dataclass
class Call:
    """One API call as an endpoint function sees it."""

    ctx: SimContext
    key: ApiKey | None
    params: Any  # dict[str, str] for GET; the decoded JSON (object or array) for POST
    ip: str
    in_time: str

    @property
    def uid(self) -> str:
        assert self.key is not None, "private endpoint called without a key"
        return self.key.uid


EndpointFn = Callable[[Call], "list[Any] | web.Response"]


@dataclass(frozen=True)
class Endpoint:
    fn: EndpointFn
    perm: str | None  # None = public; else the permission the key needs
    body: str = "object"  # POST only: "object" | "array"
    honours_exp_time: bool = False  # place / amend endpoints discard requests past the expTime header
    late: bool = False  # order entry: may still execute after an ambiguous answer (asynchrony)


# path -> method -> endpoint; filled by `okxbot.sim.endpoints` at import.
ENDPOINTS: dict[str, dict[str, Endpoint]] = {}


def endpoint(
    method: str,
    path: str,
    perm: str | None = None,
    body: str = "object",
    exp_time: bool = False,
    late: bool = False,
) -> Callable[[EndpointFn], EndpointFn]:
    def register(fn: EndpointFn) -> EndpointFn:
        ENDPOINTS.setdefault(path, {})[method] = Endpoint(fn, perm, body, exp_time, late)
        return fn

    return register


async def dispatch(request: web.Request) -> web.StreamResponse:
    ctx = request.app[CTX]
    path = request.path
    ctx.stats.by_path[path] += 1
    fault = ctx.faults.take(path)
    if fault is not None and (fault.kind in UNANSWERED_KINDS or fault.late_ms is not None):
        return await _unanswered(ctx, request, fault)
    try:
        response = await _execute(ctx, request)
    except SimError as err:
        response = error_response(err)
    except ParamError as err:
        response = error_response(SimError.with_message(err.code, err.msg))
    except Exception:
        log.exception("simulator bug answering %s %s", request.method, path)
        response = error_response(SimError("50026"))
    if fault is not None and fault.kind == "drop":
        # The request has been executed; the client never learns the outcome.
        _cut(request)
    if fault is not None and fault.kind == "delay":
        await asyncio.sleep(fault.delay_ms / 1000)
    return response


async def _unanswered(ctx: SimContext, request: web.Request, fault: Fault) -> web.StreamResponse:
    """A fault that does not execute the request now: maybe later (asynchrony), then the fault's answer."""
    ep = ENDPOINTS.get(request.path, {}).get(request.method)
    delay = ctx.asynchrony.late_delay_ms(fault) if ep is not None and ep.late else None
    if delay is not None:
        try:
            ready = await _prepare(ctx, request)
        except (SimError, ParamError):
            pass  # refused before reaching the engine (auth, limits, expTime...): nothing to run later
        else:
            ctx.asynchrony.later(delay, functools.partial(ready.ep.fn, ready.call), ready.exp_time_ms)
    if fault.kind == "drop":
        _cut(request)
    if fault.kind == "timeout":
        await ctx.asynchrony.hold(lambda: request.transport is None or request.transport.is_closing())
        _cut(request)
    if fault.kind == "http500":
        return web.Response(status=500, text="Internal Server Error")
    return error_response(SimError(fault.kind))


def _cut(request: web.Request) -> NoReturn:
    """Close the connection without an answer."""
    if request.transport is not None:
        request.transport.abort()
    raise asyncio.CancelledError


@dataclass
class _Ready:
    """A request that passed every check and only waits for its endpoint to run."""

    ep: Endpoint
    call: Call
    exp_time_ms: int | None


async def _execute(ctx: SimContext, request: web.Request) -> web.StreamResponse:
    ready = await _prepare(ctx, request)
    result = ready.ep.fn(ready.call)
    if isinstance(result, web.StreamResponse):
        return result
    return ok(result)


async def _prepare(ctx: SimContext, request: web.Request) -> _Ready:
    methods = ENDPOINTS.get(request.path)
    if methods is None:
        raise SimError("50005")
    method = request.method
    ep = methods.get(method)
    if ep is None:
        raise SimError("50115")
    ip = request.remote or ""
    body = b""
    params: Any
    if method == "POST":
        try:
            body = await request.read()
        except web.HTTPRequestEntityTooLarge:
            raise SimError("51000", "body", status=413) from None
        params = _decode_body(request, body, ep.body)
    else:
        params = dict(request.query)
    key: ApiKey | None = None
    if ep.perm is not None:
        key = ctx.keystore.verify_rest(request.headers, method, request.raw_path, body, ip)
        require_permission(key, ep.perm)
        ctx.stats.by_uid[key.uid] += 1
    # The request has fully arrived (its body may come well after its headers): it is counted and its
    # inTime stamped at this one instant, with no await in between, so acknowledgements dated by inTime
    # obey the limits exactly. Stamped before the body was read, a slow body could be counted 2 s
    # after its inTime and put one order more than the limit into a window of inTimes.
    in_time = now_us()
    ctx.limiter.charge_request(
        method, request.path, ip=ip, uid=key.uid if key else "", params=params, arrival=int(in_time)
    )
    exp_time_ms = None
    if ep.honours_exp_time:
        exp_time_ms = _check_exp_time(ctx, request.headers.get("expTime", ""))
    return _Ready(ep, Call(ctx, key, params, ip, in_time), exp_time_ms)


def _decode_body(request: web.Request, body: bytes, shape: str) -> Any:
    content_type = request.headers.get("Content-Type", "")
    if content_type.split(";")[0].strip().lower() != "application/json":
        raise SimError("50006")
    if not body.strip():
        raise SimError("50000")
    try:
        decoded = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise SimError("50002") from None
    if shape == "array":
        if not isinstance(decoded, list) or not all(isinstance(item, dict) for item in decoded):
            raise SimError("50002")
    elif not isinstance(decoded, dict):
        raise SimError("50002")
    return decoded


def _check_exp_time(ctx: SimContext, exp_time: str) -> int | None:
    """OKX drops a request whose `expTime` (ms) has passed when it arrives (reference §1.2): 50036."""
    if not exp_time:
        return None
    if not (exp_time.isascii() and exp_time.isdigit()):
        raise SimError("51000", "expTime")
    if int(exp_time) < ctx.clock.now_ms():
        raise SimError("50036")
    return int(exp_time)
