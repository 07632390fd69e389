"""The background task that settles doubts stops when asked, whatever it was doing."""

from __future__ import annotations

import asyncio

import pytest

from okxbot.trading.doubts import Doubt, Doubts

pytestmark = pytest.mark.timeout(30)


async def test_close_stops_the_task_even_when_a_doubt_was_just_added() -> None:
    """A doubt added right before close() wakes the task in the same loop turn as the cancel: on
    Python 3.11 asyncio.wait_for then returns instead of raising CancelledError (the cancel is
    swallowed), and a close() that only cancels waited forever (a bot's stop hung)."""

    async def never_settled(doubt: Doubt) -> bool:
        return False

    doubts = Doubts(never_settled, lambda: 0)
    doubts.add("a", "amend", None, first_check_s=3600)
    await asyncio.sleep(0)  # the task starts and waits for its next check, an hour away
    await asyncio.sleep(0)
    task = doubts._task
    assert task is not None and not task.done()
    doubts.add("b", "amend", None, first_check_s=3600)  # wakes it: the wait is done, not yet resumed
    await asyncio.wait_for(doubts.close(), 5)  # hung forever before
    assert task.done()
