from __future__ import annotations

import asyncio

import pytest

from okxbot.okx import clock as clock_mod
from okxbot.okx.clock import Clock, ClockSample, measure_offset


def test_sample_offset_is_server_time_minus_round_trip_midpoint() -> None:
    sample = ClockSample(sent_ms=1000, received_ms=1100, server_ms=41050)
    assert sample.rtt_ms == 100
    assert sample.offset_ms == 40000


async def test_median_ignores_one_slow_round_trip(monkeypatch: pytest.MonkeyPatch) -> None:
    # a scripted local clock: every call to local_ms advances it; OKX runs 40 s ahead
    ticks = iter([0, 10, 100, 110, 200, 5200, 5300, 5310, 5400, 5410, 99999])
    monkeypatch.setattr(clock_mod, "local_ms", lambda: next(ticks))
    answers = iter([40005, 40105, 40100, 45305, 45405])  # third sample: 5 s round trip, bad midpoint

    async def server_time() -> int:
        return next(answers)

    sync = await measure_offset(server_time, samples=5)
    assert [s.offset_ms for s in sync.samples] == [40000, 40000, 37400, 40000, 40000]
    assert sync.offset_ms == 40000
    assert sync.rtt_ms == 10


async def test_clock_corrects_now_and_concurrent_syncs_share_one_measurement() -> None:
    calls = 0

    async def server_time() -> int:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0)
        return clock_mod.local_ms() - 30_000  # OKX 30 s behind

    clock = Clock(server_time, samples=3, resync_s=3600)
    assert clock.is_stale() and clock.offset_ms == 0
    await asyncio.gather(*(clock.sync() for _ in range(5)))
    assert calls == 3  # one measurement of three samples, not five
    assert -30_100 < clock.offset_ms < -29_900
    assert abs(clock.now_ms() - (clock_mod.local_ms() - 30_000)) < 100
    assert not clock.is_stale()


def test_measure_needs_a_sample() -> None:
    async def never() -> int:  # pragma: no cover
        raise AssertionError

    with pytest.raises(ValueError, match="at least one"):
        asyncio.run(measure_offset(never, samples=0))


def test_clock_error_covers_half_the_round_trip_and_the_spread_of_the_samples() -> None:
    from okxbot.okx.clock import UNMEASURED_ERROR_MS, ClockSync

    samples = (
        ClockSample(sent_ms=1000, received_ms=1040, server_ms=6020),  # offset 5000, rtt 40
        ClockSample(sent_ms=2000, received_ms=2020, server_ms=7016),  # offset 5006, rtt 20
        ClockSample(sent_ms=3000, received_ms=3030, server_ms=7995),  # offset 4980, rtt 30
    )
    sync = ClockSync(samples, offset_ms=5000, measured_at_ms=3030)
    # half the median round trip (15) + the farthest sample from the median offset (20) + 1
    assert sync.error_ms == 36
    assert ClockSync((), 0, 0).error_ms == UNMEASURED_ERROR_MS
