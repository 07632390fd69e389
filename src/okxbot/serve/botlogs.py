"""Each bot's log lines, although all bots log from one process: JSON lines per bot, recent lines kept.

A bot's task (and every task it creates) runs with `current_bot` set, so any okxbot log record made
on its behalf is tagged with its name and goes to DATA_DIR/logs/<bot>.jsonl (secrets scrubbed by the
JSON formatter); records of no bot go to DATA_DIR/logs/serve.jsonl. The last lines of each bot are
kept in memory for the dashboard, which shows them as text (never as HTML).
"""

from __future__ import annotations

import contextvars
import json
import logging
import re
from collections import deque
from pathlib import Path
from typing import Any

from okxbot.trading.logs import JsonLines

current_bot: contextvars.ContextVar[str] = contextvars.ContextVar("okxbot_serve_bot", default="")
_SAFE = re.compile(r"[^A-Za-z0-9_.-]+")
KEEP = 200


class BotLogs(logging.Handler):
    def __init__(self, directory: Path, level: int = logging.INFO) -> None:
        super().__init__(level)
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.setFormatter(JsonLines())
        self._files: dict[str, Any] = {}
        self.recent: dict[str, deque[dict[str, Any]]] = {}

    def emit(self, record: logging.LogRecord) -> None:
        try:
            bot = getattr(record, "bot", None) or current_bot.get()
            if not getattr(record, "bot", None):
                record.bot = bot
            line = self.format(record)
            name = bot or "serve"
            stream = self._files.get(name)
            if stream is None:
                path = self.directory / f"{_SAFE.sub('_', name) or 'bot'}.jsonl"
                stream = self._files[name] = path.open("a", encoding="utf-8")
            stream.write(line + "\n")
            stream.flush()
            self.recent.setdefault(name, deque(maxlen=KEEP)).append(json.loads(line))
        except Exception:
            self.handleError(record)

    def lines(self, bot: str, limit: int = 100) -> list[dict[str, Any]]:
        return list(self.recent.get(bot, ()))[-limit:]

    def close(self) -> None:
        for stream in self._files.values():
            stream.close()
        self._files.clear()
        super().close()


def install(directory: Path) -> BotLogs:
    """Route okxbot's log records to per-bot files while `okxbot serve` runs; `uninstall` restores."""
    handler = BotLogs(directory)
    logger = logging.getLogger("okxbot")
    handler.saved = (logger.level, logger.propagate)  # type: ignore[attr-defined]
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    return handler


def uninstall(handler: BotLogs) -> None:
    logger = logging.getLogger("okxbot")
    logger.removeHandler(handler)
    level, _propagate = getattr(handler, "saved", (logging.NOTSET, True))
    logger.setLevel(level)
    handler.close()
