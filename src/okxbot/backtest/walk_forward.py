"""Train / test windows for `okxbot optimize`: walk-forward, or one hold-out at the end.

Walk-forward TRAIN/TEST (e.g. 60d/20d) over [from, to): the first window trains on [from, from+60d)
and tests on the 20 days after it; each next window slides by TEST, so the test windows follow one
another without overlap and every test lies after its training data. Windows that would end after
`to` are not made. Without walk-forward, `--holdout` keeps the last part of the range out of the
search (25 % by default): the best parameters are then scored on it once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from okxbot.backtest.search_space import SearchSpaceError

_SPAN = re.compile(r"^(\d+)\s*([mhdw])$")
_UNIT_MS = {"m": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 7 * 86_400_000}


@dataclass(frozen=True)
class Window:
    train_start: int
    train_end: int
    test_start: int | None  # None: no out-of-sample part
    test_end: int | None

    @property
    def has_test(self) -> bool:
        return self.test_start is not None


def parse_span(text: str, option: str) -> int:
    """A length: 90m, 12h, 60d, 2w -> ms."""
    match = _SPAN.match(text.strip().lower())
    if not match or int(match.group(1)) == 0:
        raise SearchSpaceError(
            f"{option}: {text!r} is not a length", f"write {option} as 60d, 12h, 2w or 90m"
        )
    return int(match.group(1)) * _UNIT_MS[match.group(2)]


def walk_forward(start: int, end: int, spec: str) -> list[Window]:
    """Rolling windows for --walk-forward TRAIN/TEST."""
    if "/" not in spec:
        raise SearchSpaceError(
            f"--walk-forward {spec!r} is not TRAIN/TEST",
            "write e.g. --walk-forward 60d/20d (train 60 days, test 20)",
        )
    train_text, test_text = spec.split("/", 1)
    train, test = parse_span(train_text, "--walk-forward TRAIN"), parse_span(test_text, "--walk-forward TEST")
    windows = []
    at = start
    while at + train + test <= end:
        windows.append(Window(at, at + train, at + train, at + train + test))
        at += test
    if not windows:
        days = (end - start) / 86_400_000
        raise SearchSpaceError(
            f"--walk-forward {spec}: the range --from..--to ({days:g} days) is shorter than one train + test window",
            "widen --from / --to or shorten the windows",
        )
    return windows


def holdout(start: int, end: int, spec: str) -> Window:
    """One window: train on the start of the range, test on its last part (`25%`, `30d`, `0`)."""
    text = spec.strip()
    if text in ("0", "0%", "none"):
        return Window(start, end, None, None)
    if text.endswith("%"):
        try:
            share = float(text[:-1])
        except ValueError:
            share = -1.0
        if not 0 < share < 100:
            raise SearchSpaceError(
                f"--holdout {spec!r} is not a share between 0 and 100 %", "write e.g. --holdout 25%"
            )
        test = int((end - start) * share / 100)
    else:
        test = parse_span(text, "--holdout")
    if test >= end - start:
        raise SearchSpaceError(
            f"--holdout {spec} leaves no time to train on in --from..--to",
            "use a smaller --holdout (e.g. 25%)",
        )
    return Window(start, end - test, end - test, end)
