"""The vault's other entries (a Telegram bot token, webhook URLs and secrets): kept like OKX keys, in
a trusted keyring or the encrypted vault file, never in plain text on disk, scrubbed from logs."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import keyring
import pytest

from okxbot.vault import redact
from okxbot.vault.errors import VaultError
from okxbot.vault.profiles import Profile
from okxbot.vault.secret import Credentials, Secret
from okxbot.vault.store import Vault
from tests.vault.test_keyring_backend import MemoryKeyring

TOKEN = "7012345678:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw4"
HOOK = {
    "url": "https://hooks.example.com/services/T000/B000/XXXXsecretpath",
    "secret": "whsec-0123456789abcdef",
}
CREDS = Credentials(Secret("7e0c2b1a-aaaa-4bbb-8ccc-0d1e2f3a4b5c"), Secret("F" * 32), Secret("file-pass-1"))


def test_entries_live_in_the_encrypted_file_beside_the_keys(home: Path) -> None:
    vault = Vault()
    vault.add(Profile("main"), CREDS)
    where = vault.secrets.put("telegram", "bot", {"token": TOKEN, "api_url": "https://api.telegram.org"})
    assert "encrypted vault file" in where
    vault.secrets.put("webhook", "ops", HOOK)
    again = Vault()  # a new process: reads the index, then the file (master password)
    assert again.secrets.get("telegram", "bot")["token"].reveal() == TOKEN  # type: ignore[index]
    assert again.secrets.get("webhook", "ops")["secret"].reveal() == HOOK["secret"]  # type: ignore[index]
    assert again.secrets.names("webhook") == ["ops"]
    assert again.credentials("main").values() == CREDS.values()  # the keys are untouched
    for path in home.rglob("*"):
        if path.is_file():
            blob = path.read_bytes()
            for value in (TOKEN, TOKEN.split(":")[1], HOOK["url"], HOOK["secret"]):
                assert value.encode() not in blob, f"{value[:8]}... in plain text in {path.name}"
    assert again.secrets.delete("webhook", "ops") and again.secrets.get("webhook", "ops") is None
    assert not again.secrets.delete("webhook", "ops")
    assert again.credentials("main").values() == CREDS.values()
    with pytest.raises(VaultError, match="needs secret"):
        again.secrets.put("webhook", "x", {"url": "https://a.example"})
    with pytest.raises(VaultError, match="unknown kind"):
        again.secrets.put("email", "x", {"password": "p"})


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


def test_a_trusted_keyring_is_preferred(home: Path, memory_keyring: MemoryKeyring) -> None:
    vault = Vault()
    where = vault.secrets.put("telegram", "bot", {"token": TOKEN, "api_url": "https://api.telegram.org"})
    assert "OS keyring" in where and not (home / "vault.bin").exists()
    assert ("okxbot-secret", "telegram/bot") in memory_keyring.entries
    assert Vault().secrets.get("telegram", "bot")["token"].reveal() == TOKEN  # type: ignore[index]
    Vault().secrets.delete("telegram", "bot")
    assert memory_keyring.entries == {}


def test_a_bot_token_is_scrubbed_from_logs_even_unregistered(tmp_path: Path) -> None:
    """python-telegram-bot and httpx log request URLs with the token in their path."""
    redact.install()
    unregistered = "6999999999:AAFakeTokenNeverRegistered_0123456789"
    path = tmp_path / "log"
    handler = logging.FileHandler(path)
    logger = logging.getLogger("httpx")
    logger.addHandler(handler)
    level = logger.level
    logger.setLevel(logging.INFO)
    try:
        logger.info(
            'HTTP Request: POST https://api.telegram.org/bot%s/getUpdates "HTTP/1.1 200 OK"', unregistered
        )
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
        handler.close()
    text = path.read_text()
    assert unregistered not in text and unregistered.split(":")[1] not in text
    assert "/bot********/getUpdates" in text
