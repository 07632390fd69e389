"""Order requests on the order lane: which of `OkxExchange`'s requests ride it, how they are signed,
and how their answers are read (`LaneRequests`, a mixin of `okxbot.okx.exchange.OkxExchange`).

The lane (`okxbot.okx.order_lane`) is transport only. Here: the order POSTs (`_LANE_POSTS`) are signed
with OKX's scheme (base64 HMAC-SHA256 of timestamp + "POST" + request path + body; the key's HMAC state
built once per key and copied per request), carry the headers ccxt would send (key, passphrase,
content type, the exchange's own headers such as demo trading's x-simulated-trading, the user agent)
and their expTime, and the answer goes through ccxt's own `on_rest_response`, `handle_errors` and
`handle_http_status_code`, so the same exceptions come out; a lost connection or a missing answer
raise ccxt's ExchangeNotAvailable / RequestTimeout, as ccxt's `fetch` does. With a proxy, unchecked
certificates, a user's own aiohttp session or ccxt's verbose mode, requests stay on ccxt's path.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from decimal import Decimal
from typing import Any

import orjson
from ccxt.base.errors import ExchangeNotAvailable, RequestTimeout

from okxbot.okx.order_lane import OrderLane

# what rides the order lane (okx.order_lane): the requests on the tick-to-order path
_LANE_POSTS = frozenset(
    {
        "trade/order",
        "trade/batch-orders",
        "trade/cancel-order",
        "trade/cancel-batch-orders",
        "trade/amend-order",
        "trade/amend-batch-orders",
    }
)
_PROXY_SETTINGS = (
    "proxy", "proxyUrl", "proxy_url", "proxyUrlCallback", "proxy_url_callback", "httpProxy", "http_proxy",
    "httpProxyCallback", "http_proxy_callback", "httpsProxy", "https_proxy", "httpsProxyCallback",
    "https_proxy_callback", "socksProxy", "socks_proxy", "socksProxyCallback", "socks_proxy_callback",
    "aiohttp_proxy", "aiohttp_trust_env",
)  # fmt: skip


class LaneRequests:
    """`OkxExchange`'s order lane: `_okx_lane_for` picks the requests, `_okx_lane_post` sends one.
    Needs ccxt's exchange attributes and `OkxExchange`'s `nonce`, `okx_wire`, `okx_lane*` and
    `_okx_exp_time_header`."""

    okx_lane: OrderLane | None
    okx_lane_wanted: bool
    okx_lane_static: tuple[Any, Any, dict[str, str]] | None

    def _okx_lane_for(self, path: str, api: list[str], method: str, params: Any) -> OrderLane | None:
        """The lane for this request, or None for ccxt's path: only the order POSTs, each order named
        by its clOrdId or ordId (ccxt would invent a clOrdId for one without), with no proxy and no
        verbose logging configured, and fewer than the lane's maximum requests in flight."""
        if method != "POST" or path not in _LANE_POSTS or api[0] != "private" or not self.okx_lane_wanted:
            return None
        items = params if isinstance(params, list) else [params]
        if not items or not all(isinstance(i, dict) and (i.get("clOrdId") or i.get("ordId")) for i in items):
            return None
        lane = self.okx_lane
        if lane is None:
            if (
                self.verbose
                or not self.verify  # certificates unchecked: ccxt's business, not the lane's
                or (self.session is not None and not self.own_session)  # the user's own aiohttp session
                or any(getattr(self, name, None) for name in _PROXY_SETTINGS)
            ):
                self.okx_lane_wanted = False
                return None
            self.open(True)  # ccxt's ssl context; after close() it raises, as ccxt's fetch does
            lane = self.okx_lane = OrderLane(
                self.implode_hostname(self.urls["api"]["rest"]),
                ssl_context=self.ssl_context,
                probe=self.okx_wire,
            )
        return lane if lane.has_room() else None

    async def _okx_lane_post(self, lane: OrderLane, path: str, params: Any) -> Any:
        """POST `params` to `path` on the lane, signed as `sign` signs it; the answer read as ccxt's
        `fetch` reads one (same exceptions)."""
        signer, static = self._okx_lane_headers()
        request_path = "/api/" + self.version + "/" + path
        url = lane.origin + request_path
        sent: dict[str, Any] = {}

        def build() -> tuple[str, dict[str, str]]:
            body = _compact_json(params)
            now = self.nonce()
            stamp = _iso8601(now)
            mac = signer.copy()  # the key's HMAC state, keyed once
            mac.update((stamp + "POST" + request_path + body).encode())
            digest = mac.digest()
            headers = dict(static)
            headers["OK-ACCESS-TIMESTAMP"] = stamp
            headers["OK-ACCESS-SIGN"] = base64.b64encode(digest).decode()
            exp = self._okx_exp_time_header(path, params, now)
            if exp is not None:
                headers["expTime"] = exp
            sent.update(headers=headers, body=body)
            return body, headers

        # noted now too: if the connection cannot even be opened, `build` never runs, and the caller
        # still needs a moment after which the order is known never to have executed
        self._okx_exp_time_header(path, params, self.nonce())
        try:
            answer = await lane.post(request_path, build, timeout_s=self.timeout / 1000)
        except TimeoutError as exc:
            raise RequestTimeout(" ".join([self.id, "POST", url])) from exc
        except OSError as exc:
            raise ExchangeNotAvailable(" ".join([self.id, "POST", url])) from exc
        text = self.on_rest_response(
            answer.status,
            answer.reason,
            url,
            "POST",
            answer.headers,
            answer.text,
            sent["headers"],
            sent["body"],
        )
        parsed = self.parse_json(text)
        self.handle_errors(
            answer.status,
            answer.reason,
            url,
            "POST",
            answer.headers,
            text,
            parsed,
            sent["headers"],
            sent["body"],
        )
        self.handle_http_status_code(answer.status, answer.reason, url, "POST", text)
        return parsed if parsed is not None else text

    def _okx_lane_headers(self) -> tuple[Any, dict[str, str]]:
        """An HMAC-SHA256 keyed with the secret (copied for each request) and the headers every lane
        request carries (ccxt's: key, passphrase, content type, the exchange's own headers such as
        demo trading's x-simulated-trading, its user agent); built again only when the key
        (`okxbot.trading.key_swap`) or those headers change."""
        state = (self.apiKey, self.secret, self.password, tuple(self.headers.items()))
        cached = self.okx_lane_static
        if cached is None or cached[0] != state:
            self.check_required_credentials()
            headers = self.prepare_request_headers(
                {
                    "OK-ACCESS-KEY": self.apiKey,
                    "OK-ACCESS-PASSPHRASE": self.password,
                    "Content-Type": "application/json",
                }
            )
            headers.pop("Accept-Encoding", None)  # identity answers: nothing to inflate
            signer = hmac.new(self.secret.encode(), digestmod=hashlib.sha256)
            cached = self.okx_lane_static = (state, signer, headers)
        return cached[1], cached[2]


_iso_second: list[Any] = [None, ""]  # (second, its "2020-12-08T09:08:57" text): a strftime per second


def _iso8601(ms: int) -> str:
    """OKX's request timestamp (ccxt's iso8601): 2020-12-08T09:08:57.715Z."""
    second = ms // 1000
    if _iso_second[0] != second:
        _iso_second[:] = [second, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))]
    return f"{_iso_second[1]}.{ms % 1000:03d}Z"


def _compact_json(params: Any) -> str:
    """The request body: compact JSON (what is signed is what is sent, so any exact encoding does);
    orjson for OKX's all-string bodies, the json module when a Decimal is in it (written plainly,
    never in exponent form); anything else is refused (TypeError), as ccxt's path refuses it."""
    try:
        return orjson.dumps(params).decode()
    except TypeError:
        return json.dumps(params, separators=(",", ":"), default=_plain_decimal)


def _plain_decimal(value: Any) -> str:
    if isinstance(value, Decimal):
        return format(value, "f")
    raise TypeError(f"{type(value).__name__} is not JSON serializable")
