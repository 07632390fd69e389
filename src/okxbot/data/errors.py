"""`DataError`: every refusal of the data layer says what went wrong and what to do about it."""

from __future__ import annotations


class DataError(Exception):
    """A data command or library call that cannot go on; `fix` tells the user what to do."""

    def __init__(self, problem: str, fix: str = "") -> None:
        super().__init__(f"{problem}\nFix: {fix}" if fix else problem)
        self.problem = problem
        self.fix = fix
