"""Admin hooks for algo orders under `/__sim__/` (loopback only, like `okxbot.sim.admin`).

GET  /__sim__/algos?uid=U         every algo order the account has on record, any state, oldest first
POST /__sim__/algo-config {"partialParent": "none" | "filled"}
        # what a parent order canceled after a partial fill does with its attached TP/SL: "none"
        # (OKX's documented rule, the default: only a fully filled order creates them) or "filled"
        # (they are created for the filled part)
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from okxbot.sim.admin import AdminError, _wrap
from okxbot.sim.context import SimContext


def register(router: web.UrlDispatcher) -> None:
    router.add_route("GET", "/__sim__/algos", _wrap(_algos))
    router.add_route("POST", "/__sim__/algo-config", _wrap(_config))


def _algos(ctx: SimContext, body: dict[str, Any], request: web.Request) -> dict[str, Any]:
    uid = str(body.get("uid", ""))
    if not ctx.exchange.has_account(uid):
        raise AdminError(f"no account with uid {uid!r}; create one with POST /__sim__/accounts")
    return {"uid": uid, "algos": ctx.exchange.algos.every(uid)}


def _config(ctx: SimContext, body: dict[str, Any], request: web.Request) -> dict[str, Any]:
    if "partialParent" in body:
        try:
            ctx.exchange.algos.set_partial_parent(str(body["partialParent"]))
        except ValueError as err:
            raise AdminError(str(err)) from None
    return {"partialParent": ctx.exchange.algos.partial_parent}
