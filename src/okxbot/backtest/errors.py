"""The backtester's refusals: what is wrong and how to fix it, before anything runs."""

from __future__ import annotations


class BacktestError(Exception):
    """A backtest that cannot run as asked (bad settings, no data, a strategy it cannot honour).

    str() is the problem followed by the fix, for the CLI to print as it is."""

    def __init__(self, problem: str, fix: str) -> None:
        super().__init__(f"{problem}\n  Fix: {fix}")
        self.problem, self.fix = problem, fix
