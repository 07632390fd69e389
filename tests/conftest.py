from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.servers import PostgresServer, RedisServer, postgres_server, redis_server


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
