"""Debian's chromium driven by Playwright (its Python package ships the driver; no browser download)."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tests.servers import unavailable

ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


def chromium_path() -> str:
    for candidate in (
        "/usr/bin/chromium",
        shutil.which("chromium") or "",
        shutil.which("chromium-browser") or "",
    ):
        if candidate and os.path.exists(candidate):
            return candidate
    unavailable("Debian's chromium is not installed (.ci/run installs it)")
    raise AssertionError("unreachable")


@contextmanager
def browser_page(viewport: tuple[int, int] = (1440, 1000), bypass_csp: bool = True) -> Iterator[Any]:
    """A fresh headless chromium profile and one page; a browser that cannot start fails under CI."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        unavailable("the playwright package is not installed (pip install -e .[dev])")
    executable = chromium_path()
    profile = tempfile.mkdtemp(prefix="okxbot-chromium-")
    with sync_playwright() as p:
        try:
            context = p.chromium.launch_persistent_context(
                profile,
                executable_path=executable,
                headless=True,
                args=ARGS,  # the fresh --user-data-dir is the persistent context's own `profile`
                viewport={"width": viewport[0], "height": viewport[1]},
                env=dict(os.environ, HOME=profile),
                # Playwright's waits evaluate strings, which the dashboard's CSP forbids; without the
                # CSP the escaping test is also stricter: only escaping stands between markup and the DOM
                bypass_csp=bypass_csp,
            )
        except Exception as err:
            unavailable(f"chromium did not start: {err}")
        try:
            page = context.new_page()
            page.set_default_timeout(30_000)
            yield page
        finally:
            context.close()
            shutil.rmtree(profile, ignore_errors=True)


@contextmanager
def screenshot_on_failure(page: Any, name: str) -> Iterator[None]:
    try:
        yield
    except BaseException:
        ARTIFACTS.mkdir(exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        try:
            page.screenshot(path=str(path), full_page=True)
            print(f"screenshot of the failure: {path}")
        except Exception as err:  # the page itself may be gone
            print(f"no screenshot: {err}")
        raise
