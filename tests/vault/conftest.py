from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A throwaway OKXBOT_HOME with the file backend and a master password file (never the real home)."""
    data = tmp_path / "okxbot-home"
    password = tmp_path / "master-password"
    password.write_text("correct horse battery staple\n")
    password.chmod(0o600)
    monkeypatch.setenv("OKXBOT_HOME", str(data))
    monkeypatch.setenv("OKXBOT_VAULT_PASSWORD_FILE", str(password))
    monkeypatch.setenv("OKXBOT_KEYRING", "off")
    for name in (
        "OKX_API_KEY",
        "OKX_SECRET_KEY",
        "OKX_PASSPHRASE",
        "OKXBOT_PROFILE",
        "OKXBOT_VAULT_PASSWORD",
    ):
        monkeypatch.delenv(name, raising=False)
    return data
