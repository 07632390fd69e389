"""API keys of the simulator and the two signature checks OKX performs.

REST: `sign = base64(hmac_sha256(secret, timestamp + METHOD + requestPath + body))`, verified on the
exact bytes received (path and query as sent, body as sent), because clients differ in how they
encode queries and serialise bodies and OKX accepts whatever they signed (reference §1.3).
WS login: the same HMAC over `timestamp + "GET" + "/users/self/verify"` with a Unix-seconds stamp.
"""

from __future__ import annotations

import base64
import calendar
import functools
import hashlib
import hmac
import ipaddress
import re
import secrets
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from okxbot.sim.wire import SimError

TIMESTAMP_WINDOW_MS = 30_000
PERMISSIONS = ("read_only", "trade", "withdraw")
_ISO_MS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$", re.ASCII)
# WS login: Unix seconds, integer (python-okx, ccxt) or with a fraction (the docs' JS sample). Anything
# else ("inf", "nan", "1e99", "-5", "") is not a timestamp: 60004 (a missing one is a bad request: 60012).
_UNIX_SECONDS = re.compile(r"[0-9]{1,12}(\.[0-9]{1,9})?")


def prehash(timestamp: str, method: str, request_path: str, body: bytes = b"") -> bytes:
    return timestamp.encode() + method.upper().encode() + request_path.encode() + body


def same_secret(given: str, expected: str) -> bool:
    """Constant-time comparison that also takes non-ASCII input (a header or a WS login field can hold
    any character; `hmac.compare_digest` on str raises TypeError for them, which answered 50026)."""
    return hmac.compare_digest(
        given.encode("utf-8", "surrogateescape"), expected.encode("utf-8", "surrogateescape")
    )


def sign(secret: str, message: bytes) -> str:
    digest = hmac.new(secret.encode(), message, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


@dataclass(frozen=True)
class ApiKey:
    api_key: str
    secret_key: str = field(repr=False)
    passphrase: str = field(repr=False)
    uid: str
    perm: frozenset[str]
    ip: tuple[str, ...]
    label: str
    demo: bool
    ts: int = 0  # creation time (ms), as GET users/subaccount/apikey shows it

    def perm_string(self) -> str:
        return ",".join(p for p in PERMISSIONS if p in self.perm)

    def ip_string(self) -> str:
        return ",".join(self.ip)

    def wire(self) -> dict[str, Any]:
        """The key as the ready line and the admin API print it (the only place the secret is shown)."""
        return {
            "apiKey": self.api_key,
            "secretKey": self.secret_key,
            "passphrase": self.passphrase,
            "perm": self.perm_string(),
            "ip": self.ip_string(),
            "label": self.label,
            "demo": self.demo,
            "uid": self.uid,
        }

    def allows_ip(self, peer_ip: str) -> bool:
        if not self.ip:
            return True
        if peer_ip in self.ip:
            return True  # the common case, a plain address, without parsing anything
        peer = _parse_address(peer_ip)
        return peer is not None and any(peer in network for network in _networks(self.ip))


@dataclass(frozen=True)
class WsAuthError:
    """A failed WS login: the WS error code (60xxx) and message the `ws` module sends back."""

    code: str
    msg: str


def parse_perm(perm: str) -> frozenset[str]:
    parts = {p.strip() for p in re.split(r"[,\s]+", perm) if p.strip()}
    unknown = parts - set(PERMISSIONS)
    if unknown:
        raise ValueError(
            f"unknown permission(s) {sorted(unknown)}; use a comma list of {', '.join(PERMISSIONS)}"
        )
    # Every OKX key can read.
    return frozenset(parts | {"read_only"})


def parse_ip(ip: str) -> tuple[str, ...]:
    entries = tuple(e for e in re.split(r"[,\s]+", ip) if e)
    if len(entries) > 20:
        raise ValueError("at most 20 IP addresses or networks per key")
    for entry in entries:
        try:
            ipaddress.ip_network(entry, strict=False)
        except ValueError:
            raise ValueError(f"{entry!r} is not an IPv4/IPv6 address or network") from None
    return entries


class KeyStore:
    """Every API key of the simulator, looked up by the `OK-ACCESS-KEY` string."""

    def __init__(self, now_ms: Callable[[], int], window_ms: int = TIMESTAMP_WINDOW_MS) -> None:
        self._now_ms = now_ms
        self._window_ms = window_ms
        self._keys: dict[str, ApiKey] = {}

    def create(
        self,
        uid: str,
        *,
        perm: str = "read_only,trade",
        ip: str = "",
        label: str = "",
        demo: bool = False,
        passphrase: str = "",
    ) -> ApiKey:
        key = ApiKey(
            api_key=str(uuid.uuid4()),
            secret_key=secrets.token_hex(16).upper(),
            passphrase=passphrase or "Sim" + secrets.token_urlsafe(12) + "!1",
            uid=uid,
            perm=parse_perm(perm),
            ip=parse_ip(ip),
            label=label or "sim",
            demo=demo,
            ts=self._now_ms(),
        )
        self._keys[key.api_key] = key
        return key

    def get(self, api_key: str) -> ApiKey | None:
        return self._keys.get(api_key)

    def all(self) -> list[ApiKey]:
        return list(self._keys.values())

    def of_uid(self, uid: str) -> list[ApiKey]:
        """The keys of one account, oldest first."""
        return [k for k in self._keys.values() if k.uid == uid]

    def replace(self, key: ApiKey) -> None:
        """Store a modified key (same apiKey): requests are checked against it from now on."""
        if key.api_key not in self._keys:
            raise KeyError(key.api_key)
        self._keys[key.api_key] = key

    def delete(self, api_key: str) -> ApiKey | None:
        """Forget a key: every later request or WS login with it is refused at once (50111 / 60005).
        Open WebSocket sessions are closed by the caller (`sim.key_revocation.revoke`)."""
        return self._keys.pop(api_key, None)

    def verify_rest(
        self,
        headers: Mapping[str, str],
        method: str,
        raw_path: str,
        body: bytes,
        peer_ip: str,
    ) -> ApiKey:
        """Check a private REST request in the order the reference suggests (§1.5); raise SimError."""
        api_key = headers.get("OK-ACCESS-KEY", "")
        passphrase = headers.get("OK-ACCESS-PASSPHRASE", "")
        signature = headers.get("OK-ACCESS-SIGN", "")
        timestamp = headers.get("OK-ACCESS-TIMESTAMP", "")
        if not api_key:
            raise SimError("50103")
        if not passphrase:
            raise SimError("50104")
        if not signature:
            raise SimError("50106")
        if not timestamp:
            raise SimError("50107")
        ts_ms = _parse_iso_ms(timestamp)
        if ts_ms is None:
            raise SimError("50112")
        key = self._keys.get(api_key)
        if key is None:
            raise SimError("50111")
        wants_demo = headers.get("x-simulated-trading", "") == "1"
        if wants_demo != key.demo:
            raise SimError("50101")
        if not key.allows_ip(peer_ip):
            raise SimError("50110", peer_ip)
        if not same_secret(passphrase, key.passphrase):
            raise SimError("50105")
        if abs(self._now_ms() - ts_ms) > self._window_ms:
            raise SimError("50102")
        expected = sign(key.secret_key, prehash(timestamp, method, raw_path, body))
        if not same_secret(signature, expected):
            raise SimError("50113")
        return key

    def verify_ws_login(self, args: Mapping[str, Any], peer_ip: str, demo: bool) -> ApiKey | WsAuthError:
        """Check one WS login argument `{apiKey, passphrase, timestamp, sign}` for a `/private` socket.

        `demo` is the environment of the endpoint the socket connected to. Returns the key or the
        WS error to answer (60xxx codes, reference §2.3 / §5.2).
        """
        api_key = str(args.get("apiKey") or "")
        passphrase = str(args.get("passphrase") or "")
        raw_timestamp = args.get("timestamp")
        timestamp = "" if raw_timestamp is None else str(raw_timestamp)
        signature = str(args.get("sign") or "")
        if not api_key or not passphrase or raw_timestamp is None or not signature:
            return WsAuthError("60012", "Invalid request")
        if not _UNIX_SECONDS.fullmatch(timestamp):
            return WsAuthError("60004", "Invalid timestamp")
        seconds, _, fraction = timestamp.partition(".")
        ts_ms = int(seconds) * 1000 + int((fraction + "000")[:3])
        key = self._keys.get(api_key)
        if key is None:
            return WsAuthError("60005", "Invalid apiKey")
        if key.demo != demo:
            return WsAuthError("60032", "API key doesn't exist.")
        if not key.allows_ip(peer_ip):
            return WsAuthError("60009", "Login failed.")
        if not same_secret(passphrase, key.passphrase):
            return WsAuthError("60024", "Wrong passphrase")
        if abs(self._now_ms() - ts_ms) > self._window_ms:
            return WsAuthError("60006", "Timestamp request expired")
        expected = sign(key.secret_key, prehash(timestamp, "GET", "/users/self/verify"))
        if not same_secret(signature, expected):
            return WsAuthError("60007", "Invalid sign")
        return key


@functools.lru_cache(maxsize=4096)
def _parse_address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


@functools.lru_cache(maxsize=1024)
def _networks(entries: tuple[str, ...]) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(entry, strict=False) for entry in entries)


def require_permission(key: ApiKey, perm: str) -> None:
    if perm not in key.perm:
        raise SimError("50120")


def _parse_iso_ms(timestamp: str) -> int | None:
    if not _ISO_MS.match(timestamp):
        return None
    try:
        parsed = datetime.fromisoformat(timestamp)
    except ValueError:
        return None
    # Integer arithmetic: float seconds would round some milliseconds down by one.
    return calendar.timegm(parsed.utctimetuple()) * 1000 + parsed.microsecond // 1000
