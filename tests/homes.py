"""A throwaway OKXBOT_HOME for CLI tests: file vault with a master password file, no OS keyring,
its own cache, and none of the user's OKX_* / OKXBOT_PROFILE settings (never the user's home)."""

from __future__ import annotations

from pathlib import Path

import pytest


def private_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, password: str) -> Path:
    secret = tmp_path / "pw"
    secret.write_text(password)
    secret.chmod(0o600)
    monkeypatch.setenv("OKXBOT_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("OKXBOT_VAULT_PASSWORD_FILE", str(secret))
    monkeypatch.setenv("OKXBOT_KEYRING", "off")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    for name in ("OKX_API_KEY", "OKX_SECRET_KEY", "OKX_PASSPHRASE", "OKXBOT_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path / "home"
