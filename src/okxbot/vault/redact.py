"""Scrub API secrets from every log record, whoever logs it (okxbot, ccxt, aiohttp, python-okx).

ccxt logs each request's headers at DEBUG (OK-ACCESS-KEY, OK-ACCESS-PASSPHRASE, OK-ACCESS-SIGN) and
python-okx prints them in debug mode. Credentials are registered here when they are loaded; the
installed hook replaces every registered value, and every signature whatever its value, before any
handler sees the record. The hook sits in the log-record factory rather than on a logger, because a
logger's filters do not see records propagated from child loggers such as `ccxt.base.exchange`.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import urllib.parse
from collections.abc import Iterable

MASK = "********"

_lock = threading.Lock()
_values: set[str] = set()
_pattern: re.Pattern[str] | None = None
_installed = False

# Header and login-argument values that are secret whatever they are (a signature changes every request).
_FIELD = re.compile(
    r"""(?ix)
    ( (?:OK-ACCESS-(?:SIGN|KEY|PASSPHRASE)|["']?(?:sign|passphrase|apiKey|secretKey|secret)["']?)
      ["']?\s*[:=]\s*["']? )
    ( [^"',\s}\]]+ )
    """
)


# A Telegram bot token ("<bot id>:<35 characters>"), wherever it appears: python-telegram-bot and httpx
# log request URLs (https://api.telegram.org/bot<TOKEN>/getUpdates) at DEBUG and INFO, and a token
# must be masked even before (or without) being registered.
_TELEGRAM_TOKEN = re.compile(r"(?<![0-9])\d{5,}:[A-Za-z0-9_-]{30,}")


def forms(value: str) -> set[str]:
    """Every way `value` can appear in a log line: as is, URL-encoded, JSON-escaped, repr-escaped.

    A value holding a quote, a backslash or a non-ASCII character is written differently by
    `json.dumps` (ensure_ascii on or off), by `repr` (how ccxt's DEBUG log shows request headers, and
    how a dict holding a JSON body shows it: escapes on escapes) and by URL encoding; each form is
    scrubbed, so none of them prints the secret.
    """
    plain = {
        value,
        json.dumps(value)[1:-1],
        json.dumps(value, ensure_ascii=False)[1:-1],
        urllib.parse.quote(value, safe=""),
        urllib.parse.quote_plus(value),
    }
    found = set(plain)
    for form in plain:
        found.add(repr(form)[1:-1])  # also what f"{x!r}" and a dict's or list's repr show
        found.add(ascii(form)[1:-1])
        found.add(repr(form.encode("utf-8"))[2:-1])  # bytes, as a log of a raw body shows them
    return {f for f in found if f}


def register(values: Iterable[str]) -> None:
    """Remember secret values to scrub, in all their `forms`; short values are ignored."""
    global _pattern
    added = False
    with _lock:
        for value in values:
            # Very short strings would scrub ordinary words; real OKX secrets are long.
            if not value or len(value) < 6:
                continue
            for form in forms(value):
                if form not in _values:
                    _values.add(form)
                    added = True
        if added:
            ordered = sorted(_values, key=len, reverse=True)
            _pattern = re.compile("|".join(re.escape(v) for v in ordered))


def scrub(text: str) -> str:
    """`text` with every registered secret and every signature-like field value masked."""
    pattern = _pattern
    if pattern is not None:
        text = pattern.sub(MASK, text)
    text = _TELEGRAM_TOKEN.sub(MASK, text)
    return _FIELD.sub(lambda m: m.group(1) + MASK, text)


def _scrub_record(record: logging.LogRecord) -> logging.LogRecord:
    try:
        message = record.getMessage()
    except Exception:  # a broken format string must not hide the record, nor leak its args
        message = f"{record.msg!s} (unformattable arguments)"
    record.msg = scrub(message)
    record.args = None
    if record.exc_info and record.exc_info[0] is not None:
        record.exc_text = scrub(logging.Formatter().formatException(record.exc_info))
        # Keep the text only: a handler that re-formats exc_info would bypass the scrubbing.
        record.exc_info = None
    elif record.exc_text:
        record.exc_text = scrub(record.exc_text)
    if record.stack_info:
        record.stack_info = scrub(record.stack_info)
    return record


class RedactingFilter(logging.Filter):
    """A handler filter doing the same scrubbing, for handlers built before `install()` ran."""

    def filter(self, record: logging.LogRecord) -> bool:
        _scrub_record(record)
        return True


def install() -> None:
    """Scrub every log record created from now on in this process (idempotent)."""
    global _installed
    with _lock:
        if _installed:
            return
        _installed = True
    previous = logging.getLogRecordFactory()

    def factory(*args: object, **kwargs: object) -> logging.LogRecord:
        return _scrub_record(previous(*args, **kwargs))

    logging.setLogRecordFactory(factory)
    for handler in logging.getLogger().handlers:
        handler.addFilter(RedactingFilter())
