"""Admin routes for the WebSocket side (behind `admin_gate`, like the rest of `/__sim__/`).

    POST /__sim__/ws-faults  {"kind": "drop", "path"?: "/ws/v5/public"}          cut connections now
                             {"kind": "stall", "durationMs": 3000, "path"?: ...}   stop writing for a while
                             {"kind": "bad-checksum" | "skip-seq", "instId": "BTC-USDT"}
                                 the next `books` update of that instrument carries a wrong checksum /
                                 skips a seqId (prevSeqId names a message never sent)
    POST /__sim__/ws-config  {"idleMs"?: 30000, "connectionsPerSecond"?: 3, "requestsPerHour"?: 480,
                              "holdPublic"?: false}   holdPublic: public pushes wait for ws-flush
    POST /__sim__/ws-flush   send the public pushes held now -> {"trades": n}
    GET  /__sim__/ws-stats   connections per path, subscriptions per channel
Answers are JSON objects; bad input answers HTTP 400 `{"error": "..."}` saying what to fix.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from aiohttp import web

from okxbot.sim.admin_gate import AdminInputError, read_object, refusal, reply
from okxbot.sim.ws import HUB, WsHub

FAULT_KINDS = ("drop", "stall", "bad-checksum", "skip-seq")
PATHS = ("", "/ws/v5/public", "/ws/v5/private", "/ws/v5/business")


class _BadInput(Exception):
    pass


def register(router: web.UrlDispatcher) -> None:
    router.add_post("/__sim__/ws-faults", _faults)
    router.add_post("/__sim__/ws-config", _config)
    router.add_post("/__sim__/ws-flush", _flush)
    router.add_get("/__sim__/ws-stats", _stats)


def _positive_int(body: dict[str, Any], name: str) -> int | None:
    if name not in body:
        return None
    value = body[name]
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise _BadInput(f"{name} must be a positive integer, got {value!r}")
    return value


async def _guarded(request: web.Request, action: Any) -> web.Response:
    refused = refusal(request)
    if refused is not None:
        return refused
    try:
        return reply(action(request.app[HUB], await read_object(request)))
    except (_BadInput, AdminInputError) as err:
        return reply({"error": str(err)}, 400)


async def _faults(request: web.Request) -> web.Response:
    return await _guarded(request, _apply_fault)


async def _config(request: web.Request) -> web.Response:
    return await _guarded(request, _apply_config)


async def _flush(request: web.Request) -> web.Response:
    return await _guarded(request, lambda hub, body: {"trades": hub.flush_public()})


async def _stats(request: web.Request) -> web.Response:
    return await _guarded(request, _describe)


def _apply_fault(hub: WsHub, body: dict[str, Any]) -> dict[str, Any]:
    kind = body.get("kind")
    if kind not in FAULT_KINDS:
        raise _BadInput(f"kind must be one of {', '.join(FAULT_KINDS)}")
    path = body.get("path", "")
    if path not in PATHS:
        raise _BadInput(f"path must be one of {', '.join(p for p in PATHS if p)} (or absent for all)")
    if kind == "drop":
        return {"kind": kind, "connections": hub.drop(path)}
    if kind == "stall":
        duration = _positive_int(body, "durationMs")
        if duration is None:
            raise _BadInput("stall needs durationMs, e.g. 3000")
        return {"kind": kind, "connections": hub.stall(duration, path)}
    inst_id = body.get("instId")
    if not isinstance(inst_id, str) or not hub.ctx.exchange.has_instrument(inst_id):
        raise _BadInput(f"{kind} needs a known instId, e.g. BTC-USDT; got {inst_id!r}")
    try:
        hub.arm_book_fault(inst_id, kind)
    except LookupError as err:
        raise _BadInput(str(err)) from None
    return {"kind": kind, "instId": inst_id}


def _apply_config(hub: WsHub, body: dict[str, Any]) -> dict[str, Any]:
    unknown = set(body) - {"idleMs", "connectionsPerSecond", "requestsPerHour", "holdPublic"}
    if unknown:
        raise _BadInput(
            f"unknown setting(s) {sorted(unknown)}; known: idleMs, connectionsPerSecond, requestsPerHour, "
            "holdPublic"
        )
    if "holdPublic" in body:
        if not isinstance(body["holdPublic"], bool):
            raise _BadInput(f"holdPublic must be true or false, got {body['holdPublic']!r}")
        hub.config.hold_public = body["holdPublic"]
        if not hub.config.hold_public:
            hub.flush_public()  # what was held goes out now
    idle = _positive_int(body, "idleMs")
    per_second = _positive_int(body, "connectionsPerSecond")
    per_hour = _positive_int(body, "requestsPerHour")
    if idle is not None:
        hub.config.idle_ms = idle
    if per_second is not None:
        hub.config.connections_per_second = per_second
        hub.reset_connection_counts()
    if per_hour is not None:
        hub.config.requests_per_hour = per_hour
    return {
        "idleMs": hub.config.idle_ms,
        "connectionsPerSecond": hub.config.connections_per_second,
        "requestsPerHour": hub.config.requests_per_hour,
        "holdPublic": hub.config.hold_public,
    }


def _describe(hub: WsHub, body: dict[str, Any]) -> dict[str, Any]:
    paths = Counter(s.path for s in hub.sessions)
    channels = Counter(sub.channel for s in hub.sessions for sub in s.subs.values())
    return {"connections": dict(paths), "subscriptions": dict(channels)}
