"""Backtest reports in the API: the results `okxbot backtest CONFIG --out DATA_DIR/backtests/NAME` wrote.

    GET /api/backtests                   one row per report: name, bot, strategy, symbol, period, metrics
    GET /api/backtests/{name}            its summary, every metric and its round-trip trades (the JSON of
                                         `okxbot backtest report DIR --json`)
    GET /api/backtests/{name}/report     its report.html, under a Content-Security-Policy that lets only
                                         the page's own inline script and style run (their hashes)

Read scope. A report is a directory under DATA_DIR/backtests holding result.json (and report.html);
names are plain directory names (no path reaches outside that directory). Results are read once per
change of their file (a year of 1m bars is tens of MB) in FastAPI's thread pool, never on the loop.
"""

from __future__ import annotations

import base64
import hashlib
import re
import threading
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse

from okxbot.serve.guard import Caller, context, reader

router = APIRouter(tags=["backtests"])
BACKTESTS_DIR = "backtests"
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")
# the headline figures of the list; the detail has every metric
LISTED = ("net_profit", "total_return", "max_drawdown", "sharpe", "trades", "win_rate", "fees_paid")
_INLINE = re.compile(r"<(script|style)>(.*?)</\1>", re.DOTALL)

_cache: dict[Path, tuple[tuple[int, int], dict[str, Any]]] = {}
_cache_lock = threading.Lock()


def reports_dir(home: Path) -> Path:
    return home / BACKTESTS_DIR


def _report(home: Path, name: str) -> Path:
    if not NAME.match(name):
        raise HTTPException(404, f"no backtest report {name!r}")
    folder = reports_dir(home) / name
    if not (folder / "result.json").is_file():
        raise HTTPException(404, f"no backtest report {name!r} (DATA_DIR/{BACKTESTS_DIR}/{name}/result.json)")
    return folder


def _read(folder: Path) -> dict[str, Any]:
    """The report's JSON (summary, metrics, trades), read again only when result.json changed."""
    from okxbot.backtest import result_file
    from okxbot.backtest.report import report_json

    file = folder / result_file.RESULT_FILE
    stat = file.stat()
    stamp = (stat.st_mtime_ns, stat.st_size)
    with _cache_lock:
        cached = _cache.get(file)
    if cached is not None and cached[0] == stamp:
        return cached[1]
    try:
        data = report_json(result_file.load(file))
    except result_file.ResultFileError as err:
        raise HTTPException(422, str(err)) from None
    with _cache_lock:
        _cache[file] = (stamp, data)
    return data


@router.get(
    "/api/backtests", summary="Backtest reports (okxbot backtest CONFIG --out DATA_DIR/backtests/NAME)"
)
def backtests(request: Request, caller: Caller = Depends(reader)) -> list[dict[str, Any]]:
    root = reports_dir(context(request).home)
    rows = []
    folders = sorted(root.iterdir(), key=lambda p: p.stat().st_mtime, reverse=True) if root.is_dir() else []
    for folder in folders:
        if not NAME.match(folder.name) or not (folder / "result.json").is_file():
            continue
        try:
            data = _read(folder)
        except HTTPException as err:
            rows.append({"name": folder.name, "error": err.detail})
            continue
        metrics = data.get("metrics") or {}
        rows.append(
            {
                "name": folder.name,
                **{
                    k: data.get(k)
                    for k in ("bot", "strategy", "symbol", "bar", "start_ms", "end_ms", "halted")
                },
                "metrics": {k: metrics.get(k) for k in LISTED if k in metrics},
                "report": (folder / "report.html").is_file(),
            }
        )
    return rows


@router.get("/api/backtests/{name}", summary="One backtest report: summary, every metric, round-trip trades")
def backtest(name: str, request: Request, caller: Caller = Depends(reader)) -> dict[str, Any]:
    return {"name": name, **_read(_report(context(request).home, name))}


@router.get(
    "/api/backtests/{name}/report",
    summary="A backtest's report.html (charts, metrics, trades)",
    response_class=HTMLResponse,
)
def backtest_page(name: str, request: Request, caller: Caller = Depends(reader)) -> HTMLResponse:
    page = _report(context(request).home, name) / "report.html"
    if not page.is_file():
        raise HTTPException(
            404, f"backtest {name!r} has no report.html (okxbot backtest report DIR writes it)"
        )
    html = page.read_text(encoding="utf-8")
    hashes: dict[str, list[str]] = {"script": [], "style": []}
    for kind, body in _INLINE.findall(html):
        digest = base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()
        hashes[kind].append(f"'sha256-{digest}'")
    scripts = " ".join(hashes["script"]) or "'none'"
    styles = " ".join(hashes["style"]) or "'none'"
    policy = (
        f"default-src 'none'; script-src {scripts}; style-src {styles}; img-src data:; base-uri 'none'; "
        "form-action 'none'; frame-ancestors 'none'"
    )
    return HTMLResponse(html, headers={"Content-Security-Policy": policy})
