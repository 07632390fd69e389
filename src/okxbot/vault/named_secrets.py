"""The vault's other entries: secrets that are not OKX keys (a Telegram bot token, webhook secrets).

They are kept like OKX keys: in a trusted OS keyring (service "okxbot-secret", user "KIND/NAME") when
there is one, else in the encrypted vault file `vault.bin` (its "secrets" section, master password).
Which of the two holds an entry is noted in OKXBOT_HOME/secrets.json (names and places only, never a
value), so that a later process looks in the right place. Every value is registered for log scrubbing
when it is stored or loaded.

Kinds (`KINDS`), each with its fields and which of them are secret:
    telegram  token (secret: the bot token "123456:AA..."), api_url (the one host the token is sent to)
    webhook   url (secret: webhook URLs often embed a token), secret (the HMAC signing secret)
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Mapping
from typing import TYPE_CHECKING

from okxbot.vault import keyring_backend, redact
from okxbot.vault.atomic import exclusive, write_atomic
from okxbot.vault.errors import VaultError
from okxbot.vault.profiles import check_name, now_iso
from okxbot.vault.secret import Secret

if TYPE_CHECKING:
    from okxbot.vault.store import Vault

SERVICE = "okxbot-secret"
INDEX = "secrets.json"
KINDS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    # kind: (fields, the secret ones among them)
    "telegram": (("token", "api_url"), ("token",)),
    "webhook": (("url", "secret"), ("url", "secret")),
}


def register_for_scrubbing(kind: str, values: Mapping[str, str]) -> None:
    """Make log scrubbing mask an entry's secret values (a bot token's secret half too)."""
    secret_fields = KINDS[kind][1]
    found = [values[f] for f in secret_fields if values.get(f)]
    if kind == "telegram" and ":" in values.get("token", ""):
        found.append(values["token"].split(":", 1)[1])
    redact.register(found)


class NamedSecrets:
    """Store, load and delete the entries of one vault (see the module docstring)."""

    def __init__(self, vault: Vault) -> None:
        self.vault = vault
        self.index_path = vault.home / INDEX
        self._lock = vault.home / ".secrets.lock"

    def put(self, kind: str, name: str, values: Mapping[str, str]) -> str:
        """Store (or replace) an entry; returns the sentence saying where it went."""
        fields, _ = _kind(kind)
        check_name(name)
        missing = [f for f in fields if not values.get(f)]
        if missing:
            raise VaultError(f"a {kind} entry needs {', '.join(missing)}", "give every value")
        plain = {f: str(values[f]) for f in fields}
        register_for_scrubbing(kind, plain)
        key = f"{kind}/{name}"
        choice = keyring_backend.choose()
        with exclusive(self._lock, "secret list"):
            index = self._read_index()
            previous = index.get(key, {}).get("backend")
            if choice.backend is not None:
                try:
                    choice.backend.set_password(SERVICE, key, json.dumps(plain))
                except Exception as err:
                    raise VaultError(
                        f"the OS keyring refused to store the {kind} secret ({err.__class__.__name__})",
                        "unlock your keyring and retry, or set OKXBOT_KEYRING=off to use the vault file",
                    ) from None
                backend, where = "keyring", f"Stored in the {choice.description}."
            else:
                self.vault.file.put_entry(key, plain)
                backend, where = "file", f"Stored in the encrypted vault file {self.vault.file.path}."
            if previous and previous != backend:  # moved: the old copy must not linger
                self._delete_from(previous, key)
            index[key] = {"backend": backend, "stored": now_iso()}
            self._write_index(index)
        return where

    def get(self, kind: str, name: str) -> dict[str, Secret] | None:
        """The entry's values (None: no such entry); registers them for log scrubbing."""
        _kind(kind)
        key = f"{kind}/{name}"
        place = self._read_index().get(key)
        if place is None:
            return None
        if place.get("backend") == "keyring":
            choice = keyring_backend.choose()
            if choice.backend is None:
                raise VaultError(
                    f"the {kind} secret {name!r} is kept in the OS keyring, and okxbot has no trusted keyring "
                    f"now ({choice.description})",
                    "run okxbot where that keyring is available, or store the secret again (it then goes to "
                    "the encrypted vault file)",
                )
            try:
                raw = choice.backend.get_password(SERVICE, key)
            except Exception as err:
                raise VaultError(
                    f"the OS keyring refused to give the {kind} secret ({err.__class__.__name__})",
                    "unlock your keyring (log in to the desktop session) and retry",
                ) from None
            values = json.loads(raw) if raw else None
        else:
            values = self.vault.file.get_entry(key)
        if values is None:
            raise VaultError(
                f"the {kind} secret {name!r} is listed in {self.index_path} but missing from its "
                f"{place.get('backend')}",
                f"store it again (okxbot serve {kind} ...)",
            )
        register_for_scrubbing(kind, values)
        return {k: Secret(v) for k, v in values.items()}

    def delete(self, kind: str, name: str) -> bool:
        _kind(kind)
        key = f"{kind}/{name}"
        with exclusive(self._lock, "secret list"):
            index = self._read_index()
            place = index.pop(key, None)
            if place is None:
                return False
            self._delete_from(str(place.get("backend")), key)
            self._write_index(index)
        return True

    def names(self, kind: str) -> list[str]:
        _kind(kind)
        return sorted(k.split("/", 1)[1] for k in self._read_index() if k.startswith(kind + "/"))

    def _delete_from(self, backend: str, key: str) -> None:
        if backend == "keyring":
            from keyring.errors import PasswordDeleteError

            choice = keyring_backend.choose()
            if choice.backend is not None:
                with contextlib.suppress(PasswordDeleteError):
                    choice.backend.delete_password(SERVICE, key)
        else:
            self.vault.file.delete_entry(key)

    def _read_index(self) -> dict[str, dict[str, str]]:
        try:
            raw = self.index_path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return {}
        try:
            return dict(json.loads(raw)["entries"])
        except (ValueError, KeyError, TypeError) as err:
            raise VaultError(
                f"the secret list {self.index_path} is damaged ({err.__class__.__name__})",
                "restore it from a backup, or delete it and store the Telegram token and webhooks again",
            ) from None

    def _write_index(self, index: dict[str, dict[str, str]]) -> None:
        body = {"version": 1, "entries": dict(sorted(index.items()))}
        write_atomic(self.index_path, (json.dumps(body, indent=2) + "\n").encode())


def _kind(kind: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    if kind not in KINDS:
        raise VaultError(f"unknown kind of secret {kind!r}", f"use one of {', '.join(sorted(KINDS))}")
    return KINDS[kind]
