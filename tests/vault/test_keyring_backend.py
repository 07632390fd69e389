from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import keyring
import pytest
from keyring.backend import KeyringBackend
from keyring.backends import fail
from keyring.errors import PasswordDeleteError

from okxbot.vault import keyring_backend
from okxbot.vault.profiles import Profile
from okxbot.vault.secret import Credentials, Secret
from okxbot.vault.store import Vault


class MemoryKeyring(KeyringBackend):
    """A real keyring backend that keeps entries in memory (test only)."""

    priority = 1  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.entries: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.entries.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.entries[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        if self.entries.pop((service, username), None) is None:
            raise PasswordDeleteError("not found")


@pytest.fixture
def memory_keyring(home: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[MemoryKeyring]:
    monkeypatch.delenv("OKXBOT_KEYRING")
    previous = keyring.get_keyring()
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    try:
        yield backend
    finally:
        keyring.set_keyring(previous)


CREDS = Credentials(
    Secret("7e0c2b1a-aaaa-4bbb-8ccc-0d1e2f3a4b5c"), Secret("F" * 32), Secret("keyring-pass-1")
)


def test_real_keyring_is_preferred_and_no_vault_file_is_written(
    home: Path, memory_keyring: MemoryKeyring
) -> None:
    vault = Vault()
    message = vault.add(Profile("main"), CREDS)
    assert "OS keyring" in message
    assert not (home / "vault.bin").exists()
    assert ("okxbot", "main") in memory_keyring.entries
    assert Vault().credentials("main").values() == CREDS.values()
    assert vault.profiles.get("main").backend == "keyring"

    vault.remove("main")
    assert memory_keyring.entries == {}
    assert vault.profiles.find("main") is None


def test_fail_backend_means_no_keyring_and_the_file_is_used(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OKXBOT_KEYRING")
    previous = keyring.get_keyring()
    keyring.set_keyring(fail.Keyring())
    try:
        usable, why = keyring_backend.keyring_available()
        assert not usable and "no OS keyring" in why
        message = Vault(kdf_log2_n=14).add(Profile("main"), CREDS)
    finally:
        keyring.set_keyring(previous)
    assert "encrypted vault file" in message and "no OS keyring" in message
    assert (home / "vault.bin").exists()
    assert Vault().credentials("main").values() == CREDS.values()


def test_okxbot_keyring_off_forces_the_file(
    home: Path, memory_keyring: MemoryKeyring, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OKXBOT_KEYRING", "off")
    Vault(kdf_log2_n=14).add(Profile("main"), CREDS)
    assert memory_keyring.entries == {}
    assert (home / "vault.bin").exists()
