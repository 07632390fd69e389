"""The one exception type of the vault layer: what went wrong and what to do about it."""

from __future__ import annotations


class VaultError(Exception):
    """A problem with stored keys or profiles that the user can fix; `fix` says how.

    CLI commands print `str(err)` (problem, then the fix) and exit with status 2.
    """

    def __init__(self, problem: str, fix: str = "") -> None:
        self.problem = problem
        self.fix = fix
        super().__init__(f"{problem}\n  Fix: {fix}" if fix else problem)
