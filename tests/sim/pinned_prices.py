"""Instruments with BTC pinned at 43000, for engine tests whose prices were chosen around it.

The simulator's default BTC start price is realistic (about 61000, so that the seed scenario's
limit buy at 50000 rests); these tests must not depend on that choice.
"""

from dataclasses import replace
from decimal import Decimal

from okxbot.sim.instruments import DEFAULT_INSTRUMENTS, InstrumentSet


def btc_at_43000() -> InstrumentSet:
    return InstrumentSet(
        replace(i, start_px=Decimal("43000")) if i.inst_id.startswith("BTC-") else i
        for i in DEFAULT_INSTRUMENTS
    )
