"""A running bot moves onto its profile's new key between two requests, or halts once its key is gone.

The handshake with `okxbot keys rotate` (`okxbot.cli.key_rotation`):
  1. the rotating process stores the new key in the vault (the profile's `generation` + 1) and sends
     SIGHUP to every bot running on the profile (`runstate.bots_on`);
  2. the bot (here) reads the profile, on SIGHUP and every `CHECK_SECONDS` in case a signal was
     missed; when the generation moved it loads the new credentials, puts them into its client (a
     request already sent completes under the old key, the next one is signed with the new key),
     checks that the new key answers for the same account (`account/config` uid; else it goes back
     to the old key), closes its private WebSocket so that it logs in again with the new key,
     reconciles (the order manager's poll: open orders and fills) and acknowledges the generation
     (`runstate.ack_key`);
  3. only then does the rotating process delete the old key on OKX.
The journal and the order manager are untouched by a swap: same account, same orders, same clOrdIds.

A key OKX no longer knows during trading (`REVOKED` codes, from a poll's request or from an order
request's answer, whichever comes first): a newer key in the vault is taken at once; otherwise the
bot halts cleanly: it stops placing, the runner stops (the journal keeps every
order as last seen; nothing is assumed), and the reason says what to do.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING

from okxbot.okx.errors import OkxError, from_code

if TYPE_CHECKING:
    from okxbot.okx.client import OkxClient
    from okxbot.trading.runner import Runner
    from okxbot.vault.secret import Credentials

log = logging.getLogger("okxbot.trading.key_swap")

CHECK_SECONDS = 5.0
# The key itself is gone or unusable: unknown (REST / WS login), frozen.
REVOKED = frozenset({"50111", "50119", "50100", "60005", "60032"})


class KeySwap:
    """The runner's side of a key rotation (see the module docstring)."""

    def __init__(self, runner: Runner, check_seconds: float = CHECK_SECONDS) -> None:
        self.runner = runner
        self.profile = runner.target.profile
        self.check_seconds = check_seconds
        self.generation: int | None = None  # the profile generation the client signs with
        self.swaps = 0
        self.halted: str | None = None
        self.stop_event: asyncio.Event | None = None  # the runner's stop event: set when halting
        self._wake = asyncio.Event()
        self._lock = asyncio.Lock()
        self._uid: str | None = None
        self._unreadable: int | None = None  # the generation whose credentials could not be loaded
        self._answer_check: asyncio.Task[None] | None = None

    def wake(self) -> None:
        """Look at the vault now (the SIGHUP handler of `okxbot run`)."""
        self._wake.set()

    async def watch(self) -> None:
        """The runner task: check the profile on every wake-up and every `check_seconds`. Like every
        runner loop it ends only when canceled (`okxbot serve` takes an ended loop for a crash)."""
        if self.profile is None:
            await asyncio.Event().wait()  # a key from the environment: nothing to watch, ever
        while True:
            try:
                await self.check()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("key check failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.check_seconds)
            self._wake.clear()

    async def check(self) -> None:
        """Swap onto the vault's key of the profile if it is not the one in use; acknowledge."""
        from okxbot.runstate import ack_key
        from okxbot.vault.errors import VaultError
        from okxbot.vault.profiles import ProfileStore
        from okxbot.vault.store import Vault

        assert self.profile is not None
        async with self._lock:
            stored = ProfileStore().find(self.profile)
            if stored is None or stored.generation == self.generation:
                return
            client = self.runner.client
            if client is None:
                return
            in_use = client.credentials
            first_look = self.generation is None
            if not (first_look and in_use is not None and stored.key_hint == in_use.api_key.masked()):
                try:
                    creds = Vault().credentials(self.profile)
                except VaultError as err:
                    if self._unreadable != stored.generation:
                        self._unreadable = stored.generation
                        log.error("cannot load the new key of profile %s: %s", self.profile, err)
                    return
                if in_use is None or creds.api_key.reveal() != in_use.api_key.reveal():
                    await self._swap(client, creds)
            self.generation = stored.generation
            ack_key(self.runner.config.name, self.profile, stored.generation)

    async def _swap(self, client: OkxClient, creds: Credentials) -> None:
        old = client.credentials
        if self._uid is None:
            self._uid = (await client.account_config()).uid
        _use(client, creds)
        try:
            uid = (await client.account_config()).uid
        except OkxError as err:
            if old is not None:
                _use(client, old)
            log.error(
                "the new key of profile %s does not work (%s); staying on the old key", self.profile, err
            )
            raise
        if uid != self._uid:
            if old is not None:
                _use(client, old)
            raise RuntimeError(
                f"the new key of profile {self.profile} belongs to account {uid}, not {self._uid}: refused"
            )
        await _relogin(client)
        manager = self.runner.manager
        if manager is not None:
            with contextlib.suppress(OkxError):
                await manager.poll()
        self.swaps += 1
        log.info("moved onto the new key of profile %s (%s)", self.profile, creds.api_key.masked())

    async def on_error(self, err: OkxError) -> None:
        """An error of a running bot's request: a revoked key means a swap (if the vault has a newer
        key) or a clean halt."""
        if err.code not in REVOKED or self.halted:
            return
        before = self.generation
        if self.profile is not None:
            with contextlib.suppress(Exception):
                await self.check()
            if self.generation != before:
                return
        self.halt(
            f"the API key is no longer accepted by OKX ({err.code}: revoked or deleted); trading stopped. "
            f"Make a new key (`okxbot keys rotate {self.profile or 'NAME'}"
            f"{' --auto' if self._provisioned() else ''}`) and start the bot again: it reconciles first"
        )

    def on_answer(self, op: str, code: str) -> None:
        """An order request's outcome (the order manager's `answer_listeners`): a refusal for a
        revoked key is acted on at once, not at the next poll (which may be minutes away)."""
        if code not in REVOKED or self.halted:
            return
        if self._answer_check is None or self._answer_check.done():
            self._answer_check = asyncio.ensure_future(self.on_error(from_code(code, f"{op} refused")))

    def halt(self, reason: str) -> None:
        self.halted = reason
        runner = self.runner
        if runner.core is not None:
            runner.core.stopping = True
        if runner.manager is not None:
            runner.manager.risk.halted = reason
        log.error("halted: %s", reason)
        if self.stop_event is not None:
            self.stop_event.set()

    def _provisioned(self) -> bool:
        from okxbot.vault.profiles import ProfileStore

        stored = ProfileStore().find(self.profile) if self.profile else None
        return stored is not None and stored.provisioned


def _use(client: OkxClient, creds: Credentials) -> None:
    """Sign the client's next requests (REST and WebSocket logins) with `creds`."""
    api_key, secret, passphrase = creds.values()
    client.credentials = creds
    client.raw.apiKey, client.raw.secret, client.raw.password = api_key, secret, passphrase


async def _relogin(client: OkxClient) -> None:
    """Close the private WebSocket connections: their watchers reconnect and log in with the new key."""
    for url, ws in list((client.raw.clients or {}).items()):
        connection = getattr(ws, "connection", None)
        if "/private" in url and connection is not None and not connection.closed:
            with contextlib.suppress(Exception):
                await connection.close()
