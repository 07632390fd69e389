from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

from tests.servers import PostgresServer, RedisServer, postgres_server, redis_server

if TYPE_CHECKING:
    from okxbot.sim.server import RunningSim


@pytest.fixture(scope="session")
def redis() -> Iterator[RedisServer]:
    """A real, throwaway Redis server on a free loopback port."""
    with redis_server() as server:
        yield server


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """A real, throwaway PostgreSQL server on a free loopback port (database 'okxbot')."""
    with postgres_server() as server:
        yield server


@pytest.fixture(scope="module")
def sim() -> Iterator[RunningSim]:
    """A fresh OKX simulator for this test module (real loopback HTTP + WebSocket), stopped afterwards.

    `sim.rest`, `sim.ws`, `sim.keys` (a live and a demo key, "read_only,trade", ip 127.0.0.1, funded),
    `sim.admin(method, path, json)`; see docs/architecture.md "Contract: in-process start".
    """
    from okxbot.sim.server import start_sim

    running = start_sim(host="127.0.0.1", port=0, seed=7)
    try:
        yield running
    finally:
        running.stop()
