"""The simulator's wire format: the OKX envelope and the error table (code -> HTTP status, message).

Every REST answer is `{"code": "<str>", "msg": "<str>", "data": [...]}`; numbers travel as strings.
Errors are raised as `SimError` anywhere below the HTTP layer and turned into that envelope by the
app's middleware, so a handler never builds an error response by hand.
"""

from __future__ import annotations

import json
import time
from typing import Any

from aiohttp import web

# code -> (HTTP status, message template). Messages follow OKX's documented text (reference §1.5, §2);
# `{0}` / `{1}` are filled by `SimError(code, *params)`.
ERRORS: dict[str, tuple[int, str]] = {
    "1": (200, "All operations failed"),
    "2": (200, "Bulk operation partially succeeded."),
    "50000": (400, "Body for POST request cannot be empty."),
    "50001": (503, "Service temporarily unavailable. Please try again later."),
    "50002": (400, "JSON syntax error"),
    "50004": (400, "API endpoint request timeout. "),
    # OKX documents no code for a path that does not exist; the closest documented one is 50005.
    "50005": (404, "API endpoint is inactive or unavailable."),
    "50006": (400, 'Invalid Content-Type. Please use "application/JSON".'),
    "50011": (429, "Too Many Requests"),
    "50013": (429, "Systems are busy. Please try again later."),
    "50014": (400, "Parameter {0} can not be empty."),
    "50015": (400, "Either parameter {0} or {1} is required"),
    "50024": (200, "Parameter {0} and {1} can not exist at the same time."),
    "50025": (200, "Parameter {0} count exceeds the limit {1}."),
    "50026": (500, "System error. Try again later"),
    "50035": (403, "This endpoint requires that APIKey must be bound to IP"),
    "50036": (
        200,
        "The expTime can't be earlier than the current system time. Please adjust the expTime and try again.",
    ),
    "50038": (200, "This feature is unavailable in demo trading"),
    "50061": (200, "You've reached the maximum order rate limit for this account."),
    "50101": (401, "APIKey does not match current environment."),
    "50102": (401, "Timestamp request expired."),
    "50103": (401, 'Request header "OK-ACCESS-KEY" cannot be empty.'),
    "50104": (401, 'Request header "OK-ACCESS-PASSPHRASE" cannot be empty.'),
    "50105": (401, 'Request header "OK-ACCESS-PASSPHRASE" incorrect.'),
    "50106": (401, 'Request header "OK-ACCESS-SIGN" cannot be empty.'),
    "50107": (401, 'Request header "OK-ACCESS-TIMESTAMP" cannot be empty.'),
    "50110": (401, "Your IP {0} is not included in your API key's IP whitelist."),
    "50111": (401, "Invalid OK-ACCESS-KEY."),
    "50112": (401, "Invalid OK-ACCESS-TIMESTAMP."),
    "50113": (401, "Invalid signature."),
    "50115": (405, "Invalid request method."),
    # Docs say HTTP 200, traffic shows 401; the reference (§10) settles on 401.
    "50120": (401, "This API key doesn't have permission to use this function"),
    "51000": (400, "Parameter {0} error"),
    "51001": (200, "Instrument ID or Spread ID doesn't exist."),
    "51003": (200, "Either client order ID or order ID is required."),
    "51111": (200, "Maximum {0} orders can be placed in bulk."),
    "51603": (200, "Order does not exist"),
    "52000": (200, "No market data found."),
    "54000": (200, "Margin trading is not supported."),
    "58114": (400, "Transfer amount must be greater than 0"),
    "58350": (200, "Insufficient balance."),
    "59500": (200, "Only the API key of the main account has permission."),
    "59501": (200, "Each account can create up to 50 API keys"),
    "59502": (200, "This note name already exists. Enter a unique API key note name"),
    "59503": (200, "Each API key can bind up to 20 IP addresses"),
    "59505": (200, "The passphrase format is incorrect."),
    "59506": (200, "API key doesn't exist."),
}


class SimError(Exception):
    """An OKX error answered at the top level of the envelope (`code` != "0", `data` empty)."""

    def __init__(self, code: str, *params: object, status: int | None = None) -> None:
        known_status, template = ERRORS.get(code, (200, "Operation failed."))
        self.code = code
        self.msg = template.format(*params) if params else template.replace("{0}", "").replace("{1}", "")
        self.status = known_status if status is None else status
        super().__init__(f"{code} {self.msg}")

    @classmethod
    def with_message(cls, code: str, msg: str) -> SimError:
        """An error whose message was already worded by the engine (e.g. "Parameter limit error")."""
        err = cls(code)
        err.msg = msg
        err.args = (f"{code} {msg}",)
        return err


def now_us() -> str:
    """Microsecond wall time as OKX writes `inTime` / `outTime`."""
    return str(time.time_ns() // 1000)


def dumps(body: Any) -> bytes:
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()


def json_response(body: Any, status: int = 200) -> web.Response:
    return web.Response(body=dumps(body), status=status, content_type="application/json")


def ok(data: list[Any]) -> web.Response:
    return json_response({"code": "0", "msg": "", "data": data})


def error_response(err: SimError) -> web.Response:
    if err.code == "50011" and err.status == 429:
        # The observed 429 body carries no `data` (reference §1.4, §4.1).
        return json_response({"msg": err.msg, "code": err.code}, status=429)
    return json_response({"code": err.code, "msg": err.msg, "data": []}, status=err.status)


def batch_response(results: list[dict[str, Any]], in_time: str) -> web.Response:
    """Per-item results: code 0 when all succeeded, 1 when all failed, 2 when mixed."""
    failed = sum(1 for r in results if r.get("sCode") != "0")
    if results and failed == len(results):
        code, msg = "1", "All operations failed"
    elif failed:
        code, msg = "2", "Bulk operation partially succeeded."
    else:
        code, msg = "0", ""
    return json_response({"code": code, "msg": msg, "data": results, "inTime": in_time, "outTime": now_us()})
