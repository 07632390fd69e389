"""Credentials in the OS keyring (macOS Keychain, Windows Credential Locker, Secret Service, KWallet).

One keyring entry per profile: service "okxbot", user = profile name, value = the three values as
JSON. A keyring counts as real only when `keyring` found an actual store: its "fail" and "null"
backends (and a chainer with nothing in it) mean "no keyring here", and okxbot then uses the
encrypted file instead. OKXBOT_KEYRING=off forces the file even where a keyring exists.
"""

from __future__ import annotations

import json
import os
from typing import Any

from okxbot.vault.errors import VaultError
from okxbot.vault.secret import Credentials, Secret

SERVICE = "okxbot"


def _keyring() -> Any:
    import keyring

    return keyring.get_keyring()


def keyring_available() -> tuple[bool, str]:
    """(usable, description of the backend or why not) for the message shown to the user."""
    if os.environ.get("OKXBOT_KEYRING", "").strip().lower() in ("off", "0", "no", "false"):
        return False, "OKXBOT_KEYRING=off"
    try:
        backend = _keyring()
    except Exception as err:  # a broken keyring configuration is the same as none
        return False, f"keyring failed to load ({err.__class__.__name__})"
    from keyring.backends import chainer, fail, null

    if isinstance(backend, fail.Keyring | null.Keyring):
        return False, "no OS keyring backend on this machine"
    if isinstance(backend, chainer.ChainerBackend) and not backend.backends:
        return False, "no OS keyring backend on this machine"
    return True, f"OS keyring ({backend.__class__.__module__}.{backend.__class__.__name__})"


def get(name: str) -> Credentials | None:
    try:
        raw = _keyring().get_password(SERVICE, name)
    except Exception as err:
        raise VaultError(
            f"the OS keyring refused to give the key of profile {name!r} ({err.__class__.__name__})",
            "unlock your keyring (log in to the desktop session) and retry",
        ) from None
    if raw is None:
        return None
    try:
        values = json.loads(raw)
        return Credentials(
            Secret(values["api_key"]), Secret(values["secret_key"]), Secret(values["passphrase"])
        )
    except (ValueError, KeyError, TypeError):
        raise VaultError(
            f"the keyring entry okxbot/{name} is damaged",
            f"re-enter the values with `okxbot keys rotate {name}`",
        ) from None


def put(name: str, credentials: Credentials) -> None:
    api_key, secret_key, passphrase = credentials.values()
    value = json.dumps({"api_key": api_key, "secret_key": secret_key, "passphrase": passphrase})
    try:
        _keyring().set_password(SERVICE, name, value)
    except Exception as err:
        raise VaultError(
            f"the OS keyring refused to store the key ({err.__class__.__name__})",
            "unlock your keyring and retry, or set OKXBOT_KEYRING=off to use the encrypted vault file",
        ) from None


def delete(name: str) -> bool:
    from keyring.errors import PasswordDeleteError

    try:
        _keyring().delete_password(SERVICE, name)
    except PasswordDeleteError:
        return False
    return True
