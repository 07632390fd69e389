"""Hand-signed OKX requests for simulator tests that need exact control of every header and byte."""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx


def iso_now(skew_s: float = 0) -> str:
    now = datetime.now(UTC) + timedelta(seconds=skew_s)
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"


def okx_sign(secret: str, timestamp: str, method: str, path: str, body: bytes = b"") -> str:
    message = timestamp.encode() + method.encode() + path.encode() + body
    return base64.b64encode(hmac.new(secret.encode(), message, hashlib.sha256).digest()).decode()


def signed(
    base: str,
    key: dict[str, Any],
    method: str,
    path: str,
    body: bytes = b"",
    *,
    timestamp: str | None = None,
    sign_path: str | None = None,
    secret: str | None = None,
    headers: dict[str, str] | None = None,
    drop: tuple[str, ...] = (),
    client: httpx.Client | None = None,
) -> httpx.Response:
    """Send one request signed with `key` (a dict as in `sim.keys`); `sign_path` signs another path."""
    ts = timestamp or iso_now()
    sent = {
        "OK-ACCESS-KEY": key["apiKey"],
        "OK-ACCESS-PASSPHRASE": key["passphrase"],
        "OK-ACCESS-TIMESTAMP": ts,
        "OK-ACCESS-SIGN": okx_sign(secret or key["secretKey"], ts, method, sign_path or path, body),
        "Content-Type": "application/json",
    }
    if key.get("demo"):
        sent["x-simulated-trading"] = "1"
    sent.update(headers or {})
    for name in drop:
        sent.pop(name, None)
    if client is not None:
        return client.request(method, base + path, content=body or None, headers=sent)
    return httpx.request(method, base + path, content=body or None, headers=sent, timeout=10)
