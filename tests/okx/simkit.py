"""Helpers for client tests against the simulator: fresh keys and clients."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

from okxbot.okx.client import ClientConfig, OkxClient
from okxbot.vault.secret import Credentials, Secret


def new_key(sim: Any, *, balances: dict[str, str] | None = None, **fields: Any) -> dict[str, Any]:
    """A new simulator account and key (own balances, so tests do not see each other's orders)."""
    body: dict[str, Any] = {"balances": balances or {"USDT": "100000", "BTC": "2"}, "perm": "read_only,trade"}
    body.update(fields)
    return sim.admin("POST", "/__sim__/keys", body)


def credentials(key: dict[str, Any], **override: str) -> Credentials:
    values = {"api_key": key["apiKey"], "secret_key": key["secretKey"], "passphrase": key["passphrase"]}
    values.update(override)
    return Credentials(*(Secret(values[k]) for k in ("api_key", "secret_key", "passphrase")))


def client(sim: Any, key: dict[str, Any] | None, tmp: Path, **config: Any) -> OkxClient:
    config.setdefault("clock_samples", 3)  # public/time allows 10 requests / 2 s per IP
    cfg = ClientConfig(rest_url=sim.rest, ws_url=sim.ws, cache_dir=tmp, **config)
    return OkxClient(cfg, credentials(key) if key is not None else None)


def sim_orders(sim: Any, uid: str, client_order_id: str | None = None) -> list[dict[str, Any]]:
    """Every order the simulator holds for `uid` (any state), optionally with one clOrdId."""
    orders = sim.admin("GET", f"/__sim__/orders?uid={uid}")["orders"]
    return [o for o in orders if client_order_id is None or o.get("clOrdId") == client_order_id]


def hits(sim: Any, path: str) -> int:
    """How many requests the simulator has seen on `path` (any method)."""
    return int(sim.admin("GET", "/__sim__/stats")["paths"].get(path, 0))


D = Decimal


def sim_profile(sim: Any, key: dict[str, Any], name: str, *, home: Path | None = None, **fields: Any) -> str:
    """Store a simulator key as a profile bound to `sim.rest` (how the CLI is handed one) and return
    its name; an existing profile of that name gets the new key. The OS keyring is never touched."""
    import os
    from unittest import mock

    from okxbot.vault.profiles import Profile
    from okxbot.vault.store import Vault

    with mock.patch.dict(os.environ, {"OKXBOT_KEYRING": "off"}):
        vault = Vault(home)
        if vault.profiles.find(name) is None:
            demo = bool(key.get("demo", False))
            vault.add(Profile(name, demo=demo, sim_url=sim.rest, **fields), credentials(key))
        else:
            vault.rotate(name, credentials(key))
    return name
