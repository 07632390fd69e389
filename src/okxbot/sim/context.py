"""The state every simulator handler shares: one `SimContext` per running simulator.

It is stored on the aiohttp app under `CTX`; REST, admin and WebSocket handlers read it from
`request.app[CTX]`.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiohttp import web

from okxbot.sim.asynchrony import Asynchrony
from okxbot.sim.auth import KeyStore
from okxbot.sim.clock import Clock
from okxbot.sim.faults import FaultPlan
from okxbot.sim.limits import Limiter
from okxbot.sim.subaccounts import SubAccounts

if TYPE_CHECKING:
    from okxbot.sim.engine import Exchange
    from okxbot.sim.funding_account import FundingLedger
    from okxbot.sim.market import SyntheticMarket


@dataclass
class Stats:
    """Requests seen per path (before anything else happens to them) and per authenticated uid."""

    by_path: Counter[str] = field(default_factory=Counter)
    by_uid: Counter[str] = field(default_factory=Counter)

    def wire(self) -> dict[str, Any]:
        return {"paths": dict(self.by_path), "uids": dict(self.by_uid), "total": sum(self.by_path.values())}


@dataclass
class SimContext:
    clock: Clock
    exchange: Exchange
    keystore: KeyStore
    limiter: Limiter
    faults: FaultPlan
    market: SyntheticMarket | None
    seed: int
    funding: FundingLedger  # every account's funding side (deposits, withdrawals, transfers)
    stats: Stats = field(default_factory=Stats)
    # master -> sub-account relations (every sub-account is an engine account of its own)
    subaccounts: SubAccounts = field(default_factory=SubAccounts)
    # (uid, tag) -> deadline (ms, simulator clock) of a cancel-all-after dead-man switch.
    dead_man: dict[tuple[str, str], int] = field(default_factory=dict)
    # OKX's asynchrony (late executions, lagged cancels / amends, read lag); all off until configured.
    asynchrony: Asynchrony = field(init=False)

    def __post_init__(self) -> None:
        self.asynchrony = Asynchrony(self.exchange, self.clock, self.seed)


CTX = web.AppKey("okxbot.sim.ctx", SimContext)
