"""Structured JSON-lines logs for a running bot; secrets are scrubbed by okxbot.vault.redact."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from okxbot.vault import redact

_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


class JsonLines(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        body = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                body[key] = value if isinstance(value, int | float | bool | type(None)) else str(value)
        if record.exc_info:
            body["exc"] = self.formatException(record.exc_info)
        # the record factory scrubs messages; extras and tracebacks are scrubbed here as well
        return redact.scrub(json.dumps(body, ensure_ascii=False))


def json_log_handler(path: Path, level: int = logging.INFO) -> logging.Handler:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(JsonLines())
    handler.setLevel(level)
    return handler


@contextmanager
def bot_json_log(path: Path) -> Iterator[logging.Handler]:
    """Send okxbot's log records to a JSON-lines file (and not the terminal) while a bot runs.

    The status view owns the terminal, so records stop propagating to the root logger; on exit the
    logger is restored exactly, so that a caller running several commands in one process (tests, an
    embedding program) keeps its own logging.
    """
    logger = logging.getLogger("okxbot")
    handler = json_log_handler(path)
    saved = (logger.level, logger.propagate)
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    try:
        yield handler
    finally:
        logger.removeHandler(handler)
        logger.setLevel(saved[0])
        logger.propagate = saved[1]
        handler.close()
