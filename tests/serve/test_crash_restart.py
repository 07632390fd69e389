"""`okxbot serve` killed without a word (SIGKILL: no clean stop, its bots' orders left open on the
exchange) and started again on the same machine: it takes its bots back at once (same supervisor id,
its own leases), reconciles them from the journal first (the open orders adopted, none foreign, none
doubled) and trades on."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

from tests.serve import kit


class Serve:
    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "okxbot", "serve", "--port", "0"],
            env=dict(os.environ), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, text=True,
        )  # fmt: skip
        self.url = ""
        self.output: list[str] = []
        found = threading.Event()

        def read() -> None:
            assert self.proc.stdout is not None
            for line in self.proc.stdout:
                self.output.append(line)
                match = re.search(r"dashboard at (\S+)/ ", line)
                if match:
                    self.url = match.group(1)
                    found.set()

        threading.Thread(target=read, daemon=True).start()
        if not found.wait(120):
            self.proc.kill()
            raise AssertionError("okxbot serve did not start:\n" + "".join(self.output[-40:]))

    def finish(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(90)
            except subprocess.TimeoutExpired:
                self.proc.kill()


def _open_ids(view: dict[str, Any]) -> set[str]:
    return {o["client_order_id"] for o in view["status"].get("orders") or []}


def test_a_killed_supervisor_takes_its_bots_back_when_started_again(home: Path, sim: Any) -> None:
    kit.set_password(home)
    first = Serve()
    second: Serve | None = None
    try:
        c = kit.Client(first.url)
        assert c.login().status_code == 200 and c.unlock().status_code == 200
        added = c.post(
            "/api/bots",
            {"config": kit.grid_config("grid-k", kit.sim_mid(sim.rest)), "sim_url": sim.rest, "start": True},
        )
        assert added.status_code == 201, added.text
        view = kit.wait_for(
            lambda: (v := kit.bot_view(c, "grid-k"))["state"] == "running" and _open_ids(v) and v,
            90,
            "grid-k trading",
        )
        c.close()
        first.proc.send_signal(signal.SIGKILL)
        first.proc.wait(30)
        left_open = _open_ids(view)

        second = Serve()
        c = kit.Client(second.url)
        assert c.login().status_code == 200

        def back() -> dict[str, Any] | None:
            view = kit.bot_view(c, "grid-k")
            ok = view["state"] == "running" and view["local"] and view["status"].get("reconciliation")
            return view if ok else None

        view = kit.wait_for(back, 90, "grid-k running again on the restarted supervisor")
        rec = view["status"]["reconciliation"]
        assert rec["foreign"] == 0 and rec["journal_open_before"] > 0, rec
        # the orders the killed process left were adopted, not placed again beside themselves
        view = kit.wait_for(
            lambda: (v := kit.bot_view(c, "grid-k")) and _open_ids(v) and v, 30, "open orders"
        )
        levels = [(o["side"], o["price"]) for o in view["status"]["orders"]]
        assert len(levels) == len(set(levels)), f"a grid level holds two orders: {sorted(levels)}"
        assert _open_ids(view) & left_open, "every order left open was replaced instead of adopted"
        assert c.unlock().status_code == 200
        assert c.post("/api/bots/grid-k/stop", {"confirm": True}).status_code == 200
        c.close()
    finally:
        if first.proc.poll() is None:
            first.proc.kill()
        if second is not None:
            second.finish()
