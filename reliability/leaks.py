"""Leaks: every command and a bot run with DEBUG logging on for okxbot, ccxt and aiohttp; then every
place a secret could surface is searched for the key, the secret, the passphrase and every request
signature actually sent (recorded by a proxy in front of the simulator).
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import traceback
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from okxbot.okx.client import ClientConfig, OkxClient
from okxbot.okx.errors import OkxError
from okxbot.sim.server import RunningSim
from okxbot.vault import redact
from reliability.bot import Bot
from reliability.checks import Check, Sizes
from reliability.env import credentials, key_env, new_key, scratch_home
from reliability.proxy import Proxy

SECTION = "leaks"
# a signature is base64 of a 32-byte HMAC-SHA256: 44 characters ending in "="
SIGNATURE_FIELD = re.compile(r"OK-ACCESS-SIGN['\"]?\s*[:=]\s*['\"]?([A-Za-z0-9+/]{43}=)")
GRID = """name = "leak-grid"
symbol = "BTC/USDT"
strategy = "grid"
[grid]
lower = "41000"
upper = "45000"
levels = 6
size = "0.001"
[run]
poll_seconds = 0.5
"""
LOGGERS = ("", "okxbot", "ccxt", "aiohttp", "asyncio", "urllib3")


@contextmanager
def debug_log(path: Path) -> Iterator[None]:
    handler = logging.FileHandler(path)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    handler.setLevel(logging.DEBUG)
    root = logging.getLogger()
    levels = {name: logging.getLogger(name).level for name in LOGGERS}
    root.addHandler(handler)
    for name in LOGGERS:
        logging.getLogger(name).setLevel(logging.DEBUG)
    try:
        yield
    finally:
        root.removeHandler(handler)
        handler.close()
        for name, level in levels.items():
            logging.getLogger(name).setLevel(level)


def _commands(url: str) -> list[tuple[list[str], str]]:
    """(arguments, which credentials): "env" = the trading key, "wrong" = a wrong passphrase, "" = none."""
    profile = ["--profile", "main", "--sim", url]
    wrong = ["--profile", "wrong", "--sim", url]
    return [
        (["keys", "add", "main", "--from-env", "--sim", url], "env"),
        (["keys", "add", "wrong", "--from-env", "--sim", url], "wrong"),
        (["keys", "list"], ""),
        (["keys", "list", "--json"], ""),
        (["keys", "show", "main"], ""),
        (["keys", "show", "main", "--json"], ""),
        (["doctor", *profile], ""),
        (["doctor", *profile, "--json"], ""),
        (["doctor", *wrong, "--json"], ""),
        (["balance", *profile], ""),
        (["balance", *profile, "--json"], ""),
        (["balance", *wrong], ""),
        (["ticker", "BTC/USDT", *profile], ""),
        (["book", "ETH/USDT", *profile], ""),
        (["buy", "BTC/USDT", "0.001", "--price", "30000", *profile], ""),
        (["buy", "ETH/USDT", "0.01", "--price", "1500", *profile, "--json"], ""),
        (["sell", "BTC/USDT", "5000", "--price", "90000", *profile], ""),
        (["buy", "BTC/USDT", "0.001", "--price", "30000", *wrong], ""),
        (["orders", *profile], ""),
        (["orders", *profile, "--json"], ""),
        (["fills", *profile], ""),
        (["cancel", "--all", *profile], ""),
        (["buy", "SOL/USDT", "0.1", "--price", "60", *profile], ""),
        (["run", "{config}", "--seconds", "1", "--no-live", *profile], ""),
        (["stop", "leak-grid", "--wait", "1"], ""),
        (["panic", *profile], ""),
        (["panic", *profile, "--json"], ""),
        (["keys", "rotate", "main", "--from-env"], "env"),
        (["keys", "remove", "main", "--yes"], ""),
    ]


def _error_texts(err: BaseException) -> str:
    texts = [str(err), repr(err), "".join(traceback.format_exception(err))]
    if isinstance(err, OkxError):
        texts.append(json.dumps(err.as_dict(), default=str))
    return "\n".join(texts)


async def _bot_run(
    proxy: Proxy, sim: RunningSim, key: dict[str, Any], wrong: dict[str, Any], home: Path, intents: int
) -> list[str]:
    """A bot session through the proxy, faults included, so that error paths log too."""
    creds = credentials(key)
    # what `okxbot run` does on start: scrub all logs, register the secrets it resolved
    redact.install()
    redact.register(creds.values())
    texts: list[str] = []
    config = ClientConfig(
        rest_url=proxy.url, ws_url=sim.ws, timeout_ms=1000, exp_time_ms=1500, disk_cache=False
    )
    async with OkxClient(config, creds) as client:
        await client.stream_ticker("BTC/USDT")
        bot = await Bot.start(client, f"sqlite:///{home / 'journal.sqlite'}", "leaks", seed=5)
        kinds = ("drop", "delay", "50001", "http500", "50013")
        for n in range(intents):
            if n % 4 == 0:
                body: dict[str, Any] = {
                    "path": "/api/v5/trade/order",
                    "count": 1,
                    "kind": kinds[n // 4 % len(kinds)],
                }
                if body["kind"] == "delay":
                    body["delayMs"] = 1500
                sim.admin("POST", "/__sim__/faults", body)
            await bot.step(*bot.choose())
        sim.call(sim.ctx.faults.clear)
        await bot.settle()
        texts += bot.errors
        await bot.close()
    bad_creds = credentials(wrong)
    redact.register(bad_creds.values())
    async with OkxClient(ClientConfig(rest_url=proxy.url, disk_cache=False), bad_creds) as client:
        for call in (
            client.fetch_balance(),
            client.account_config(),
            client.create_order("BTC/USDT", "buy", "1", "1"),
        ):
            try:
                await call
            except Exception as exc:
                texts.append(_error_texts(exc))
    texts += [repr(creds), str(creds)]
    return texts


def run(sim: RunningSim, sizes: Sizes) -> list[Check]:
    from typer.testing import CliRunner

    from okxbot.cli.main import app

    key = new_key(sim)
    other = new_key(sim, perm="read_only")
    wrong = dict(other, passphrase="Wrong-Passphrase-77")  # noqa: S106 (a deliberately wrong one)
    runner = CliRunner()
    texts: dict[str, str] = {}
    with scratch_home("leaks") as home, Proxy(sim.rest) as proxy:
        log_path = home.parent / "debug.log"
        home.mkdir(parents=True, exist_ok=True)
        config = home.parent / "grid.toml"
        config.write_text(GRID)
        commands = [
            ([str(config) if a == "{config}" else a for a in args], which)
            for args, which in _commands(proxy.url)
        ]
        failed_to_run = []
        with debug_log(log_path):
            for args, which in commands:
                sim.admin("POST", "/__sim__/reset-limits")
                env = key_env(key) if which == "env" else key_env(wrong) if which == "wrong" else None
                result = runner.invoke(app, args, env=env)
                # `okxbot run` hands okxbot's records to its own JSON log (scanned as a file): route
                # them to the DEBUG log again for the commands after it
                logging.getLogger("okxbot").propagate = True
                logging.getLogger("okxbot").setLevel(logging.DEBUG)
                name = "okxbot " + " ".join(a if a != proxy.url else "URL" for a in args)
                texts[f"stdout+stderr of {name}"] = f"{result.stdout}\n{result.stderr}"
                if result.exception is not None and not isinstance(result.exception, SystemExit):
                    texts[f"exception of {name}"] = _error_texts(result.exception)
                    failed_to_run.append(f"{name}: {type(result.exception).__name__}")
            texts["bot run: exceptions and errors"] = "\n".join(
                asyncio.run(_bot_run(proxy, sim, key, wrong, home, max(12, sizes.intents // 6)))
            )
        log = log_path.read_text(errors="replace")
        texts["DEBUG log (okxbot, ccxt, aiohttp)"] = log
        files = {p: p.read_bytes() for p in home.rglob("*") if p.is_file()}
        for path, blob in files.items():
            texts[f"file {path.relative_to(home)}"] = blob.decode("utf-8", errors="replace")
        signatures = set(proxy.signatures)
    secrets = {
        "API key": [key["apiKey"], other["apiKey"]],
        "secret key": [key["secretKey"], other["secretKey"]],
        "passphrase": [key["passphrase"], wrong["passphrase"]],
        "request signature": sorted(signatures),
    }
    found: list[str] = []
    for where, text in texts.items():
        for what, values in secrets.items():
            for value in values:
                forms = {value, urllib.parse.quote(value, safe=""), urllib.parse.quote_plus(value)}
                if any(f in text for f in forms):
                    found.append(f"{what} in {where}")
        if SIGNATURE_FIELD.search(text):
            found.append(f"signature-shaped OK-ACCESS-SIGN value in {where}")
    for path, blob in files.items():
        for what, values in secrets.items():
            if any(v.encode() in blob for v in values):
                found.append(f"{what} in raw bytes of {path.name}")
    serve_found, serve_places = _serve_leaks(sim)
    # the search must be able to find something: ccxt really logged signed requests at DEBUG
    logged = "OK-ACCESS-SIGN" in log and "OK-ACCESS-PASSPHRASE" in log
    searched = sum(len(v) for v in secrets.values())
    return [
        Check(
            SECTION,
            "places searched (outputs, exception texts, DEBUG log, files incl. journal, report)",
            len(texts),
            False,
            f"{len(commands)} commands + a bot run; {searched} secret values incl. "
            f"{len(signatures)} signatures sent; files: {', '.join(sorted({p.name for p in files}))}",
        ),
        Check(
            SECTION,
            "ccxt's DEBUG log of signed requests was missing (the scan would prove nothing)",
            0 if logged else 1,
            True,
        ),
        Check(
            SECTION,
            "commands that crashed instead of failing cleanly",
            len(failed_to_run),
            True,
            "; ".join(failed_to_run[:3]),
        ),
        Check(
            SECTION,
            "secret, passphrase, signature or full API key found",
            len(found),
            True,
            "; ".join(found[:4]),
        ),
        Check(
            SECTION,
            "okxbot serve: key secret, dashboard password, API token, session cookie, Telegram token or "
            "webhook secret found",
            len(serve_found),
            True,
            "; ".join(serve_found[:4])
            or f"{serve_places} pages, API answers, stream, logs, files, Telegram messages and webhook "
            "deliveries searched",
        ),
    ]


def _serve_leaks(sim: RunningSim) -> tuple[list[str], int]:
    """A bot under `okxbot serve` with Telegram and webhook alerts on, every page / API answer / log /
    file / alert searched (reliability.serve_leaks)."""
    from typer.testing import CliRunner

    from okxbot.cli.main import app
    from reliability.serve_leaks import collect

    key = new_key(sim)
    found: list[str] = []
    with scratch_home("serve-leaks") as home:
        home.mkdir(parents=True, exist_ok=True)
        CliRunner().invoke(app, ["keys", "add", "main", "--from-env", "--sim", sim.rest], env=key_env(key))
        texts, extra = collect(sim, home, "main")
    secrets = {
        "API key": [key["apiKey"]],
        "secret key": [key["secretKey"]],
        "passphrase": [key["passphrase"]],
    }
    for where, text in texts.items():
        for what, values in {**secrets, **extra}.items():
            if any(v in text or urllib.parse.quote(v, safe="") in text for v in values):
                found.append(f"{what} in {where}")
        if SIGNATURE_FIELD.search(text):
            found.append(f"signature-shaped OK-ACCESS-SIGN value in {where}")
    return found, len(texts)
