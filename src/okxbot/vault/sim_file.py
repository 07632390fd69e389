"""Where simulator keys live when there is no trusted OS keyring: `sim-vault.bin`.

A simulator key opens an account that exists only inside a simulator: it cannot move money, and
anyone who can reach a simulator's admin API can mint keys for any of its accounts anyway. Asking for
the vault's master password to keep one would protect nothing and would stop a newcomer's first
`okxbot buy --sim URL` at a password prompt. So simulator keys go to their own file, in the same
format as the vault file (AES-256-GCM, scrypt), whose password is 32 random bytes generated on first
use and kept in `sim-vault.key` (mode 0600, in the private data directory): no prompt, never in plain
text, and never the same file or password as OKX keys, which stay in the keyring or `vault.bin`.
The random password has full entropy, so the file uses the lowest scrypt cost the format accepts.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import stat
from pathlib import Path

from okxbot.vault import redact
from okxbot.vault.atomic import create_private, temp_path
from okxbot.vault.errors import VaultError
from okxbot.vault.file_backend import VaultFile
from okxbot.vault.secret import Secret

FILE = "sim-vault.bin"
KEY_FILE = "sim-vault.key"
LOG2_N = 14  # the minimum the file format accepts; the password is random, not a human's


class RandomPassword:
    """The simulator store's password: read from KEY_FILE, created there (once) when missing."""

    def __init__(self, home: Path) -> None:
        self.path = home / KEY_FILE
        self._cached: Secret | None = None

    def get(self, *, new: bool) -> Secret:
        if self._cached is None:
            value = self._read()
            if value is None:
                if not new:
                    raise VaultError(
                        f"{self.path} (the password of the simulator keys in {FILE}) is missing",
                        f"delete {self.path.parent / FILE}: okxbot then fetches fresh simulator keys "
                        "(profiles added with `okxbot keys add NAME --sim URL` must be added again)",
                    )
                value = self._create()
            redact.register([value])
            self._cached = Secret(value)
        return self._cached

    def _read(self) -> str | None:
        try:
            fd = os.open(self.path, os.O_RDONLY | os.O_NOFOLLOW)
        except FileNotFoundError:
            return None
        with os.fdopen(fd, "rb") as handle:
            mode = stat.S_IMODE(os.fstat(handle.fileno()).st_mode)
            if mode & 0o077:
                raise VaultError(
                    f"{self.path} is accessible by other users (mode {mode:03o})",
                    f"run `chmod 600 {self.path}`",
                )
            value = handle.read().decode("ascii", errors="replace").strip()
        if not value:
            raise VaultError(f"{self.path} is empty", f"delete it and {self.path.parent / FILE}")
        return value

    def _create(self) -> str:
        # Written whole under a temporary name, then linked into place: link() fails if another
        # process created the file meanwhile, and then that process's password is the one to use.
        value = secrets.token_urlsafe(32)
        tmp = temp_path(self.path)
        fd = create_private(tmp)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(value.encode("ascii"))
                handle.flush()
                os.fsync(handle.fileno())
            try:
                os.link(tmp, self.path)
            except FileExistsError:
                existing = self._read()
                if existing is None:
                    raise VaultError(f"{self.path} vanished while okxbot created it", "retry") from None
                return existing
        finally:
            with contextlib.suppress(OSError):
                tmp.unlink()
        return value


def sim_vault_file(home: Path) -> VaultFile:
    """The encrypted file holding simulator keys (see the module docstring)."""
    return VaultFile(home, RandomPassword(home), log2_n=LOG2_N, file_name=FILE)
