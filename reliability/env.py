"""What every section needs from the simulator: funded keys, request counts, a scratch data directory."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from okxbot.sim.server import RunningSim
from okxbot.vault.secret import Credentials, Secret

# every path through which an order is created, changed or canceled
ORDER_PATHS = (
    "/api/v5/trade/order",
    "/api/v5/trade/batch-orders",
    "/api/v5/trade/amend-order",
    "/api/v5/trade/amend-batch-orders",
    "/api/v5/trade/cancel-order",
    "/api/v5/trade/cancel-batch-orders",
    "/api/v5/trade/mass-cancel",
    "/api/v5/trade/order-algo",
    "/api/v5/trade/close-position",
)


def new_key(sim: RunningSim, perm: str = "read_only,trade", usdt: str = "1000000", base: str = "100") -> dict:
    """A key on a fresh, funded account (so that each section counts only its own orders)."""
    balances = {"USDT": usdt, "BTC": base, "ETH": base, "SOL": base, "OKB": base, "LTC": base}
    return sim.admin("POST", "/__sim__/keys", {"balances": balances, "perm": perm, "ip": "127.0.0.1"})


def credentials(key: dict[str, Any]) -> Credentials:
    return Credentials(Secret(key["apiKey"]), Secret(key["secretKey"]), Secret(key["passphrase"]))


def order_requests(sim: RunningSim) -> int:
    """Requests that arrived at an order-entry path, counted by the simulator on arrival."""
    paths = sim.admin("GET", "/__sim__/stats")["paths"]
    return sum(int(paths.get(p, 0)) for p in ORDER_PATHS)


def exchange_orders(sim: RunningSim, uid: str) -> list[dict[str, Any]]:
    return list(sim.admin("GET", f"/__sim__/orders?uid={uid}")["orders"])


@contextmanager
def scratch_home(prefix: str) -> Iterator[Path]:
    """A private OKXBOT_HOME with a file vault and a master password file; env restored afterwards."""
    saved = {k: os.environ.get(k) for k in ENV_KEYS}
    with tempfile.TemporaryDirectory(prefix=f"okxbot-rel-{prefix}-") as tmp:
        root = Path(tmp)
        password = root / "master-password"
        password.write_text("reliability suite master password")
        password.chmod(0o600)
        os.environ["OKXBOT_HOME"] = str(root / "home")
        os.environ["OKXBOT_VAULT_PASSWORD_FILE"] = str(password)
        os.environ["OKXBOT_KEYRING"] = "off"
        os.environ["OKXBOT_CACHE_DIR"] = str(root / "home" / "cache")
        for name in ("OKX_API_KEY", "OKX_SECRET_KEY", "OKX_PASSPHRASE", "OKXBOT_PROFILE", "OKX_DEMO"):
            os.environ.pop(name, None)
        # private from the start, as okxbot makes its own data directory (it tightens looser ones)
        (root / "home").mkdir(mode=0o700)
        try:
            yield root / "home"
        finally:
            for name, value in saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value


ENV_KEYS = (
    "OKXBOT_HOME",
    "OKXBOT_VAULT_PASSWORD_FILE",
    "OKXBOT_KEYRING",
    "OKXBOT_CACHE_DIR",
    "OKX_API_KEY",
    "OKX_SECRET_KEY",
    "OKX_PASSPHRASE",
    "OKXBOT_PROFILE",
    "OKX_DEMO",
)


def key_env(key: dict[str, Any]) -> dict[str, str]:
    return {
        "OKX_API_KEY": key["apiKey"],
        "OKX_SECRET_KEY": key["secretKey"],
        "OKX_PASSPHRASE": key["passphrase"],
    }


def sim_profile_env(sim: RunningSim, key: dict[str, Any], name: str = "main") -> dict[str, str]:
    """Hand a simulator key to the CLI: stored as a profile bound to `sim.rest` in the current
    OKXBOT_HOME (a `scratch_home`), named by OKXBOT_PROFILE. (OKX_* variables are refused with --sim.)"""
    from okxbot.vault.profiles import Profile
    from okxbot.vault.store import Vault

    vault = Vault()
    if vault.profiles.find(name) is None:
        vault.add(Profile(name, demo=bool(key.get("demo")), sim_url=sim.rest), credentials(key))
    else:
        vault.rotate(name, credentials(key))
    return {"OKXBOT_PROFILE": name}


def okxbot_process(args: list[str], env: dict[str, str]) -> subprocess.Popen[str]:
    """`okxbot ARGS` in its own process (this interpreter), output captured as text."""
    return subprocess.Popen(  # noqa: S603 (this interpreter, fixed module, the suite's own arguments)
        [sys.executable, "-m", "okxbot", *args],
        env=env,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
