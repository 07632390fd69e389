"""`okxbot serve` with 20 bots on the simulator: memory, idle CPU, API latency, page and event latency.

Setup: the simulator in its own process (bench.simproc); `okxbot serve` in its own process with a
throwaway home, 20 grid bots registered on the simulator (one simulator key: one shared client), all
started and trading. Measured, each exactly on the path its label names:
- RSS of the supervisor process with 0 bots (control: what the process costs by itself) and with
  the 20 bots running (from /proc/PID/status, VmRSS), steady state after the bots traded;
- supervisor CPU: process CPU time over `--idle` seconds with no bot running, then with the 20
  running (% of one core; /proc/PID/stat utime + stime);
- API latency: GET /api/bots and GET /api/bots/NAME alternately, paced at 50 requests/s for
  `--api` seconds (control: the achieved rate is printed; a run below 49/s proves nothing);
- first page interactive: Debian's chromium (Playwright) loads the dashboard, already logged in,
  until the 20 bot rows are in the DOM (performance.now() from navigation start), 5 loads;
- order event -> browser: for each `order` event on the live stream, from its publication in the
  supervisor (event ts_ms, the moment the order change was journaled) to the frame after the page
  applied it (Date.now() in the page; one machine, one clock).
Run: `python -m bench serve` (the lead runs the final figures on a quiet machine).
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


def _grid(name: str, mid: float, step_pct: float) -> str:
    step = round(mid * step_pct, 1)
    return (
        f'name = "{name}"\nsymbol = "BTC/USDT"\nstrategy = "grid"\n[grid]\n'
        f'lower = "{round(mid - 5 * step, 1)}"\nupper = "{round(mid + 5 * step, 1)}"\nlevels = 11\nsize = "0.001"\n'
        '[risk]\nmax_order_notional = "1000"\nmax_open_orders = 30\n[run]\npoll_seconds = 2\ndead_man_seconds = 60\n'
    )


class Served:
    def __init__(self, home: Path) -> None:
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
    latencies: list[float] = []
    start = time.monotonic()
    n = 0
    while time.monotonic() - start < seconds:
        due = start + n / rate
        pause = due - time.monotonic()
        if pause > 0:
            time.sleep(pause)  # pacing the load at `rate`
        path = "/api/bots" if n % 2 == 0 else f"/api/bots/{names[n % len(names)]}"
        t0 = time.perf_counter()
        s.http.get(path).raise_for_status()
        latencies.append((time.perf_counter() - t0) * 1000)
        n += 1
    return latencies, n / (time.monotonic() - start)


def _browser(s: Served, seconds: float) -> tuple[list[float], list[float]]:
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
            page.wait_for_function(
                f"document.querySelectorAll('tr[data-bot]').length >= {BOTS}", timeout=60_000
            )
            loads.append(page.evaluate("performance.now()"))
        # order events: publication -> applied in the page (a listener of its own on the same stream)
        page.evaluate(
            """() => { window.__lat = []; const es = new EventSource('/api/stream');
                 es.addEventListener('order', (e) => { const ts = JSON.parse(e.data).ts_ms;
                   requestAnimationFrame(() => window.__lat.push(Date.now() - ts)); }); }"""
        )
        time.sleep(seconds)  # collecting events for the measurement window
        events = page.evaluate("window.__lat")
        ctx.close()
    return loads, [float(v) for v in events]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="bench_serve")
    parser.add_argument("--bots", type=int, default=BOTS)
    parser.add_argument("--idle", type=float, default=10.0)
    parser.add_argument("--api", type=float, default=10.0)
    parser.add_argument("--events", type=float, default=10.0)
    parser.add_argument("--warmup", type=float, default=15.0)
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
            registry.add_bot(name, _grid(name, mid, 0.0004 + 0.0001 * (i % 5)), sim_url=sim.rest)
        served = Served(home)
        try:
            pid = served.proc.pid
            time.sleep(3)  # let the process settle before the control reading
            rss_empty = _rss_mb(pid)
            cpu_empty = _cpu_pct(pid, args.idle)
            for name in names:
                served.post(f"/api/bots/{name}/start", {"confirm": True})
            deadline = time.monotonic() + 180
            running = 0
            while running < len(names) and time.monotonic() < deadline:  # every bot started and reconciled
                time.sleep(0.5)
                running = sum(1 for b in served.http.get("/api/bots").json() if b["state"] == "running")
            time.sleep(args.warmup)  # steady state: grids placed, trading
            rss_full = _rss_mb(pid)
            cpu_full = _cpu_pct(pid, args.idle)
            latencies, rate = _api_latency(served, names, args.api)
            loads, events = _browser(served, args.events)
            rss_after = _rss_mb(pid)
        finally:
            served.stop()
    table = Table(title=f"okxbot serve: {args.bots} bots on the simulator, one process")
    table.add_column("measure")
    table.add_column("value", justify="right")
    table.add_column("goal", justify="right")
    table.add_row("bots running", f"{running} / {args.bots}", f"{args.bots}")
    table.add_row("RSS, supervisor with no bot (control)", f"{rss_empty:.0f} MB", "")
    table.add_row(f"RSS, supervisor with {running} bots", f"{max(rss_full, rss_after):.0f} MB", "< 1024 MB")
    table.add_row(
        "RSS per bot (increment)", f"{(max(rss_full, rss_after) - rss_empty) / max(1, running):.1f} MB", ""
    )
    table.add_row("CPU, supervisor, no bot running", f"{cpu_empty:.1f} % of a core", "< 5 %")
    table.add_row(f"CPU, supervisor with {running} bots trading", f"{cpu_full:.1f} % of a core", "")
    table.add_row("API rate achieved (control)", f"{rate:.1f} req/s", ">= 49")
    table.add_row(
        "API p50 / p99", f"{_pct(latencies, 0.5):.1f} / {_pct(latencies, 0.99):.1f} ms", "p99 < 50 ms"
    )
    table.add_row("first page interactive (median of 5)", f"{statistics.median(loads):.0f} ms", "< 1000 ms")
    table.add_row(
        f"order event -> browser, p50 / p99 ({len(events)} events)",
        f"{_pct(events, 0.5):.0f} / {_pct(events, 0.99):.0f} ms",
        "< 1000 ms",
    )
    console.print(table)


if __name__ == "__main__":
    main(sys.argv[1:])
