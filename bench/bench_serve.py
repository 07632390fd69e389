"""`okxbot serve` with 20 bots on the simulator: memory, idle CPU, API latency, page and event latency.

Setup: the simulator in its own process (bench.simproc); `okxbot serve` in its own process with a
throwaway home, 20 grid bots registered on the simulator (one simulator key: one shared client).
Measured, each exactly on the path its label names:
- supervisor CPU (% of one core; /proc/PID/stat utime + stime over `--idle` seconds): with no bot
  (control: the process by itself), then with the 20 bots running idle (the goal's case: every grid
  placed 3 % or more below the price, its orders resting, nothing to do but follow the market), then
  with the 20 bots trading (grids around the price);
- RSS of the supervisor process (/proc/PID/status, VmRSS) with 0 bots (control) and with the 20
  bots running, idle and trading (the highest reading counts);
- API latency: GET /api/bots and GET /api/bots/NAME alternately, scheduled at 50 requests/s for
  `--api` seconds, bots trading, each timed from its scheduled moment (a stall delays every request
  behind it; control: the achieved rate is printed, a run below 49/s proves nothing);
- first page interactive: Debian's chromium (Playwright) loads the dashboard, already logged in,
  until the 20 bot rows are in the DOM (performance.now() from navigation start, read in the page
  at that moment), 5 loads;
- order event -> the browser: each `order` event, from its publication in the supervisor (event
  ts_ms, when the order manager journaled the change) to the DOM mutation that put its row into the
  overview's "Recent events" table (a MutationObserver's Date.now(); one machine, one clock). The
  page's own count of order events that arrived on the stream is the control: events arrived but
  never shown would make the figure look better than the page is.
Run: `python -m bench serve [--bots N --idle S --api S --events S --warmup S]` (the lead runs the
final figures on a quiet machine).
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.table import Table

from bench.simproc import sim_process

BOTS = 20
PASSWORD = "bench dashboard password 2048"  # noqa: S105 (a throwaway home)


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _cpu_pct(pid: int, seconds: float) -> float:
    before, t0 = _cpu_s(pid), time.monotonic()
    time.sleep(seconds)  # a measurement window, not a synchronisation
    return 100 * (_cpu_s(pid) - before) / (time.monotonic() - t0)


def _grid(name: str, mid: float, step_pct: float, *, below_pct: float = 0.0) -> str:
    """A grid around `mid` (trading within seconds), or, with `below_pct`, one whose 11 levels all
    lie that far below it: its buys rest on the book and the bot has nothing more to do (idle)."""
    step = round(mid * step_pct, 1)
    centre = mid * (1 - below_pct / 100)
    return (
        f'name = "{name}"\nsymbol = "BTC/USDT"\nstrategy = "grid"\n[grid]\n'
        f'lower = "{round(centre - 5 * step, 1)}"\nupper = "{round(centre + 5 * step, 1)}"\nlevels = 11\nsize = "0.001"\n'
        '[risk]\nmax_order_notional = "1000"\nmax_open_orders = 30\n[run]\npoll_seconds = 2\ndead_man_seconds = 60\n'
    )


class Served:
    def __init__(self, home: Path, bots: int) -> None:
        self.bots = bots
        env = dict(os.environ, OKXBOT_HOME=str(home), OKXBOT_KEYRING="off")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "okxbot", "serve", "--port", "0"],
            env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )  # fmt: skip
        self.url = ""
        ready = threading.Event()

        def read() -> None:
            assert self.proc.stdout is not None
            for line in self.proc.stdout:
                match = re.search(r"dashboard at (\S+)/ ", line)
                if match:
                    self.url = match.group(1)
                    ready.set()

        threading.Thread(target=read, daemon=True).start()
        if not ready.wait(120):
            self.proc.kill()
            raise RuntimeError("okxbot serve did not start")
        self.http = httpx.Client(base_url=self.url, timeout=60)
        r = self.http.post("/api/login", json={"password": PASSWORD})
        r.raise_for_status()
        self.csrf = r.json()["csrf"]
        self.post("/api/session/control", {"password": PASSWORD})

    def post(self, path: str, body: Any) -> Any:
        r = self.http.post(path, json=body, headers={"X-CSRF-Token": self.csrf})
        r.raise_for_status()
        return r.json()

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(120)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def _api_latency(
    s: Served, names: list[str], seconds: float, rate: float = 50.0
) -> tuple[list[float], float]:
    """Requests on a fixed schedule of `rate` per second; each latency runs from the request's
    scheduled time (not from when a late client got round to sending it), so that a server stall
    counts for every request it delayed (no coordinated omission)."""
    latencies: list[float] = []
    start = time.monotonic()
    n = 0
    while time.monotonic() - start < seconds:
        due = start + n / rate
        pause = due - time.monotonic()
        if pause > 0:
            time.sleep(pause)  # pacing the load at `rate`
        path = "/api/bots" if n % 2 == 0 else f"/api/bots/{names[n % len(names)]}"
        s.http.get(path).raise_for_status()
        latencies.append((time.monotonic() - due) * 1000)
        n += 1
    return latencies, n / (time.monotonic() - start)


# Every order event's row in the overview's "Recent events" table, timed from the event's publication
# in the supervisor (its ts_ms) to the DOM mutation that put the row in the page (Date.now() in a
# MutationObserver; one machine, one clock). Counted: the order events a stream of the page's own
# received during the window (control: any of them never shown, e.g. pushed out of the 30-row table
# within one frame, is reported, so that a figure over the shown ones cannot flatter the page).
WATCH_ROWS = """async () => {
  window.__shown = new Map(); window.__arrived = new Set();
  const stream = new EventSource('/api/stream');
  await new Promise((resolve) => stream.addEventListener('hello', resolve));
  stream.addEventListener('order', (e) => {
    const d = JSON.parse(e.data); window.__arrived.add(`${d.origin}:${d.seq}`);
  });
  new MutationObserver((records) => {
    const now = Date.now();
    for (const record of records) for (const node of record.addedNodes) {
      if (!(node instanceof Element)) continue;
      const rows = node.matches('tr[data-kind=order][data-seq]') ? [node]
        : node.querySelectorAll('tr[data-kind=order][data-seq]');
      for (const tr of rows) {
        if (!window.__shown.has(tr.dataset.seq)) window.__shown.set(tr.dataset.seq, now - Number(tr.dataset.ts));
      }
    }
  }).observe(document.body, { childList: true, subtree: true });
}"""
# read once the window is over and the last arrivals had a moment to render
COLLECT_ROWS = """() => {
  const arrived = [...window.__arrived];
  return { latencies: arrived.filter((k) => window.__shown.has(k)).map((k) => window.__shown.get(k)),
           arrived: arrived.length };
}"""


def _browser(s: Served, seconds: float) -> tuple[list[float], list[float], int]:
    from playwright.sync_api import sync_playwright

    profile = tempfile.mkdtemp(prefix="okxbot-bench-chromium-")
    loads: list[float] = []
    with sync_playwright() as p:
        ctx = p.chromium.launch_persistent_context(
            profile, executable_path="/usr/bin/chromium", headless=True, bypass_csp=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"],
        )  # fmt: skip
        cookie = s.http.cookies.get("okxbot_session") or ""
        ctx.add_cookies([{"name": "okxbot_session", "value": cookie, "url": s.url}])
        page = ctx.new_page()
        for _ in range(5):
            page.goto(s.url + "/")
            # the time is read in the page at the moment every row is there (performance.now():
            # from the start of the navigation), not after a round trip back to Python
            shown = page.wait_for_function(
                f"document.querySelectorAll('tr[data-bot]').length >= {s.bots} && performance.now()",
                timeout=60_000,
            )
            loads.append(float(shown.json_value()))
        page.wait_for_selector("tr[data-seq]", timeout=60_000)
        page.evaluate(WATCH_ROWS)
        time.sleep(seconds)  # collecting events for the measurement window
        page.evaluate("new Promise((resolve) => setTimeout(resolve, 1000))")  # last rows rendered
        collected = page.evaluate(COLLECT_ROWS)
        events, arrived = collected["latencies"], int(collected["arrived"])
        ctx.close()
    return loads, [float(v) for v in events], arrived


def _start_all(served: Served, names: list[str]) -> int:
    for name in names:
        served.post(f"/api/bots/{name}/start", {"confirm": True})
    deadline = time.monotonic() + 180
    running = 0
    while running < len(names) and time.monotonic() < deadline:  # every bot started and reconciled
        time.sleep(0.5)
        running = sum(1 for b in served.http.get("/api/bots").json() if b["state"] == "running")
    return running


def _stop_all(served: Served, names: list[str]) -> None:
    for name in names:
        served.post(f"/api/bots/{name}/stop", {"confirm": True})


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench serve", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--bots", type=int, default=BOTS, help=f"grid bots to run (default {BOTS}, the goal's case)"
    )
    parser.add_argument(
        "--idle", type=float, default=10.0, help="seconds each CPU reading lasts (default 10)"
    )
    parser.add_argument(
        "--api", type=float, default=10.0, help="seconds of API requests at 50 per second (default 10)"
    )
    parser.add_argument(
        "--events",
        type=float,
        default=10.0,
        help="seconds of order events timed into the browser page (default 10)",
    )
    parser.add_argument(
        "--warmup",
        type=float,
        default=15.0,
        help="seconds given the bots to place their grids before measuring (default 15)",
    )
    args = parser.parse_args(argv if argv is not None else [])
    console = Console()
    with sim_process() as sim, tempfile.TemporaryDirectory(prefix="okxbot-bench-serve-") as tmp:
        home = Path(tmp) / "home"
        home.mkdir(mode=0o700)
        os.environ["OKXBOT_HOME"] = str(home)
        os.environ["OKXBOT_KEYRING"] = "off"
        from okxbot.serve.access import AccessStore
        from okxbot.serve.db import database_url, open_engine
        from okxbot.serve.passwords import hash_password
        from okxbot.serve.registry import Registry

        engine = open_engine(database_url(None, home))
        AccessStore(engine).set_password_hash(hash_password(PASSWORD))
        ticker = httpx.get(f"{sim.rest}/api/v5/market/ticker?instId=BTC-USDT", timeout=10).json()["data"][0]
        mid = (float(ticker["bidPx"]) + float(ticker["askPx"])) / 2  # only to place the grids
        names = [f"grid-{i:02d}" for i in range(args.bots)]
        registry = Registry(engine)
        for i, name in enumerate(names):
            registry.add_bot(name, _grid(name, mid, 0.0004, below_pct=3.0 + 0.1 * i), sim_url=sim.rest)
        served = Served(home, len(names))
        try:
            pid = served.proc.pid
            time.sleep(3)  # let the process settle before the control reading
            rss_empty = _rss_mb(pid)
            cpu_empty = _cpu_pct(pid, args.idle)
            # the goal's case: the bots running, with nothing to do (their orders resting out of reach)
            idle_running = _start_all(served, names)
            time.sleep(args.warmup)  # steady state: every grid placed
            rss_idle = _rss_mb(pid)
            cpu_idle = _cpu_pct(pid, args.idle)
            _stop_all(served, names)
            for i, name in enumerate(names):
                registry.add_bot(
                    name, _grid(name, mid, 0.0004 + 0.0001 * (i % 5)), sim_url=sim.rest, replace=True
                )
            running = _start_all(served, names)
            time.sleep(args.warmup)  # steady state: grids placed, trading
            rss_full = _rss_mb(pid)
            cpu_full = _cpu_pct(pid, args.idle)
            latencies, rate = _api_latency(served, names, args.api)
            loads, events, arrived = _browser(served, args.events)
            rss_after = _rss_mb(pid)
        finally:
            served.stop()
    table = Table(title=f"okxbot serve: {args.bots} bots on the simulator, one process")
    table.add_column("measure")
    table.add_column("value", justify="right")
    table.add_column("goal", justify="right")
    table.add_row("bots running", f"{running} / {args.bots}", f"{args.bots}")
    table.add_row("RSS, supervisor with no bot (control)", f"{rss_empty:.0f} MB", "")
    rss_most = max(rss_idle, rss_full, rss_after)
    table.add_row(f"RSS, supervisor with {running} bots (highest reading)", f"{rss_most:.0f} MB", "< 1024 MB")
    table.add_row("RSS per bot (increment)", f"{(rss_most - rss_empty) / max(1, running):.1f} MB", "")
    table.add_row("CPU, supervisor, no bot (control)", f"{cpu_empty:.1f} % of a core", "")
    table.add_row(
        f"CPU, supervisor with {idle_running} bots running, idle (orders resting)",
        f"{cpu_idle:.1f} % of a core",
        "< 5 %",
    )
    table.add_row(f"CPU, supervisor with {running} bots trading", f"{cpu_full:.1f} % of a core", "")
    table.add_row("API rate achieved (control)", f"{rate:.1f} req/s", ">= 49")
    table.add_row(
        "API p50 / p99", f"{_pct(latencies, 0.5):.1f} / {_pct(latencies, 0.99):.1f} ms", "p99 < 50 ms"
    )
    table.add_row("first page interactive (median of 5)", f"{statistics.median(loads):.0f} ms", "< 1000 ms")
    table.add_row(
        f"order event -> its row on the page, p50 / p99 ({len(events)} shown of {arrived} arrived)",
        f"{_pct(events, 0.5):.0f} / {_pct(events, 0.99):.0f} ms",
        "< 1000 ms",
    )
    console.print(table)


if __name__ == "__main__":
    main(sys.argv[1:])
