"""/metrics counts every order request's outcome, per order, from the order manager's own record:
single and batch placements, cancels and amendments, accepted or refused by OKX's per-order sCode,
and 50011 from each of those paths (a wave refused for rate counts once per order in it)."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from okxbot.okx.client import ClientConfig, OkxClient
from okxbot.serve.instrument import instrument_client, instrument_runner
from okxbot.serve.metrics import Metrics
from okxbot.sim.limits import arrival_us
from okxbot.sim.server import RunningSim
from okxbot.sim.wire import SimError
from okxbot.trading.config import RiskConfig
from okxbot.trading.journal import Journal
from okxbot.trading.orders import AmendSpec, OrderManager, OrderSpec
from okxbot.trading.risk import RiskGuard
from tests.okx.simkit import credentials
from tests.sim.asynchrony_kit import INST, new_key, quiet_sim

D = Decimal
RISK = RiskConfig(
    max_order_notional=D("1000000"),
    max_open_orders=1000,
    max_orders_per_minute=100000,
    price_band_pct=D("50"),
)
BUCKETS = (  # the instrument's order buckets, single and batch, of every order operation
    ("trade/order", {"instId": INST}),
    ("trade/batch-orders", [{"instId": INST}] * 20),
    ("trade/cancel-order", {"instId": INST}),
    ("trade/cancel-batch-orders", [{"instId": INST}] * 20),
    ("trade/amend-order", {"instId": INST}),
    ("trade/amend-batch-orders", [{"instId": INST}] * 20),
)
pytestmark = pytest.mark.timeout(180)


@pytest.fixture
def quiet() -> Iterator[RunningSim]:
    # its own simulator: the rate-limit part leaves this one's limiter counting in the future
    with quiet_sim(seed=61) as sim:
        yield sim


def _value(text: str, series: str) -> float:
    found = re.search(rf"^{re.escape(series)} (\S+)$", text, re.M)
    return float(found.group(1)) if found else 0.0


def _spend_buckets(sim: RunningSim, uid: str) -> None:
    """Another program has spent every order bucket of the instrument on this account, so OKX
    answers 50011 to whatever comes next. Counted 10 minutes ahead (the simulator counts every
    later request at that moment), so the windows cannot roll over while the test runs."""

    def spend() -> None:
        limiter = sim.ctx.limiter
        at = arrival_us() + 600_000_000
        for path, body in BUCKETS:
            for _ in range(1000):
                try:
                    limiter.charge_request(
                        "POST", "/api/v5/" + path, ip="127.0.0.1", uid=uid, params=body, arrival=at
                    )
                except SimError:
                    break

    sim.call(spend)


async def _scenario(sim: RunningSim, key: dict[str, Any], tmp: Path) -> tuple[str, str, OrderManager]:
    metrics = Metrics()
    # no retry after 50011: each refusal is one answer, so the per-key count is exact
    config = ClientConfig(
        rest_url=sim.rest, ws_url=sim.ws, cache_dir=tmp, max_rate_retries=0, clock_samples=3
    )
    client = OkxClient(config, credentials(key))
    instrument_client(client, metrics, "key-1")
    journal = Journal(f"sqlite:///{tmp / 'journal.sqlite'}", "bot-1")
    try:
        rules = await client.rules("BTC/USDT")
        m = OrderManager(client, journal, RiskGuard(RISK, "BTC/USDT"), rules)
        m.mid = D("60000")
        instrument_runner(
            SimpleNamespace(journal=journal, manager=m, config=SimpleNamespace(name="bot-1")), metrics
        )  # type: ignore[arg-type]
        other = OkxClient(ClientConfig(rest_url=sim.rest, cache_dir=tmp, clock_samples=3), credentials(key))

        # ---- accepted and refused, single and in batches --------------------------------------
        single = await m.place("buy", D("0.001"), D("50000"))
        assert single is not None
        prices = ("49000", "48000", "47000", "46000", "45000", "44000", "43000")
        wave = await m.place_many(
            [OrderSpec("buy", D("0.001"), D(px)) for px in prices] + [OrderSpec("buy", D("10"), D("42000"))]
        )  # the last one needs 420,000 USDT: OKX refuses it alone (sCode 51008), the batch goes through
        assert wave[-1] is None and all(o is not None for o in wave[:-1])
        a, b, c, d, e, f, g = (o.client_order_id for o in wave[:-1] if o is not None)
        for cid in (b, d):  # another program on the key cancels two of them; the manager does not know
            await other.cancel_order("BTC/USDT", client_order_id=cid)
        assert await m.cancel_many([a, b]) == [True, False]  # batch: accepted, 51400
        assert await m.amend_many([AmendSpec(c, price=D("47500")), AmendSpec(d, price=D("46500"))]) == [
            True,
            False,
        ]  # batch: accepted, 51503
        assert await m.cancel(single.client_order_id) is True  # single: accepted
        before_limit = metrics.render().decode()

        # ---- 50011 from every path -------------------------------------------------------------
        _spend_buckets(sim, key["uid"])
        assert await m.place("buy", D("0.001"), D("41000")) is None
        assert await m.place_many([OrderSpec("buy", D("0.001"), D(px)) for px in ("40000", "39000")]) == [
            None,
            None,
        ]
        assert await m.cancel(e) is False
        assert await m.cancel_many([f, g]) == [False, False]
        assert await m.amend(e, price=D("45500")) is False
        assert await m.amend_many([AmendSpec(f, price=D("44500")), AmendSpec(g, price=D("43500"))]) == [
            False,
            False,
        ]
        await other.close()
        await m.close()
        return before_limit, metrics.render().decode(), m
    finally:
        await client.close()
        journal.close()


def test_every_order_path_is_counted_per_order_by_okx_code(quiet: RunningSim, tmp_path: Path) -> None:
    key = new_key(quiet)
    first, text, m = asyncio.run(_scenario(quiet, key, tmp_path))
    expected_first = {
        'okxbot_orders_placed_total{bot="bot-1"}': 8,  # 1 single + 7 of the wave
        'okxbot_orders_rejected_total{bot="bot-1",code="51008",op="place"}': 1,
        'okxbot_order_changes_accepted_total{bot="bot-1",op="cancel"}': 2,  # one of a batch, one single
        'okxbot_orders_rejected_total{bot="bot-1",code="51400",op="cancel"}': 1,
        'okxbot_order_changes_accepted_total{bot="bot-1",op="amend"}': 1,
        'okxbot_orders_rejected_total{bot="bot-1",code="51503",op="amend"}': 1,
    }
    assert {series: _value(first, series) for series in expected_first} == expected_first
    assert 'code="50011"' not in first
    # each path refused for rate, each order of a refused batch counted: 1 + 2 per operation
    for op in ("place", "cancel", "amend"):
        assert _value(text, f'okxbot_orders_rejected_total{{bot="bot-1",code="50011",op="{op}"}}') == 3, op
    assert _value(text, 'okxbot_orders_placed_total{bot="bot-1"}') == 8
    # OKX sent six 50011 answers on the key (one per request), the bot counts nine orders refused
    assert _value(text, 'okxbot_rate_limit_answers_total{code="50011",key="key-1"}') == 6
    assert m.stats.rate_limited == 9 and m.stats.placed == 8 and m.stats.rejected == 1 + 3
    assert m.stats.answers[("cancel", "51400")] == 1 and m.stats.answers[("amend", "50011")] == 3
