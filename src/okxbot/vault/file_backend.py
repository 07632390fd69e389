"""The encrypted vault file: credentials at rest when no OS keyring is available.

Format (version 1), all integers big-endian:

    magic  b"OKXBOTV\\0"   8 bytes
    version                1 byte   (1)
    kdf                    1 byte   (1 = scrypt)
    log2(N), r, p          1 byte each (scrypt cost; OWASP minimum N=2^17, r=8, p=1)
    salt                   16 bytes (random, new for every new password)
    check                  16 bytes (SHA-256 of the key-check half of the derived key, truncated)
    nonce                  12 bytes (random, new for every write)
    ciphertext + GCM tag   AES-256-GCM over the JSON body; the whole header is authenticated data

The JSON body is `{"profiles": {name: {api_key, secret_key, passphrase}}, "secrets": {key: {...}}}`:
"secrets" holds the vault's other entries (`okxbot.vault.named_secrets`: a Telegram bot token, webhook
signing secrets); a file without it reads as having none.

The check value lets a wrong password be told apart from a damaged file: it says nothing an attacker
could not learn by trying the password against the ciphertext, which costs the same scrypt work.
Writes go through `write_atomic` under an exclusive lock; the file must be mode 0600.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import stat
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from okxbot.vault.atomic import exclusive, write_atomic
from okxbot.vault.errors import VaultError
from okxbot.vault.secret import Credentials, Secret

MAGIC = b"OKXBOTV\0"
VERSION = 1
KDF_SCRYPT = 1
DEFAULT_LOG2_N, DEFAULT_R, DEFAULT_P = 17, 8, 1
_HEAD = struct.Struct(">8sBBBBB16s16s12s")
MIN_PASSWORD_LEN = 10


@dataclass(frozen=True)
class _Kdf:
    log2_n: int
    r: int
    p: int
    salt: bytes


def _derive(password: Secret, kdf: _Kdf) -> tuple[bytes, bytes]:
    material = Scrypt(salt=kdf.salt, length=64, n=2**kdf.log2_n, r=kdf.r, p=kdf.p).derive(
        password.reveal().encode("utf-8")
    )
    key, check_key = material[:32], material[32:]
    return key, hashlib.sha256(check_key).digest()[:16]


class PasswordSource(Protocol):
    """Where the master password comes from; see `store.MasterPassword` for the order."""

    def get(self, *, new: bool) -> Secret:
        """The password; `new` when a vault is being created (ask twice, enforce a minimum length)."""
        ...


class VaultFile:
    """Read and write the credentials of every file-backed profile.

    `password` is asked for lazily (only when the file is first touched) and the derived key is kept
    for the life of this object, so that a command pays the scrypt cost once.
    """

    FILE = "vault.bin"

    def __init__(
        self,
        home: Path,
        password: PasswordSource,
        *,
        log2_n: int = DEFAULT_LOG2_N,
        file_name: str = FILE,
    ) -> None:
        self.path = home / file_name
        self._lock = home / f".{self.path.stem}.lock"
        self._password = password
        self._log2_n = log2_n
        self._kdf: _Kdf | None = None
        self._key: bytes | None = None
        self._check = b""

    def exists(self) -> bool:
        return self.path.exists()

    def get(self, name: str) -> Credentials | None:
        entry = self._load().get(name)
        if entry is None:
            return None
        return Credentials(Secret(entry["api_key"]), Secret(entry["secret_key"]), Secret(entry["passphrase"]))

    def put(self, name: str, credentials: Credentials) -> None:
        api_key, secret_key, passphrase = credentials.values()
        self._change(
            "profiles", name, {"api_key": api_key, "secret_key": secret_key, "passphrase": passphrase}
        )

    def delete(self, name: str) -> bool:
        return self._change("profiles", name, None)

    # -- the other entries (named_secrets) ------------------------------------------------------

    def get_entry(self, key: str) -> dict[str, str] | None:
        entry = self._load_body().get("secrets", {}).get(key)
        return dict(entry) if entry is not None else None

    def put_entry(self, key: str, values: dict[str, str]) -> None:
        self._change("secrets", key, dict(values))

    def delete_entry(self, key: str) -> bool:
        return self._change("secrets", key, None)

    # -- format ------------------------------------------------------------------------------

    def _change(self, section: str, key: str, value: dict[str, str] | None) -> bool:
        """Set (or, with None, remove) one entry of a section under the lock; False: nothing removed."""
        with exclusive(self._lock, "vault file"):
            body = self._load_body()
            entries = body.setdefault(section, {})
            if value is None:
                if entries.pop(key, None) is None:
                    return False
            else:
                entries[key] = value
            self._store_body(body)
            return True

    def _load(self) -> dict[str, dict[str, str]]:
        return dict(self._load_body().get("profiles", {}))

    def _load_body(self) -> dict[str, dict[str, dict[str, str]]]:
        try:
            blob = self.path.read_bytes()
        except FileNotFoundError:
            return {"profiles": {}, "secrets": {}}
        self._check_mode()
        if len(blob) < _HEAD.size + 16 or not blob.startswith(MAGIC):
            raise VaultError(
                f"the vault file {self.path} is truncated or not an okxbot vault",
                f"restore {self.path} from a backup; otherwise delete it and add the keys again "
                "(a lost secret key cannot be recovered: create a new API key on OKX)",
            )
        _magic, version, kdf_id, log2_n, r, p, salt, check, nonce = _HEAD.unpack_from(blob)
        if version != VERSION or kdf_id != KDF_SCRYPT:
            raise VaultError(
                f"the vault file {self.path} has format version {version}, this okxbot reads version {VERSION}",
                "upgrade okxbot to the version that wrote this file",
            )
        if not (14 <= log2_n <= 22 and 1 <= r <= 32 and 1 <= p <= 16):
            raise VaultError(
                f"the vault file {self.path} has a damaged header", f"restore {self.path} from a backup"
            )
        kdf = _Kdf(log2_n, r, p, salt)
        key = self._key_for(kdf, check)
        try:
            plain = AESGCM(key).decrypt(nonce, blob[_HEAD.size :], blob[: _HEAD.size])
        except InvalidTag:
            raise VaultError(
                f"the vault file {self.path} was modified or damaged (authentication failed); nothing was read",
                f"restore {self.path} from a backup; otherwise delete it and add the keys again",
            ) from None
        body = json.loads(plain)
        return {"profiles": dict(body["profiles"]), "secrets": dict(body.get("secrets", {}))}

    def _key_for(self, kdf: _Kdf, check: bytes) -> bytes:
        if self._kdf == kdf and self._key is not None:
            return self._key
        password = self._password.get(new=False)
        key, expected = _derive(password, kdf)
        if not hmac.compare_digest(expected, check):
            raise VaultError(
                "wrong master password for the vault file",
                "try again; a forgotten master password cannot be recovered: delete "
                f"{self.path}, delete the API keys on OKX, create new ones and add them again",
            )
        self._kdf, self._key, self._check = kdf, key, check
        return key

    def _store_body(self, body: dict[str, dict[str, dict[str, str]]]) -> None:
        if self._key is None or self._kdf is None:
            # A new vault: a new password, a new salt.
            password = self._password.get(new=True)
            self._kdf = _Kdf(self._log2_n, DEFAULT_R, DEFAULT_P, os.urandom(16))
            self._key, self._check = _derive(password, self._kdf)
        kdf, check = self._kdf, self._check
        nonce = os.urandom(12)
        head = _HEAD.pack(MAGIC, VERSION, KDF_SCRYPT, kdf.log2_n, kdf.r, kdf.p, kdf.salt, check, nonce)
        content: dict[str, dict[str, dict[str, str]]] = {"profiles": body.get("profiles", {})}
        if body.get("secrets"):
            content["secrets"] = body["secrets"]
        plain = json.dumps(content, separators=(",", ":")).encode()
        write_atomic(self.path, head + AESGCM(self._key).encrypt(nonce, plain, head))

    def _check_mode(self) -> None:
        mode = stat.S_IMODE(self.path.stat().st_mode)
        if mode & 0o077:
            raise VaultError(
                f"the vault file {self.path} is accessible by other users (mode {mode:03o})",
                f"run `chmod 600 {self.path}` (and check who could have copied it)",
            )
