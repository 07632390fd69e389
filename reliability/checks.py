"""One row of the reliability table, and the run sizes (full or quick)."""

from __future__ import annotations

import traceback
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Check:
    section: str
    check: str
    count: int
    must_be_zero: bool
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.count == 0 if self.must_be_zero else True


@dataclass(frozen=True)
class Sizes:
    intents: int  # order intents in each fault run
    fault_rate: float  # share of intents whose request meets an injected fault
    crashes: int  # SIGKILL + restart cycles
    examples: int  # hypothesis examples per property (client level)
    cli_examples: int  # hypothesis examples per CLI property (each one is a whole command)

    @classmethod
    def of(cls, quick: bool) -> Sizes:
        if quick:
            return cls(intents=48, fault_rate=0.3, crashes=3, examples=40, cli_examples=8)
        return cls(intents=1000, fault_rate=0.3, crashes=25, examples=400, cli_examples=60)


def guarded(section: str, run: Callable[[], list[Check]]) -> list[Check]:
    """Run a section; if the suite itself breaks, that is a failed row, never a missing one."""
    try:
        return run()
    except Exception as exc:  # the row names the failure so that nothing is silently skipped
        last = traceback.extract_tb(exc.__traceback__)[-1]
        where = f"{last.filename.rsplit('/', 1)[-1]}:{last.lineno}"
        return [Check(section, "section completed", 1, True, f"{type(exc).__name__}: {exc} ({where})")]
