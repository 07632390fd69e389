"""Which okxbot bots are running on this machine: one pid file per bot under OKXBOT_HOME/run/.

`okxbot run` calls `register_bot` when a bot starts and `unregister_bot` when it stops; `okxbot panic`
calls `running_bots` and sends SIGTERM to each. File name `<bot>.pid`; content, one JSON object:
{"pid": 1234, "bot": "grid-btc", "profile": "main", "started": "2026-01-01T00:00:00Z", "config": "grid.toml"}.
A pid file whose process is gone (a crash) is stale and is removed when found.

Key swaps (`okxbot keys rotate`): the rotating process sends SIGHUP to every bot of the profile and
waits until each has written `<bot>.key` = {"pid", "profile", "generation", "ts"}: the key generation
(`Profile.generation`) the bot now signs with (`ack_key` / `acked_generation`). Only then is the old
key deleted.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from okxbot.vault.atomic import write_atomic
from okxbot.vault.home import okxbot_home

_SAFE = re.compile(r"[^A-Za-z0-9_.-]+")


@dataclass(frozen=True)
class BotRecord:
    pid: int
    bot: str
    profile: str | None
    started: str
    config: str = ""


def run_dir(home: Path | None = None) -> Path:
    path = (home or okxbot_home()) / "run"
    path.mkdir(mode=0o700, exist_ok=True)
    return path


def pid_file(bot: str, home: Path | None = None) -> Path:
    return run_dir(home) / f"{_SAFE.sub('_', bot) or 'bot'}.pid"


def register_bot(
    bot: str, profile: str | None, config: str = "", *, pid: int | None = None, home: Path | None = None
) -> Path:
    """Record that this process (or `pid`) runs `bot`; returns the pid file to pass to `unregister_bot`."""
    record = BotRecord(
        pid=pid or os.getpid(),
        bot=bot,
        profile=profile,
        started=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        config=config,
    )
    path = pid_file(bot, home)
    write_atomic(path, json.dumps(asdict(record)).encode())
    return path


def unregister_bot(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        path.unlink()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by someone else
    return True


def running_bots(home: Path | None = None) -> list[BotRecord]:
    """The bots whose process still exists; stale and unreadable pid files are removed."""
    alive = []
    for path in sorted(run_dir(home).glob("*.pid")):
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
            record = BotRecord(**raw)
        except (OSError, ValueError, TypeError):
            unregister_bot(path)
            continue
        if _alive(record.pid):
            alive.append(record)
        else:
            unregister_bot(path)
    return alive


def key_file(bot: str, home: Path | None = None) -> Path:
    return run_dir(home) / f"{_SAFE.sub('_', bot) or 'bot'}.key"


def ack_key(bot: str, profile: str, generation: int, *, home: Path | None = None) -> None:
    """Written by a running bot once it signs with key `generation` of `profile`."""
    body = {
        "pid": os.getpid(),
        "profile": profile,
        "generation": generation,
        "ts": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    write_atomic(key_file(bot, home), json.dumps(body).encode())


def acked_generation(record: BotRecord, home: Path | None = None) -> int | None:
    """The key generation the running bot `record` said it uses (None: not said, or another process)."""
    try:
        raw = json.loads(key_file(record.bot, home).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(raw, dict) or raw.get("pid") != record.pid or raw.get("profile") != record.profile:
        return None
    generation = raw.get("generation")
    return generation if isinstance(generation, int) else None


def bots_on(profile: str, home: Path | None = None) -> list[BotRecord]:
    """The running bots that trade with `profile`."""
    return [b for b in running_bots(home) if b.profile == profile]
