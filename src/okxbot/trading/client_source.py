"""Where a `Runner` gets its `OkxClient`, and where it gives it back.

`okxbot run` gives each bot its own client (`OwnClient`, the default). `okxbot serve` runs many bots
in one process and hands every bot on the same key one shared client, so that they share the key's
rate limiter and WebSocket connections (`okxbot.serve.shared_clients`).
"""

from __future__ import annotations

from typing import Protocol

from okxbot.okx.client import ClientConfig, OkxClient
from okxbot.vault.secret import Credentials


class ClientSource(Protocol):
    async def open_client(self, config: ClientConfig, credentials: Credentials, bot: str) -> OkxClient:
        """The client `bot` trades through (not yet used by anyone else on its behalf)."""
        ...

    async def release_client(self, client: OkxClient, bot: str) -> None:
        """`bot` is done with `client` (called once, from Runner.close)."""
        ...


class OwnClient:
    """One client per runner, closed with it."""

    async def open_client(self, config: ClientConfig, credentials: Credentials, bot: str) -> OkxClient:
        return OkxClient(config, credentials)

    async def release_client(self, client: OkxClient, bot: str) -> None:
        await client.close()
