"""Assembles the simulator's aiohttp application from its parts.

Everything the handlers need lives in one `SimContext` (`okxbot.sim.context`), stored on the app. Requests under `/api/v5/` go through one
dispatcher (`rest.dispatch`) that applies faults, authentication, rate limits and the envelope in the
same order for every endpoint.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

from okxbot.sim import admin, admin_algo, admin_swap, rest, ws
from okxbot.sim import asset_endpoints as _asset_endpoints  # noqa: F401 (registers /asset/...)
from okxbot.sim import endpoints as _endpoints  # noqa: F401 (importing registers the endpoints)
from okxbot.sim import endpoints_algo as _endpoints_algo  # noqa: F401
from okxbot.sim import endpoints_swap as _endpoints_swap  # noqa: F401
from okxbot.sim import subaccount_endpoints as _subaccount_endpoints  # noqa: F401 (users/subaccount/...)
from okxbot.sim.context import CTX, SimContext
from okxbot.sim.wire import SimError, error_response


@web.middleware
async def okx_errors(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """Answer paths and methods outside the routes as OKX does, and never leak a stack trace."""
    try:
        return await handler(request)
    except web.HTTPNotFound:
        return error_response(SimError("50005"))
    except web.HTTPMethodNotAllowed:
        return error_response(SimError("50115"))
    except SimError as err:
        return error_response(err)


def build_app(ctx: SimContext) -> web.Application:
    app = web.Application(middlewares=[okx_errors], client_max_size=1 << 20)
    app[CTX] = ctx
    app.router.add_route("*", "/api/v5/{tail:.*}", rest.dispatch)
    admin.register(app.router)
    admin_swap.register(app.router)
    admin_algo.register(app.router)
    ws.register(app)  # /ws/v5/public, /private, /business and the /__sim__/ws-* admin routes
    app.on_shutdown.append(_release_held_requests)
    return app


async def _release_held_requests(app: web.Application) -> None:
    """Requests held unanswered by a `timeout` fault end now, not after the server's shutdown timeout."""
    app[CTX].asynchrony.stop()
