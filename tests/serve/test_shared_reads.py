"""Bots on one key share their REST cross-check reads: the simulator sees one request where twenty
bots would each have read the key's whole open-order list (the supervisor's idle CPU)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from okxbot.okx.client import ClientConfig
from okxbot.serve.shared_clients import SharedClients
from tests.okx.simkit import credentials, hits, new_key

PENDING = "/api/v5/trade/orders-pending"
FILLS = "/api/v5/trade/fills"
BALANCE = "/api/v5/account/balance"


def test_bots_on_one_key_share_a_cross_check_read_but_not_a_fresh_one(sim: Any, tmp_path: Path) -> None:
    key = new_key(sim)
    config = ClientConfig(rest_url=sim.rest, ws_url=sim.ws, cache_dir=tmp_path, clock_samples=3)

    async def scenario() -> dict[str, int]:
        clients = SharedClients()
        bots = [await clients.open_client(config, credentials(key), f"bot-{i}") for i in range(5)]
        try:
            await bots[0].load_markets()
            placed = (await bots[0].shared.create_order("BTC/USDT", "buy", "0.001", "30000")).client_order_id
            before = {p: hits(sim, p) for p in (PENDING, FILLS, BALANCE)}
            # one after the other (identical requests in flight together are coalesced anyway): the
            # later bots get the answer the first one got, at most SHARED_READ_S old
            answers = [await b.fetch_open_orders() for b in bots]
            fills = [await b.fetch_fills("BTC/USDT") for b in bots]
            balances = [await b.fetch_balance() for b in bots]
            shared = {p: hits(sim, p) - before[p] for p in (PENDING, FILLS, BALANCE)}
            # every bot got the whole answer, as its own list
            assert all([o.client_order_id for o in a] == [placed] for a in answers)
            assert answers[0] is not answers[1] and all(len(f) == len(fills[0]) for f in fills)
            assert all(b["USDT"].available == balances[0]["USDT"].available for b in balances)
            # one symbol's open orders (the stop's reconciliation check) is always read fresh
            fresh = hits(sim, PENDING)
            for b in bots:
                await b.fetch_open_orders("BTC/USDT")
            shared["fresh"] = hits(sim, PENDING) - fresh
            return shared
        finally:
            for i, b in enumerate(bots):
                await clients.release_client(b, f"bot-{i}")  # type: ignore[arg-type]

    counts = asyncio.run(scenario())
    assert counts == {PENDING: 1, FILLS: 1, BALANCE: 1, "fresh": 5}
