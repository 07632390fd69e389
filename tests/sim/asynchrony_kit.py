"""Helpers for the simulator's asynchrony tests: a quiet simulator, keys, raw orders, waits on its work."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx

from okxbot.sim.server import RunningSim, start_sim
from tests.sim.okx_http import signed

ORDER = "/api/v5/trade/order"
INST = "BTC-USDT"
OFF = {"lateExecMs": 0, "cancelLagMs": 0, "amendLagMs": 0, "readLagMs": 0, "fixedLags": False}


@contextmanager
def quiet_sim(seed: int) -> Iterator[RunningSim]:
    """A simulator without its synthetic market: only the tests' own orders trade, at prices they set."""
    sim = start_sim(seed=seed, config={"market": False})
    sim.admin("POST", "/__sim__/ws-config", {"connectionsPerSecond": 1000})
    try:
        yield sim
    finally:
        sim.stop()


def fresh(sim: RunningSim) -> None:
    """Realism off, no faults left, limits reset, nothing still scheduled from the previous test."""
    assert sim.ctx.asynchrony.wait_idle(15), "late work of a previous test did not drain"
    sim.admin("POST", "/__sim__/realism", OFF)
    sim.call(sim.ctx.faults.clear)
    sim.admin("POST", "/__sim__/reset-limits")


def new_key(sim: RunningSim) -> dict[str, Any]:
    return sim.admin("POST", "/__sim__/keys", {"balances": {"USDT": "100000", "BTC": "1"}})


def order(side: str, sz: str, px: str | None = None, cl: str = "", ord_type: str = "") -> dict[str, Any]:
    body: dict[str, Any] = {"instId": INST, "tdMode": "cash", "side": side, "sz": sz}
    body["ordType"] = ord_type or ("limit" if px else "market")
    if px:
        body["px"] = px
    if cl:
        body["clOrdId"] = cl
    if body["ordType"] == "market" and side == "buy":
        body["tgtCcy"] = "base_ccy"
    return body


def post(sim: RunningSim, key: dict[str, Any], path: str, body: Any, **kwargs: Any) -> httpx.Response:
    return signed(sim.rest, key, "POST", path, json.dumps(body).encode(), **kwargs)


def get(sim: RunningSim, key: dict[str, Any], path: str) -> dict[str, Any]:
    return signed(sim.rest, key, "GET", path).json()


def lookup(sim: RunningSim, key: dict[str, Any], **ids: str) -> dict[str, Any]:
    """GET trade/order by ordId or clOrdId (the raw envelope)."""
    query = "&".join(f"{name}={value}" for name, value in ids.items())
    return get(sim, key, f"{ORDER}?instId={INST}&{query}")


def orders_of(sim: RunningSim, uid: str, cl: str | None = None) -> list[dict[str, Any]]:
    """The simulator's own record of every order of an account (not subject to read lag)."""
    orders = sim.admin("GET", f"/__sim__/orders?uid={uid}")["orders"]
    return [o for o in orders if cl is None or o["clOrdId"] == cl]


def realism(sim: RunningSim) -> dict[str, Any]:
    return sim.admin("GET", "/__sim__/realism")


def drained(sim: RunningSim) -> None:
    """Wait (bounded) for every scheduled late execution, cancel and amend to have run."""
    assert sim.ctx.asynchrony.wait_idle(15), f"late work did not drain: {realism(sim)}"
    assert realism(sim)["pending"] == 0
