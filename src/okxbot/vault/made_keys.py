"""The keys okxbot made on sub-accounts: how `okxbot keys list --master` tells them from the others.

A key's label on OKX is free text anyone with the master key can copy, so okxbot keeps its own
record: the SHA-256 fingerprint of every API key it created (never the key itself, never a secret),
with the sub-account, the master profile and the bot profile it was made for, and whether okxbot has
deleted it since. The list lives in OKXBOT_HOME/made-keys.json (mode 0600), replaced atomically
under a lock like the profile list.

    made = MadeKeys()
    made.record(api_key, master="main", sub_acct="gridbtc0427", profile="grid-btc", label="okxbot...")
    made.find(api_key) -> MadeKey | None;  made.retire(api_key);  made.all()
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

from okxbot.vault.atomic import exclusive, write_atomic
from okxbot.vault.errors import VaultError
from okxbot.vault.home import okxbot_home
from okxbot.vault.profiles import now_iso
from okxbot.vault.secret import Secret


def fingerprint(api_key: str) -> str:
    return hashlib.sha256(api_key.encode()).hexdigest()


@dataclass
class MadeKey:
    fingerprint: str
    hint: str  # the key's last 4 characters, as okxbot shows keys
    master: str
    sub_acct: str
    profile: str
    label: str
    created: str
    deleted: str = ""  # when okxbot deleted it on OKX ("" while it exists)


class MadeKeys:
    FILE = "made-keys.json"

    def __init__(self, home: Path | None = None) -> None:
        self.home = home or okxbot_home()
        self.path = self.home / self.FILE
        self._lock = self.home / ".made-keys.lock"

    def all(self) -> list[MadeKey]:
        return list(self._read().values())

    def find(self, api_key: str) -> MadeKey | None:
        return self._read().get(fingerprint(api_key))

    def record(self, api_key: str, *, master: str, sub_acct: str, profile: str, label: str) -> None:
        hint = Secret(api_key).masked()
        entry = MadeKey(fingerprint(api_key), hint, master, sub_acct, profile, label, now_iso())

        def change(keys: dict[str, MadeKey]) -> None:
            keys[entry.fingerprint] = entry

        self._modify(change)

    def retire(self, api_key: str) -> None:
        """The key was deleted on OKX (kept in the list: a key okxbot deleted is still one it made)."""

        def change(keys: dict[str, MadeKey]) -> None:
            entry = keys.get(fingerprint(api_key))
            if entry is not None and not entry.deleted:
                entry.deleted = now_iso()

        self._modify(change)

    def _modify(self, change: Callable[[dict[str, MadeKey]], None]) -> None:
        with exclusive(self._lock, "list of keys okxbot made"):
            keys = self._read()
            change(keys)
            body = {"version": 1, "keys": [asdict(k) for k in keys.values()]}
            write_atomic(self.path, (json.dumps(body, indent=2) + "\n").encode())

    def _read(self) -> dict[str, MadeKey]:
        try:
            raw = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return {}
        known = {f.name for f in fields(MadeKey)}
        try:
            body: Any = json.loads(raw)
            entries = [MadeKey(**{k: v for k, v in e.items() if k in known}) for e in body["keys"]]
        except (ValueError, KeyError, TypeError) as err:
            raise VaultError(
                f"the list of keys okxbot made ({self.path}) is damaged ({err.__class__.__name__})",
                "restore it from a backup; without it `okxbot keys list --master` flags every key as "
                "not made by okxbot",
            ) from None
        return {e.fingerprint: e for e in entries}
