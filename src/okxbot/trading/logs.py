"""Structured JSON-lines logs for a running bot; secrets are scrubbed by okxbot.vault.redact."""

from __future__ import annotations

import json
import logging
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
