"""`OkxSwapVenue` implements every method of the `SwapVenue` port with the port's parameters."""

from __future__ import annotations

import inspect

from okxbot.trading.swap_venue import OkxSwapVenue
from okxbot.trading.venue import SwapVenue


def test_the_okx_swap_venue_has_the_whole_port() -> None:
    wanted = {n: f for n, f in vars(SwapVenue).items() if inspect.isfunction(f) and not n.startswith("_")}
    assert len(wanted) >= 12
    for name, port in wanted.items():
        impl = getattr(OkxSwapVenue, name, None)
        assert impl is not None, f"OkxSwapVenue lacks {name}"
        assert inspect.iscoroutinefunction(impl) == inspect.iscoroutinefunction(port), name
        assert list(inspect.signature(impl).parameters) == list(inspect.signature(port).parameters), name
