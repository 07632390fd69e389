"""Credentials in the OS keyring (macOS Keychain, Windows Credential Locker, Secret Service, KWallet).

One keyring entry per profile: service "okxbot", user = profile name, value = the three values as
JSON.

`choose()` decides which keyring backend, if any, okxbot trusts with a key. `keyring` picks the
backend with the highest priority among those installed, and some of those are no safe place for a
key: keyrings.alt's file backends keep it in plain text, or encrypted with a key stored beside it
(its PlaintextKeyring and the "encrypted" ones whose password sits in the same directory), and a
backend that `keyring` itself rates at priority <= 0 is one it considers unsuitable (its "fail" and
"null" backends mean "no keyring here"). okxbot never takes those as an OS keyring: it uses its own
encrypted vault file instead and says why in one line. When `keyring` returns its chainer (several
backends at once), okxbot looks through the chain in the chainer's own order and uses the first
backend it trusts directly, so a key is never written to a plain-text backend further down the chain.
OKXBOT_KEYRING=off forces the file even where a trusted keyring exists.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any

from okxbot.vault.errors import VaultError
from okxbot.vault.secret import Credentials, Secret

SERVICE = "okxbot"
OFF_ENV = "OKXBOT_KEYRING"
NO_KEYRING = "no OS keyring backend on this machine"


@dataclass(frozen=True)
class KeyringChoice:
    """The keyring backend okxbot uses (None: the encrypted file) and the sentence saying why.

    `refused` is set when a keyring backend exists but okxbot would not trust it with a key: the one
    line the user is shown when okxbot falls back to its file.
    """

    backend: Any | None
    description: str
    refused: str = ""


def _installed() -> Any:
    import keyring

    return keyring.get_keyring()


def distrust(backend: Any) -> str | None:
    """Why okxbot does not store keys in `backend`, or None when it is an OS keyring it trusts."""
    from keyring.backends import chainer, fail, null

    name = f"{type(backend).__module__}.{type(backend).__qualname__}"
    if isinstance(backend, fail.Keyring | null.Keyring | chainer.ChainerBackend):
        return NO_KEYRING
    if type(backend).__module__.startswith("keyrings.alt"):
        return (
            f"{name} is not an OS keyring: keyrings.alt's backends keep secrets in a file, in plain text or "
            "encrypted with a key stored beside it"
        )
    if "plaintext" in name.lower():
        return f"{name} keeps secrets in plain text"
    try:
        priority = float(backend.priority)
    except Exception as err:  # keyring raises from `priority` for a backend that cannot work here
        return f"{name} cannot be used here ({err.__class__.__name__}: {err})"
    if priority <= 0:
        return f"{name} has priority {priority:g}: keyring itself rates it unsuitable"
    return None


def choose() -> KeyringChoice:
    """The keyring okxbot stores keys in, or why it uses its encrypted file (see the module docstring)."""
    if os.environ.get(OFF_ENV, "").strip().lower() in ("off", "0", "no", "false"):
        return KeyringChoice(None, f"{OFF_ENV}=off")
    try:
        installed = _installed()
    except Exception as err:  # a broken keyring configuration is the same as none
        return KeyringChoice(None, f"keyring failed to load ({err.__class__.__name__})")
    from keyring.backends import chainer

    candidates = list(installed.backends) if isinstance(installed, chainer.ChainerBackend) else [installed]
    refusals = []
    for backend in candidates:
        why = distrust(backend)
        if why is None:
            kind = f"{type(backend).__module__}.{type(backend).__qualname__}"
            return KeyringChoice(backend, f"OS keyring ({kind})")
        if why != NO_KEYRING:
            refusals.append(why)
    if refusals:
        return KeyringChoice(None, refusals[0], refused=refusals[0])
    return KeyringChoice(None, NO_KEYRING)


def keyring_available() -> tuple[bool, str]:
    """(usable, description of the backend or why not) for the message shown to the user."""
    choice = choose()
    return choice.backend is not None, choice.description


def _keyring(name: str) -> Any:
    choice = choose()
    if choice.backend is None:
        raise VaultError(
            f"profile {name!r} is kept in the OS keyring, and okxbot has no trusted keyring now "
            f"({choice.description})",
            "run okxbot where that keyring is available (e.g. in your desktop session), or add the key "
            f"again: `okxbot keys remove {name}` then `okxbot keys add {name}`",
        )
    return choice.backend


def get(name: str) -> Credentials | None:
    backend = _keyring(name)
    try:
        raw = backend.get_password(SERVICE, name)
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
    backend = _keyring(name)
    try:
        backend.set_password(SERVICE, name, value)
    except Exception as err:
        raise VaultError(
            f"the OS keyring refused to store the key ({err.__class__.__name__})",
            "unlock your keyring and retry, or set OKXBOT_KEYRING=off to use the encrypted vault file",
        ) from None


def delete(name: str) -> bool:
    from keyring.errors import PasswordDeleteError

    try:
        _keyring(name).delete_password(SERVICE, name)
    except PasswordDeleteError:
        return False
    return True
