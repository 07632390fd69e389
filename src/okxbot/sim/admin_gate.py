"""The one gate in front of every `/__sim__/` admin route (REST admin and WebSocket admin alike).

The admin API mints keys, moves prices and injects faults, so only the machine's own user may call
it, and a web page open in that user's browser must not be able to either:

* the peer must be a loopback address (403 otherwise);
* the Host header must name loopback (`localhost`, `*.localhost`, 127.0.0.0/8, ::1, or the 0.0.0.0
  a simulator bound to every interface prints): a page whose domain was re-pointed to 127.0.0.1 (DNS
  rebinding) sends its own name there and is refused (403);
* every request that can change state (any method but GET / HEAD) must say `Content-Type:
  application/json`, even without a body: a page can send a cross-origin POST without asking first
  only with a "simple" content type (text/plain, form encoding); with application/json the browser
  must ask permission (a CORS preflight), which this API never grants, so the request is never sent
  (415 otherwise).
`read_object` reads the JSON object body both admin modules take.
"""

from __future__ import annotations

import ipaddress
import json
from typing import Any

from aiohttp import web

JSON_TYPE = "application/json"
SAFE_METHODS = frozenset({"GET", "HEAD"})


class AdminInputError(Exception):
    """The request body is not a JSON object; the message says what to fix."""


def is_loopback(address: str | None) -> bool:
    """True for a loopback IP address (127.0.0.0/8, ::1, ::ffff:127.x)."""
    if not address:
        return False
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    mapped = getattr(ip, "ipv4_mapped", None)
    return ip.is_loopback or (mapped is not None and mapped.is_loopback)


def _loopback_host(host_header: str | None) -> bool:
    if not host_header:
        return False
    host = host_header.strip()
    if host.startswith("["):  # [::1]:8080
        host = host[1 : host.find("]")] if "]" in host else host
    elif host.count(":") == 1:
        host = host.split(":", 1)[0]
    host = host.rstrip(".").lower()
    if host in ("0.0.0.0", "::"):  # the URL a simulator bound to every interface prints; connects locally
        return True
    return host == "localhost" or host.endswith(".localhost") or is_loopback(host)


def refusal(request: web.Request) -> web.Response | None:
    """The answer refusing `request`, or None when it may reach an admin route."""
    if not is_loopback(request.remote):
        return reply({"error": "the admin API answers loopback peers only"}, 403)
    if not _loopback_host(request.headers.get("Host")):
        return reply(
            {"error": "the admin API answers requests addressed to a loopback name only "
                      "(use http://127.0.0.1:PORT or http://localhost:PORT)"},
            403,
        )  # fmt: skip
    if request.method not in SAFE_METHODS and request.content_type != JSON_TYPE:
        return reply(
            {"error": f"the admin API accepts {request.method} requests only with Content-Type: "
                      f"{JSON_TYPE} (a body is optional); got {request.content_type or 'none'}"},
            415,
        )  # fmt: skip
    return None


async def read_object(request: web.Request) -> dict[str, Any]:
    """The JSON object in the body ({} when there is none); AdminInputError for anything else."""
    if not request.can_read_body:
        return {}
    raw = await request.read()
    if not raw.strip():
        return {}
    try:
        decoded = json.loads(raw)
    except ValueError:
        raise AdminInputError("body is not valid JSON") from None
    if not isinstance(decoded, dict):
        raise AdminInputError("body must be a JSON object")
    return decoded


def reply(body: Any, status: int = 200) -> web.Response:
    return web.Response(text=json.dumps(body), status=status, content_type=JSON_TYPE)
