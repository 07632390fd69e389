"""Credentials from OKX_API_KEY / OKX_SECRET_KEY / OKX_PASSPHRASE, the explicit backend for containers."""

from __future__ import annotations

import os

from okxbot.vault.errors import VaultError
from okxbot.vault.secret import Credentials, Secret

ENV_NAMES = ("OKX_API_KEY", "OKX_SECRET_KEY", "OKX_PASSPHRASE")


def credentials_from_env() -> Credentials | None:
    """The three values from the environment, None when none is set; half-set is an error."""
    values = [os.environ.get(name, "").strip() for name in ENV_NAMES]
    if not any(values):
        return None
    missing = [name for name, value in zip(ENV_NAMES, values, strict=True) if not value]
    if missing:
        raise VaultError(
            f"{', '.join(missing)} not set while the other OKX_* variables are",
            "set all three of OKX_API_KEY, OKX_SECRET_KEY and OKX_PASSPHRASE, or none of them",
        )
    return Credentials(Secret(values[0]), Secret(values[1]), Secret(values[2]))
