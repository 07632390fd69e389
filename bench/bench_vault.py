"""Vault and log-scrubbing costs: unlocking the encrypted file (scrypt N=2^17), saving, scrubbing logs."""

from __future__ import annotations

import io
import logging
import os
import statistics
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from okxbot.vault import redact
from okxbot.vault.profiles import Profile
from okxbot.vault.secret import Credentials, Secret
from okxbot.vault.store import Vault


def _median_ms(samples: list[float]) -> str:
    return f"{statistics.median(samples) * 1000:.1f} ms"


def _vault_costs(home: Path) -> tuple[list[float], list[float]]:
    os.environ["OKXBOT_HOME"] = str(home)
    os.environ["OKXBOT_KEYRING"] = "off"
    password = home / "pw"
    home.mkdir(parents=True, exist_ok=True)
    password.write_text("benchmark master password")
    password.chmod(0o600)
    os.environ["OKXBOT_VAULT_PASSWORD_FILE"] = str(password)
    creds = Credentials(
        Secret("0d6c8f3a-4b2e-4c1d-9e8f-7a6b5c4d3e2f"), Secret("A" * 32), Secret("bench-pass-1")
    )
    Vault().add(Profile("main"), creds)
    unlock, save = [], []
    for _ in range(3):
        vault = Vault()
        start = time.perf_counter()
        vault.credentials("main")
        unlock.append(time.perf_counter() - start)
        start = time.perf_counter()
        vault.rotate("main", creds)
        save.append(time.perf_counter() - start)
    return unlock, save


def _log_cost(records: int, scrub: bool) -> float:
    stream = io.StringIO()
    logger = logging.getLogger("bench.vault.scrub" if scrub else "bench.vault.plain")
    logger.propagate = False
    handler = logging.StreamHandler(stream)
    if scrub:
        handler.addFilter(redact.RedactingFilter())
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    headers = {"OK-ACCESS-KEY": "0d6c8f3a-4b2e-4c1d-9e8f-7a6b5c4d3e2f", "OK-ACCESS-SIGN": "x" * 43 + "="}
    start = time.perf_counter()
    for _ in range(records):
        logger.debug(
            "%s %s, Request: %s %s", "GET", "https://www.okx.com/api/v5/account/balance", headers, ""
        )
    elapsed = time.perf_counter() - start
    logger.removeHandler(handler)
    return elapsed


def main() -> None:
    saved = {k: os.environ.get(k) for k in ("OKXBOT_HOME", "OKXBOT_KEYRING", "OKXBOT_VAULT_PASSWORD_FILE")}
    try:
        with tempfile.TemporaryDirectory() as tmp:
            unlock, save = _vault_costs(Path(tmp) / "home")
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    redact.register(["0d6c8f3a-4b2e-4c1d-9e8f-7a6b5c4d3e2f"])
    records = 20_000
    plain, scrubbed = _log_cost(records, False), _log_cost(records, True)
    table = Table(title="vault and log scrubbing")
    table.add_column("what")
    table.add_column("median / rate", justify="right")
    table.add_row("unlock vault file (scrypt N=2^17, r=8, p=1)", _median_ms(unlock))
    table.add_row("save vault file (key cached, fsync + rename)", _median_ms(save))
    table.add_row("ccxt-style DEBUG records/s, no scrubbing", f"{records / plain:,.0f}")
    table.add_row("ccxt-style DEBUG records/s, scrubbed", f"{records / scrubbed:,.0f}")
    Console().print(table)


if __name__ == "__main__":
    main()
