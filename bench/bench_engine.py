"""Simulator exchange core without HTTP: how much of the order budget the engine itself uses.

Measures, on one core: placing resting orders, place + cancel pairs, orders that trade at once, and
the cost of one synthetic-market step (the server runs one every ~100 ms).
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

from rich.console import Console
from rich.table import Table

from okxbot.sim.engine import Exchange
from okxbot.sim.market import SyntheticMarket

N = 20_000
STEPS = 600


def _rate(n: int, fn: Callable[[int], None]) -> float:
    start = time.perf_counter()
    for i in range(n):
        fn(i)
    return n / (time.perf_counter() - start)


def main() -> None:
    start = time.perf_counter()
    ex = Exchange(seed=7)
    market = SyntheticMarket(ex, 7)
    init_s = time.perf_counter() - start
    ex.add_listener(lambda event: None)  # the WS layer is always listening; pay for the event objects
    insts = ex.instruments.ids()
    uid = ex.create_account({"USDT": "1000000000", "BTC": "100000"})
    resting_uids = [ex.create_account({"USDT": "1000000000"}) for _ in range(N // 5000 + 1)]

    def resting(i: int) -> None:
        inst = ex.instrument(insts[i % len(insts)])
        assert inst is not None
        px = (inst.start_px * 9 / 10).quantize(inst.tick_sz)
        ex.place_order(resting_uids[i // 5000], {"instId": inst.inst_id, "tdMode": "cash", "side": "buy",
                                                 "ordType": "limit", "px": str(px), "sz": str(inst.min_sz)})  # fmt: skip

    def place_cancel(i: int) -> None:
        r = ex.place_order(uid, {"instId": "BTC-USDT", "tdMode": "cash", "side": "buy", "ordType": "limit",
                                 "px": "30000", "sz": "0.001", "clOrdId": f"pc{i}"})  # fmt: skip
        ex.cancel_order(uid, {"instId": "BTC-USDT", "ordId": r["ordId"]})

    def taker(i: int) -> None:
        ex.place_order(uid, {"instId": "BTC-USDT", "tdMode": "cash", "side": "buy" if i % 2 else "sell",
                             "ordType": "market", "sz": "0.0001", "tgtCcy": "base_ccy"})  # fmt: skip
        if i % 20 == 0:
            market.step()  # refill the levels takers consumed

    rows = [
        ("resting limit orders placed / s", f"{_rate(N, resting):,.0f}"),
        ("place + cancel pairs / s", f"{_rate(N, place_cancel):,.0f}"),
        ("market orders that trade / s", f"{_rate(N // 4, taker):,.0f}"),
    ]
    steps = []
    for _ in range(STEPS):
        t = time.perf_counter()
        market.step()
        steps.append((time.perf_counter() - t) * 1000)
    steps.sort()
    rows += [
        ("market step, mean ms (13 instruments)", f"{statistics.fmean(steps):.2f}"),
        ("market step, p99 ms", f"{steps[int(len(steps) * 0.99)]:.2f}"),
        ("market start with 1 day of 1m history, s", f"{init_s:.2f}"),
    ]
    table = Table(title="Simulator engine (no HTTP), one core")
    table.add_column("measure")
    table.add_column("value", justify="right")
    for row in rows:
        table.add_row(*row)
    Console().print(table)


if __name__ == "__main__":
    main()
