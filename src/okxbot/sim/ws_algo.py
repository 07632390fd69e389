"""The algo-order WebSocket channels on /ws/v5/business (login required; reference derivatives §4.6).

* `orders-algo` {instType (SPOT MARGIN SWAP FUTURES ANY), instFamily?, instId?}: no snapshot; a push
  on every change of a `conditional` / `oco` / `trigger` algo (placed, amended with amendResult and
  reqId, triggered, failed, canceled), with OKX's algo object plus amendResult, reqId, notionalUsd.
* `algo-advance` {instType, instId?, algoId?}: a snapshot of the live trailing stops on subscribe,
  then a push on every change of one (adds `count`, `pTime`).
Argument checks are `ws_channels.check_arg`'s (60011 before login, 60013 bad args, 60018 wrong URL).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from okxbot.sim.events import AlgoEvent
from okxbot.sim.ws_channels import ALGO_CHANNELS, Sub

if TYPE_CHECKING:
    from okxbot.sim.ws import Session, WsHub

CHANNELS = ALGO_CHANNELS


def _dumps(body: Any) -> str:
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False)


def matches(sub: Sub, item: dict[str, Any]) -> bool:
    if sub.inst_type not in ("ANY", item.get("instType")):
        return False
    if sub.inst_id and sub.inst_id != item.get("instId"):
        return False
    if sub.inst_family and not str(item.get("instId", "")).startswith(sub.inst_family + "-"):
        return False
    return not sub.algo_id or sub.algo_id == item.get("algoId")


def push(hub: WsHub, event: AlgoEvent) -> None:
    for session in hub.private.get(event.uid, ()):
        for sub in session.subs.values():
            if sub.channel == event.channel and matches(sub, event.data):
                hub.deliver(session, _dumps({"arg": sub.arg(event.uid), "data": [event.data]}))


def first_push(hub: WsHub, session: Session, sub: Sub, uid: str) -> None:
    """algo-advance sends the live trailing stops it covers at once; orders-algo sends nothing."""
    if sub.channel != "algo-advance":
        return
    book = hub.ctx.exchange.algos.of(uid)
    now = hub.ctx.clock.now_ms()
    items = [a.advance_wire(now) for a in book.live.values() if a.advance]
    items = [item for item in items if matches(sub, item)]
    if items:
        session.send_json({"arg": sub.arg(uid), "data": items})
