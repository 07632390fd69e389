"""Alert settings in the serve database, the alert leader's lease, and two supervisors sharing one
database: only one of them polls Telegram and sends alerts, and the other takes over when it stops."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from okxbot.serve.alert_settings import DEFAULT_LEVELS, AlertStore, SettingsError
from okxbot.serve.db import database_url, open_engine
from tests.serve import alerts_kit as ak
from tests.serve import kit
from tests.telegram_fake import FakeTelegram, make_token


@pytest.fixture
def store(tmp_path: Path) -> AlertStore:
    return AlertStore(open_engine(f"sqlite:///{tmp_path / 'serve.sqlite'}"))


def test_levels_default_and_change(store: AlertStore) -> None:
    settings = store.load()
    assert settings.levels == DEFAULT_LEVELS and settings.level("fill") == "silent"
    assert settings.telegram is None and settings.webhooks == {}
    settings = store.set_level(["all"], "off")
    assert set(settings.levels.values()) == {"off"}
    with pytest.raises(SettingsError, match="level must be one of"):
        store.set_level(["fill"], "loud")
    with pytest.raises(SettingsError, match="unknown alert kind"):
        store.set_level(["fills"], "on")
    with pytest.raises(SettingsError, match="not a valid webhook name"):
        store.set_webhook("no spaces allowed")


def test_concurrent_changes_are_not_lost(store: AlertStore) -> None:
    other = AlertStore(store.engine)
    raced = []

    def change(raw: dict[str, Any]) -> None:
        if not raced:  # another command changes the settings between our read and our write
            raced.append(other.set_level(["halted"], "silent"))
        raw.setdefault("levels", {})["fill"] = "off"

    store.change(change)
    settings = store.load()
    assert settings.level("fill") == "off" and settings.level("halted") == "silent"


def test_one_alert_leader_at_a_time(store: AlertStore) -> None:
    assert store.lead("sup-a", 60_000)
    assert not store.lead("sup-b", 60_000)
    assert store.lead("sup-a", 60_000)  # renewed
    assert store.leader()[0] == "sup-a"  # type: ignore[index]
    store.resign("sup-b")  # not the leader: changes nothing
    assert not store.lead("sup-b", 60_000)
    store.resign("sup-a")
    assert store.lead("sup-b", 60_000)
    assert store.lead("sup-b", -1)  # a lease that has already ended...
    assert store.lead("sup-a", 60_000)  # ...is taken over


@pytest.fixture
def fake() -> Iterator[FakeTelegram]:
    with FakeTelegram(make_token()) as server:
        yield server


def test_two_supervisors_one_telegram_poller(
    home: Path, sim: Any, fake: FakeTelegram, tmp_path: Path
) -> None:
    kit.set_password(home)
    ak.setup_telegram(tmp_path, fake, ak.OWNER)
    fake.add_chat(ak.OWNER)
    db = database_url(None, home)
    first = ak.start(home)
    second = None
    stopped = False
    try:
        ak.telegram_ready(first)
        second = kit.start(home, db_url=db, sid="sup-b", alerts=ak.FAST_ALERTS)
        # the second one sees the same settings and token, and stays quiet while the first leads
        kit.wait_for(lambda: second.ctx.alerts.settings.chat_id == ak.OWNER, 10, "settings read")
        polls = len(fake.calls("getUpdates"))
        kit.wait_for(lambda: len(fake.calls("getUpdates")) >= polls + 3, 30, "more polls")
        assert second.ctx.alerts.telegram is None and not second.ctx.alerts.leading
        assert fake.conflicts() == 0  # never two pollers on the token
        first.ctx.registry.add_bot(
            "grid-l", kit.grid_config("grid-l", kit.sim_mid(sim.rest)), sim_url=sim.rest
        )
        first.stop()  # the leader goes: the other takes the lease over and sends the alerts
        stopped = True
        ak.telegram_ready(second, 30)
        ak.start_bot(second, "grid-l")
        fake.wait_sent(
            ak.OWNER, lambda m: m["text"].startswith("grid-l: "), 90, "a fill sent by the new leader"
        )
    finally:
        if not stopped:
            first.stop()
        if second is not None:
            second.stop()
