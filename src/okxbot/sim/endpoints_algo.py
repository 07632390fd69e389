"""The `/api/v5/trade/...` endpoints of algo orders (reference: okx-v5-derivatives-algo-data.md §4),
registered into `rest.ENDPOINTS` like `okxbot.sim.endpoints`. Their rate limits are in
`okxbot.sim.limits.TABLE` (20 / 2 s; place, cancel and amend per User ID + instrument).

Answers follow OKX's examples: `{"code", "msg": "", "data": [per-item results]}` with code "0" (all
accepted), "1" (all refused) or "2" (some refused); no inTime / outTime on these endpoints.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from okxbot.sim.endpoints import _opt
from okxbot.sim.rest import Call, endpoint
from okxbot.sim.wire import SimError, json_response

MAX_CANCEL = 10


def _answer(results: list[dict[str, Any]]) -> web.Response:
    failed = sum(1 for r in results if r.get("sCode") != "0")
    code = "0" if not failed else ("1" if failed == len(results) else "2")
    return json_response({"code": code, "msg": "", "data": results})


@endpoint("POST", "/api/v5/trade/order-algo", perm="trade")
def trade_order_algo(call: Call) -> web.Response:
    return _answer([call.ctx.exchange.place_algo(call.uid, call.params)])


@endpoint("POST", "/api/v5/trade/cancel-algos", perm="trade", body="array")
def trade_cancel_algos(call: Call) -> web.Response:
    items: list[dict[str, Any]] = call.params
    if not items:
        raise SimError("50014", "algoId")
    if len(items) > MAX_CANCEL:
        raise SimError("51111", MAX_CANCEL)
    return _answer(call.ctx.exchange.cancel_algos(call.uid, items))


@endpoint("POST", "/api/v5/trade/amend-algos", perm="trade")
def trade_amend_algos(call: Call) -> web.Response:
    return _answer([call.ctx.exchange.amend_algo(call.uid, call.params)])


@endpoint("GET", "/api/v5/trade/order-algo", perm="read_only")
def trade_get_order_algo(call: Call) -> list[Any]:
    algo_id, algo_cl = _opt(call.params, "algoId"), _opt(call.params, "algoClOrdId")
    if not algo_id and not algo_cl:
        raise SimError("50015", "algoId", "algoClOrdId")
    algo = call.ctx.exchange.get_algo(call.uid, algo_id, algo_cl)
    if algo is None:
        raise SimError("51603")
    return [algo]


def _inst_filters(call: Call) -> None:
    inst_type = _opt(call.params, "instType")
    if inst_type and inst_type not in ("SPOT", "SWAP", "FUTURES", "MARGIN"):
        raise SimError("51000", "instType")
    inst_id = _opt(call.params, "instId")
    if inst_id and call.ctx.exchange.instrument(inst_id) is None:
        raise SimError("51001")


@endpoint("GET", "/api/v5/trade/orders-algo-pending", perm="read_only")
def trade_orders_algo_pending(call: Call) -> list[Any]:
    _inst_filters(call)
    return call.ctx.exchange.algos_pending(call.uid, call.params)


@endpoint("GET", "/api/v5/trade/orders-algo-history", perm="read_only")
def trade_orders_algo_history(call: Call) -> list[Any]:
    _inst_filters(call)
    return call.ctx.exchange.algos_history(call.uid, call.params)
