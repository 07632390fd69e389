"""Keys replaced and revoked under running bots (`okxbot run` processes on the simulator):
`keys rotate BOT --auto` while a grid bot trades loses and doubles no order and the old key is refused
afterwards; `panic --master` with three bots running revokes every sub-account key and leaves no open
order; a hand-rotated key is picked up by its running bot too."""

from __future__ import annotations

import contextlib
import json
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from reliability.bot import audit

from okxbot.trading.journal import Journal
from okxbot.vault.profiles import ProfileStore
from tests.sim.okx_http import signed
from tests.subacct_kit import (
    add_profile,
    grid_config,
    home,
    master_key,
    mid,
    okxbot,
    open_orders,
    provision,
    start_bot,
    stored_key,
    sub_uid,
    wait,
)

__all__ = ["home"]
pytestmark = pytest.mark.timeout(300)


@contextlib.contextmanager
def moving_market(sim: Any, pct: str = "0.15") -> Iterator[None]:
    """The price swings up and down around the grid, so that its orders fill while the test runs."""
    stop = threading.Event()

    def swing() -> None:
        sign = 1
        while not stop.wait(0.4):
            sim.admin(
                "POST", "/__sim__/price", {"instId": "BTC-USDT", "movePct": f"{'' if sign > 0 else '-'}{pct}"}
            )
            sign = -sign

    thread = threading.Thread(target=swing, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=10)


def filled_since(sim: Any, uid: str, ms: int) -> int:
    """Orders of `uid` that filled (fully) after `ms`."""
    orders = sim.admin("GET", f"/__sim__/orders?uid={uid}")["orders"]
    return sum(1 for o in orders if o["state"] == "filled" and int(o["uTime"]) > ms)


def refused(sim: Any, key: dict[str, Any]) -> str:
    return str(signed(sim.rest, key, "GET", "/api/v5/account/balance").json()["code"])


def finish(bot: Any) -> str:
    bot.send_signal(signal.SIGTERM)
    out = bot.communicate(timeout=90)[0]
    assert bot.returncode == 0, out
    return str(out)


def test_rotation_while_a_grid_bot_trades_loses_and_doubles_nothing(
    sim: Any, home: Path, tmp_path: Path
) -> None:
    master = master_key(sim)
    add_profile(sim, "main", master)
    provision("rot-grid", "--budget", "USDT=3000", "--budget", "BTC=0.05")
    sub = ProfileStore().get("rot-grid").sub_acct
    uid = sub_uid(sim, master["uid"], sub)
    old = stored_key("rot-grid")
    config = grid_config(tmp_path / "grid.toml", "rot-grid", mid(sim), levels=8, step="0.0008")
    bot = start_bot(home, config, "rot-grid")
    try:
        wait(lambda: len(open_orders(sim, uid)) >= 5, 90, "the grid's first orders")
        with moving_market(sim):
            # the grid trades (fills, re-quotes) before the rotation ...
            wait(lambda: filled_since(sim, uid, 0) > 0, 90, "a fill before the rotation")
            rotated_ms = int(time.time() * 1000)
            result = okxbot("keys", "rotate", "rot-grid", "--auto", "--json")
            report = json.loads(result.stdout)[0]
            assert result.exit_code == 0 and report["notDone"] == [], result.output
            # ... and goes on trading on the new key afterwards: new orders, and fills of them
            wait(
                lambda: any(int(o["cTime"]) > rotated_ms + 500 for o in open_orders(sim, uid)),
                60,
                "new orders",
            )
            wait(lambda: filled_since(sim, uid, rotated_ms + 500) > 0, 90, "a fill after the rotation")
    finally:
        out = finish(bot) if bot.poll() is None else str(bot.communicate()[0])
    assert any("moved onto the new key and reconciled" in line for line in report["done"])
    assert "the old key is refused by OKX (50111)" in report["done"]
    assert refused(sim, old) == "50111"
    new = stored_key("rot-grid")
    assert new["apiKey"] != old["apiKey"] and refused(sim, new) == "0"
    keys = sim.admin("GET", f"/__sim__/subaccounts?uid={master['uid']}")["subaccounts"][0]["keys"]
    assert [k["apiKey"] for k in keys] == [new["apiKey"]]
    journal = Journal(f"sqlite:///{home / 'journal.sqlite'}", "rot-grid")
    try:
        result_audit = audit(sim, uid, [journal])
        placed_after = [o for o in journal.orders() if o.client_order_id]  # every order of the run
    finally:
        journal.close()
    assert result_audit.duplicates == 0, result_audit.examples
    assert result_audit.missing_in_journal == 0, result_audit.examples
    assert result_audit.state_mismatches == 0 and result_audit.unresolved == 0, result_audit.examples
    assert result_audit.fill_mismatches == 0, result_audit.examples
    assert result_audit.fills_exchange > 0, "the grid never filled: the test traded nothing"
    assert len(placed_after) == result_audit.exchange_orders + sum(
        1 for o in placed_after if o.state == "rejected"
    )
    logs = (home / "logs" / "rot-grid.jsonl").read_text()
    assert "moved onto the new key" in logs and old["secretKey"] not in logs and new["secretKey"] not in logs
    assert "journal reconciled" in out


def test_panic_master_with_three_bots_running_revokes_every_key_and_leaves_no_order(
    sim: Any, home: Path, tmp_path: Path
) -> None:
    master = master_key(sim, balances={"USDT": "100000", "BTC": "2"})
    add_profile(sim, "main", master)
    names = ["p-one", "p-two", "p-three"]
    for name in names:
        provision(name, "--budget", "USDT=2000", "--budget", "BTC=0.03")
    # a key made by hand on one sub-account: not okxbot's, kept unless --all-keys
    hand_sub = ProfileStore().get("p-two").sub_acct
    hand_uid = sub_uid(sim, master["uid"], hand_sub)
    sim.admin("POST", "/__sim__/keys", {"uid": hand_uid, "perm": "read_only", "label": "handmade"})
    px = mid(sim)
    bots = []
    for name in names:
        # the bots keep their orders when stopped, so that panic itself must cancel them
        config = grid_config(tmp_path / f"{name}.toml", name, px, levels=6, step="0.002",
                             cancel_on_stop=False, dead_man=False)  # fmt: skip
        bots.append(start_bot(home, config, name))
    uids = {name: sub_uid(sim, master["uid"], ProfileStore().get(name).sub_acct) for name in names}
    outputs: dict[str, str] = {}
    try:
        for name, bot in zip(names, bots, strict=True):
            try:
                wait(lambda name=name: len(open_orders(sim, uids[name])) >= 4, 90, f"{name}'s orders")
            except AssertionError:
                if bot.poll() is None:
                    bot.kill()
                outputs[name] = bot.communicate(timeout=30)[0]
                raise AssertionError(
                    f"{name}'s orders not reached; the bot said: {outputs[name][-3000:]}"
                ) from None
        result = okxbot("panic", "--master", "main", "--json", "--bot-wait", "60")
    finally:
        for name, bot in zip(names, bots, strict=True):
            if name in outputs:
                continue
            if bot.poll() is None:
                bot.kill()
            bot.communicate(timeout=30)
    report = json.loads(result.stdout)
    assert sorted(report["botsStopped"]) == sorted(names)
    by_sub = {s["subAccount"]: s for s in report["subAccounts"]}
    assert len(by_sub) == 3
    for name in names:
        entry = by_sub[ProfileStore().get(name).sub_acct]
        assert entry["ordersLeft"] == 0 and entry["ordersCanceled"] >= 4, entry
        assert len(entry["keysDeleted"]) == 1, entry
        assert open_orders(sim, uids[name]) == []
        assert ProfileStore().get(name).disabled
    # the hand-made key was kept and said so; the exit status says not everything was done
    assert by_sub[hand_sub]["keysKept"] != [] and "not made by okxbot" in by_sub[hand_sub]["notDone"][0]
    assert result.exit_code == 1
    subs = sim.admin("GET", f"/__sim__/subaccounts?uid={master['uid']}")["subaccounts"]
    assert [k["label"] for s in subs for k in s["keys"]] == ["handmade"]
    for bot in bots:
        assert bot.returncode == 0  # each stopped cleanly on SIGTERM
    # --all-keys (confirmed with --yes) deletes the rest; the bots' keys stay refused
    again = okxbot("panic", "--master", "main", "--all-keys", "--yes", "--return-funds", "--json")
    assert again.exit_code == 0, again.output
    subs = sim.admin("GET", f"/__sim__/subaccounts?uid={master['uid']}")["subaccounts"]
    assert [k for s in subs for k in s["keys"]] == []
    moved = [line for s in json.loads(again.stdout)["subAccounts"] for line in s["fundsMoved"]]
    assert len(moved) >= 3


def test_a_hand_rotated_key_is_taken_by_the_running_bot(sim: Any, home: Path, tmp_path: Path) -> None:
    master = master_key(sim)
    add_profile(sim, "main", master)
    provision("hand-rot", "--budget", "USDT=3000", "--budget", "BTC=0.03")
    sub = ProfileStore().get("hand-rot").sub_acct
    uid = sub_uid(sim, master["uid"], sub)
    config = grid_config(tmp_path / "grid.toml", "hand-rot", mid(sim), levels=6, step="0.002")
    bot = start_bot(home, config, "hand-rot")
    try:
        wait(lambda: len(open_orders(sim, uid)) >= 4, 90, "the grid's orders")
        made = sim.admin("POST", "/__sim__/keys", {"uid": uid, "perm": "read_only,trade", "label": "byhand1"})
        env = {
            "OKX_API_KEY": made["apiKey"],
            "OKX_SECRET_KEY": made["secretKey"],
            "OKX_PASSPHRASE": made["passphrase"],
        }
        result = okxbot("keys", "rotate", "hand-rot", "--from-env", **env)
        assert result.exit_code == 0, result.output
        assert "moved onto the new key" in result.output and "--auto" in result.output
    finally:
        out = finish(bot)
    assert "journal reconciled" in out
    stats = sim.admin("GET", "/__sim__/stats")["uids"]
    assert stats.get(uid, 0) > 0
