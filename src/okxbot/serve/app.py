"""The FastAPI application: API routes, the dashboard's files, /docs (offline), /metrics.

Every answer carries a strict Content-Security-Policy (scripts and styles from this origin only, no
inline script, no framing), nosniff and no-referrer; API answers are not cached. Requests whose Host
is not one of ours are refused (DNS rebinding). /docs is Swagger UI from the swagger-ui-bundle
package, so it works with no network.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint

from okxbot.serve import routes_backtests, routes_bots, routes_data, routes_session
from okxbot.serve.context import ServeContext
from okxbot.serve.guard import Caller, reader

STATIC = Path(str(resources.files("okxbot.serve") / "static"))
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
# Swagger UI sets a few style attributes in its markup
DOCS_CSP = CSP.replace("style-src 'self'", "style-src 'self' 'unsafe-inline'")
DOCS_HTML = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>okxbot API</title>
<link rel="stylesheet" href="/static/swagger-ui/swagger-ui.css">
<link rel="icon" href="/static/favicon.svg"></head>
<body><div id="swagger-ui"></div>
<script src="/static/swagger-ui/swagger-ui-bundle.js"></script>
<script src="/static/docs.js"></script></body></html>
"""


def _swagger_dir() -> Path:
    from swagger_ui_bundle import swagger_ui_path

    return Path(str(swagger_ui_path))


class SecurityHeaders(BaseHTTPMiddleware):
    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        ctx: ServeContext = request.app.state.ctx
        host = (request.headers.get("host") or "").lower()
        name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
        if name not in ctx.allowed_hosts:
            return JSONResponse(
                {"detail": f"unknown Host {name!r}: add it with --public-host if this is really us"},
                status_code=421,
            )
        response = await call_next(request)
        path = request.url.path
        # a backtest report sets its own, stricter policy (only its inline script and style, by hash)
        if "Content-Security-Policy" not in response.headers or not path.startswith("/api/backtests/"):
            response.headers["Content-Security-Policy"] = DOCS_CSP if path == "/docs" else CSP
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["Cross-Origin-Opener-Policy"] = "same-origin"
        response.headers["Cross-Origin-Resource-Policy"] = "same-origin"
        if ctx.tls:
            response.headers["Strict-Transport-Security"] = "max-age=31536000"
        if not path.startswith("/static/"):
            response.headers["Cache-Control"] = "no-store"
        return response


def build_app(ctx: ServeContext) -> FastAPI:
    app = FastAPI(
        title="okxbot",
        version="1",
        description=(
            "Watch and control okxbot's bots. Authenticate with the dashboard's session cookie (plus the "
            "X-CSRF-Token header on every change) or `Authorization: Bearer <token>` "
            "(`okxbot serve token create`). Control actions need the control scope and `confirm`."
        ),
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    app.state.ctx = ctx
    app.add_middleware(SecurityHeaders)
    app.include_router(routes_session.router)
    app.include_router(routes_bots.router)
    app.include_router(routes_data.router)
    app.include_router(routes_backtests.router)

    @app.get("/openapi.json", include_in_schema=False)
    def openapi(caller: Caller = Depends(reader)) -> JSONResponse:
        return JSONResponse(openapi_30(app.openapi()))

    @app.get("/docs", include_in_schema=False)
    def docs(caller: Caller = Depends(reader)) -> HTMLResponse:
        return HTMLResponse(DOCS_HTML)

    @app.get("/", include_in_schema=False)
    def index() -> FileResponse:
        return FileResponse(STATIC / "index.html", media_type="text/html")

    @app.get("/favicon.ico", include_in_schema=False)
    def favicon() -> FileResponse:
        return FileResponse(STATIC / "favicon.svg", media_type="image/svg+xml")

    app.mount("/static/swagger-ui", StaticFiles(directory=_swagger_dir()), name="swagger-ui")
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    return app


def openapi_30(document: dict[str, Any]) -> dict[str, Any]:
    """The API's description as OpenAPI 3.0.3. FastAPI writes 3.1, which the Swagger UI of /docs
    (swagger-ui-bundle 4.x) refuses to render ("does not specify a valid version field"); the only
    3.1 construct in it, `anyOf: [X, {"type": "null"}]` for an optional value, becomes 3.0's
    `X` + `nullable: true`. 3.0 is also what most client generators read best."""

    def convert(node: Any) -> Any:
        if isinstance(node, list):
            return [convert(item) for item in node]
        if not isinstance(node, dict):
            return node
        out = {key: convert(value) for key, value in node.items()}
        variants = out.get("anyOf")
        if isinstance(variants, list) and {"type": "null"} in variants:
            rest = [v for v in variants if v != {"type": "null"}]
            del out["anyOf"]
            if len(rest) == 1:
                out = {**rest[0], **out}
            elif rest:
                out["anyOf"] = rest
            out["nullable"] = True
        return out

    converted: dict[str, Any] = convert(document)
    converted["openapi"] = "3.0.3"
    return converted


def route_table(app: FastAPI) -> list[dict[str, Any]]:
    """Every route and its methods, included routers flattened (the security tests walk this list)."""
    rows: list[dict[str, Any]] = []

    def walk(routes: Any) -> None:
        for route in routes:
            inner = getattr(route, "original_router", None)
            if inner is not None:  # FastAPI >= 0.13x keeps included routers as one entry
                walk(inner.routes)
                continue
            path = getattr(route, "path", "")
            methods = getattr(route, "methods", None)
            rows.append({"path": path, "methods": sorted(methods or {"GET"}), "mount": methods is None})

    walk(app.routes)
    return rows
