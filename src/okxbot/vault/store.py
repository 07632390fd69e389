"""The vault: profiles plus their credentials, in the OS keyring or an encrypted file.

`Vault.add` chooses the backend and says which: a trusted OS keyring where there is one
(`keyring_backend.choose`), else the encrypted vault file `vault.bin` (master password) for OKX keys
and `sim-vault.bin` (random password kept beside it, `sim_file`) for simulator keys.
`Vault.credentials` loads a profile's values and registers them for log scrubbing.
"""

from __future__ import annotations

import getpass
import os
import sys
from collections.abc import Callable
from pathlib import Path

from okxbot.vault import keyring_backend, redact
from okxbot.vault.errors import VaultError
from okxbot.vault.file_backend import DEFAULT_LOG2_N, MIN_PASSWORD_LEN, VaultFile
from okxbot.vault.home import okxbot_home
from okxbot.vault.named_secrets import NamedSecrets
from okxbot.vault.profiles import Profile, ProfileStore, now_iso
from okxbot.vault.secret import Credentials, Secret
from okxbot.vault.sim_file import sim_vault_file

PASSWORD_FILE_ENV = "OKXBOT_VAULT_PASSWORD_FILE"  # noqa: S105 - a variable name
PASSWORD_ENV = "OKXBOT_VAULT_PASSWORD"  # noqa: S105 - a variable name
SYSTEMD_CREDENTIAL = "okxbot-vault-password"

Warn = Callable[[str], None]


def _stderr(message: str) -> None:
    print(message, file=sys.stderr)


class MasterPassword:
    """The vault's master password, from the first of:

    1. the file named by OKXBOT_VAULT_PASSWORD_FILE (e.g. on a tmpfs, or a Docker secret);
    2. the systemd credential `okxbot-vault-password` ($CREDENTIALS_DIRECTORY, LoadCredential=);
    3. OKXBOT_VAULT_PASSWORD, with a warning (other processes of the user can read the environment);
    4. a hidden prompt, when there is a terminal.
    """

    def __init__(self, warn: Warn = _stderr) -> None:
        self._warn = warn
        self._cached: Secret | None = None

    def get(self, *, new: bool) -> Secret:
        if self._cached is not None:
            return self._cached
        password = self._from_file() or self._from_env() or self._prompt(new)
        if new and len(password.reveal()) < MIN_PASSWORD_LEN:
            raise VaultError(
                f"the master password is shorter than {MIN_PASSWORD_LEN} characters",
                "choose a longer one (a passphrase of several words is easy to remember and hard to guess)",
            )
        redact.register([password.reveal()])
        self._cached = password
        return password

    def _from_file(self) -> Secret | None:
        candidates = []
        if os.environ.get(PASSWORD_FILE_ENV):
            candidates.append(Path(os.environ[PASSWORD_FILE_ENV]).expanduser())
        if os.environ.get("CREDENTIALS_DIRECTORY"):
            systemd = Path(os.environ["CREDENTIALS_DIRECTORY"]) / SYSTEMD_CREDENTIAL
            if systemd.exists():
                candidates.append(systemd)
        for path in candidates:
            try:
                value = path.read_text(encoding="utf-8").rstrip("\r\n")
            except OSError as err:
                raise VaultError(
                    f"cannot read the master password file {path} ({err.strerror})",
                    f"check the path and its permissions, or unset {PASSWORD_FILE_ENV}",
                ) from None
            if not value:
                raise VaultError(f"the master password file {path} is empty", "write the password into it")
            if path.stat().st_mode & 0o077:
                self._warn(f"warning: {path} is readable by other users; run `chmod 600 {path}`")
            return Secret(value)
        return None

    def _from_env(self) -> Secret | None:
        value = os.environ.get(PASSWORD_ENV)
        if not value:
            return None
        self._warn(
            f"warning: the vault password comes from {PASSWORD_ENV}; other processes of this user can read "
            f"it. Prefer {PASSWORD_FILE_ENV} or a systemd credential ({SYSTEMD_CREDENTIAL})."
        )
        return Secret(value)

    def _prompt(self, new: bool) -> Secret:
        if not sys.stdin.isatty():
            raise VaultError(
                "the vault needs its master password and there is no terminal to ask for it",
                f"set {PASSWORD_FILE_ENV} to a file holding the password (mode 0600), or use a systemd "
                f"credential named {SYSTEMD_CREDENTIAL}",
            )
        if new:
            first = getpass.getpass("New vault master password (min 10 characters, not recoverable): ")
            if getpass.getpass("Repeat it: ") != first:
                raise VaultError(
                    "the two passwords differ", "run the command again and type the same password twice"
                )
            return Secret(first)
        return Secret(getpass.getpass("Vault master password: "))


class Vault:
    """Profiles and credentials of one OKXBOT_HOME."""

    def __init__(
        self,
        home: Path | None = None,
        *,
        password: MasterPassword | None = None,
        warn: Warn = _stderr,
        kdf_log2_n: int = DEFAULT_LOG2_N,
    ) -> None:
        self.home = home or okxbot_home()
        self.profiles = ProfileStore(self.home)
        self.file = VaultFile(self.home, password or MasterPassword(warn), log2_n=kdf_log2_n)
        self.sim_file = sim_vault_file(self.home)
        self._warn = warn

    def choose_backend(self, profile: Profile | None = None) -> tuple[str, str]:
        """(backend, sentence saying where and why) for a new profile.

        When a keyring backend exists but is not trusted (plain text, fixed key, priority <= 0), one
        line saying so goes to the warning sink (stderr) as well.
        """
        choice = keyring_backend.choose()
        if choice.backend is not None:
            return "keyring", f"Stored in the {choice.description}."
        if choice.refused:
            self._warn(f"okxbot: not using the keyring: {choice.refused}; using an encrypted file instead")
        if profile is not None and profile.is_sim:
            return "simfile", (
                f"Stored in {self.sim_file.path}, encrypted with a random password kept beside it "
                f"(a simulator key opens nothing outside the simulator; {choice.description})."
            )
        return "file", f"Stored in the encrypted vault file {self.file.path} ({choice.description})."

    @property
    def secrets(self) -> NamedSecrets:
        """The vault's entries other than OKX keys (Telegram bot token, webhook secrets)."""
        return NamedSecrets(self)

    def add(self, profile: Profile, credentials: Credentials) -> str:
        """Store a new profile; returns the sentence saying where the secrets went."""
        backend, message = self.choose_backend(profile)
        profile.backend = backend  # type: ignore[assignment]
        profile.key_hint = credentials.api_key.masked()
        redact.register(credentials.values())
        # Claim the name first (under the profile lock): two processes adding the same name cannot
        # then overwrite each other's secrets; if storing fails, the claim is withdrawn.
        self.profiles.add(profile)
        try:
            self._put(profile, credentials)
        except BaseException:
            self.profiles.remove(profile.name)
            raise
        return message

    def credentials(self, name: str) -> Credentials:
        profile = self.profiles.get(name)
        creds = self._get(profile)
        if creds is None:
            raise VaultError(
                f"the secrets of profile {name!r} are missing from the {profile.backend}",
                f"a lost secret cannot be recovered: delete the key on OKX, create a new one and run "
                f"`okxbot keys rotate {name}`",
            )
        redact.register(creds.values())
        return creds

    def rotate(
        self, name: str, credentials: Credentials, change: Callable[[Profile], None] | None = None
    ) -> Profile:
        """Overwrite a profile's three values (the key was re-created on OKX), re-enable it and bump its
        key generation (a bot running on it then moves onto the new key); `change` edits more fields."""
        profile = self.profiles.get(name)
        redact.register(credentials.values())
        self._put(profile, credentials)

        def apply(p: Profile) -> None:
            p.key_hint = credentials.api_key.masked()
            p.disabled = False
            p.disabled_reason = ""
            p.last_check = {}
            p.generation += 1
            if change is not None:
                change(p)

        return self.profiles.update(name, apply)

    def remove(self, name: str) -> None:
        profile = self.profiles.get(name)
        self._delete(profile)
        self.profiles.remove(name)

    def disable(self, name: str, reason: str) -> None:
        def change(p: Profile) -> None:
            p.disabled = True
            p.disabled_reason = reason

        self.profiles.update(name, change)

    def mark_used(self, name: str) -> None:
        def change(p: Profile) -> None:
            p.last_used = now_iso()

        self.profiles.update(name, change)

    def record_check(self, name: str, perm: str, ip: str) -> None:
        def change(p: Profile) -> None:
            p.last_check = {"perm": perm, "ip": ip, "checked_at": now_iso()}

        self.profiles.update(name, change)

    def _get(self, profile: Profile) -> Credentials | None:
        if profile.backend == "keyring":
            return keyring_backend.get(profile.name)
        return self._file_of(profile).get(profile.name)

    def _put(self, profile: Profile, credentials: Credentials) -> None:
        if profile.backend == "keyring":
            keyring_backend.put(profile.name, credentials)
        else:
            self._file_of(profile).put(profile.name, credentials)

    def _delete(self, profile: Profile) -> None:
        if profile.backend == "keyring":
            keyring_backend.delete(profile.name)
        else:
            self._file_of(profile).delete(profile.name)

    def _file_of(self, profile: Profile) -> VaultFile:
        return self.sim_file if profile.backend == "simfile" else self.file
