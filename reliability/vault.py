"""The vault file: no plaintext secret in it, mode 0600, any flipped byte refused, and it (and the
journal) survive a SIGKILL in the middle of a write."""

from __future__ import annotations

import base64
import os
import random
import signal
import sqlite3
import stat
import subprocess
import sys
import time
from pathlib import Path

from okxbot.sim.server import RunningSim
from okxbot.vault.errors import VaultError
from okxbot.vault.file_backend import VaultFile
from okxbot.vault.store import MasterPassword
from reliability.checks import Check, Sizes
from reliability.env import key_env, new_key, scratch_home
from reliability.writer import credentials_for

SECTION = "vault and journal files"
ROOT = Path(__file__).resolve().parents[1]


def _forms(value: str) -> list[bytes]:
    raw = value.encode()
    return [raw, raw.hex().encode(), base64.b64encode(raw), value.encode("utf-16-le")]


def _cli_add(home: Path, key: dict[str, str]) -> int:
    from typer.testing import CliRunner

    from okxbot.cli.main import app

    return CliRunner().invoke(app, ["keys", "add", "main", "--from-env"], env=key_env(key)).exit_code


def _flips(home: Path, key: dict[str, str], count: int, rng: random.Random) -> tuple[int, int, int]:
    """Flip one byte at `count` positions (every header field and across the ciphertext)."""
    path = home / VaultFile.FILE
    original = path.read_bytes()
    accepted = crashed = 0
    header = 8 + 1 + 1 + 1 + 1 + 1 + 16 + 16 + 12  # magic .. nonce (a little over: tolerant of layout)
    positions = sorted(
        set(rng.sample(range(min(header, len(original))), 12 if count > 50 else 4))  # each one runs scrypt
        | set(rng.sample(range(len(original)), min(count, len(original))))
    )
    reader = VaultFile(home, MasterPassword())
    reader.get("main")  # derive the key once: flips outside the KDF header then cost no scrypt run
    for pos in positions:
        blob = bytearray(original)
        blob[pos] ^= 1 << rng.randrange(8)
        path.write_bytes(bytes(blob))
        path.chmod(0o600)
        try:
            creds = reader.get("main")
        except VaultError:
            continue
        except Exception:
            crashed += 1
            continue
        if creds is not None:
            accepted += 1
    path.write_bytes(original)
    path.chmod(0o600)
    return len(positions), accepted, crashed


def _kill_runs(root: Path, runs: int, rng: random.Random) -> dict[str, int]:
    home = root / "writer-home"
    home.mkdir(mode=0o700, exist_ok=True)
    db = root / "writer-journal.sqlite"
    url = f"sqlite:///{db}"
    tally = {
        "runs": 0,
        "vault unreadable": 0,
        "vault older than a completed write": 0,
        "journal integrity failures": 0,
        "committed journal rows lost": 0,
        "writes completed": 0,
    }
    committed: set[str] = set()
    for _ in range(runs):
        child = subprocess.Popen(  # noqa: S603 (this interpreter, fixed module, the suite's own arguments)
            [sys.executable, "-m", "reliability.writer", str(home), url],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            env=dict(os.environ),
            cwd=ROOT,
        )
        time.sleep(0.8 + rng.random() * 1.5)  # startup (imports, scrypt) then some hundred writes
        child.send_signal(signal.SIGKILL)
        out, _ = child.communicate(timeout=30)
        tally["runs"] += 1
        lines = out.split()
        vault_done = [int(n) for kind, n in zip(lines[::2], lines[1::2], strict=False) if kind == "vault"]
        rows = {n for kind, n in zip(lines[::2], lines[1::2], strict=False) if kind == "journal"}
        committed |= rows
        tally["writes completed"] += len(vault_done) + len(rows)
        try:
            creds = VaultFile(home, MasterPassword()).get("main")
        except Exception:
            tally["vault unreadable"] += 1
            creds = None
        if vault_done and creds is not None:
            n = int(creds.api_key.reveal().split("-")[1])
            if n < vault_done[-1] or creds.values() != credentials_for(n).values():
                tally["vault older than a completed write"] += 1
        with sqlite3.connect(db) as conn:
            if conn.execute("PRAGMA integrity_check").fetchone()[0] != "ok":
                tally["journal integrity failures"] += 1
            # a child killed before its journal made its tables (a slow start) committed nothing
            made = conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'orders'")
            present = (
                {r[0] for r in conn.execute("SELECT client_order_id FROM orders")}
                if made.fetchone()
                else set()
            )
        tally["committed journal rows lost"] = len(committed - present)
    return tally


def run(sim: RunningSim, sizes: Sizes) -> list[Check]:
    rng = random.Random(21)
    key = new_key(sim)
    with scratch_home("vault") as home:
        if _cli_add(home, key) != 0:
            return [Check(SECTION, "okxbot keys add (file backend) succeeded", 1, True)]
        path = home / VaultFile.FILE
        blob = path.read_bytes()
        plaintext = sum(
            1
            for value in (key["apiKey"], key["secretKey"], key["passphrase"])
            for form in _forms(value)
            if form in blob
        )
        loose = [
            p.name
            for p in home.rglob("*")
            if p.is_file()
            and stat.S_IMODE(p.stat().st_mode) & 0o077
            and p.name in (VaultFile.FILE, "profiles.json")
        ]
        mode = stat.S_IMODE(path.stat().st_mode)
        tried, accepted, crashed = _flips(home, key, 24 if sizes.crashes < 10 else 120, rng)
        # the CLI on a damaged vault: a clear refusal, not a traceback
        from typer.testing import CliRunner

        from okxbot.cli.main import app

        damaged = bytearray(blob)
        damaged[len(damaged) // 2] ^= 0x40
        path.write_bytes(bytes(damaged))
        # no --sim: "main" is an OKX key, which okxbot sends nowhere else; the damage stops it first
        result = CliRunner().invoke(app, ["balance", "--profile", "main"])
        cli_unclear = int(
            result.exit_code == 0
            or "Traceback" in result.output
            or (result.exception is not None and not isinstance(result.exception, SystemExit))
        )
        path.write_bytes(blob)
        kills = _kill_runs(home.parent, max(3, sizes.crashes), rng)
    return [
        Check(
            SECTION, "vault file: plaintext / hex / base64 forms of key, secret, passphrase", plaintext, True
        ),
        Check(
            SECTION,
            f"vault file: mode is {mode:03o}; files readable by others",
            len(loose) + (mode != 0o600),
            True,
            ", ".join(loose),
        ),
        Check(SECTION, "vault file: flipped bytes tried (header + ciphertext)", tried, False),
        Check(SECTION, "vault file: flipped byte accepted", accepted, True),
        Check(
            SECTION,
            "vault file: flipped byte crashed instead of a clear refusal",
            crashed + cli_unclear,
            True,
        ),
        Check(
            SECTION,
            "SIGKILL during writes: runs / completed writes",
            kills["runs"],
            False,
            f"{kills['writes completed']} writes completed before the kills",
        ),
        Check(
            SECTION,
            "SIGKILL during writes: vault unreadable or older than a completed write",
            kills["vault unreadable"] + kills["vault older than a completed write"],
            True,
        ),
        Check(
            SECTION,
            "SIGKILL during writes: journal integrity_check failures",
            kills["journal integrity failures"],
            True,
        ),
        Check(
            SECTION,
            "SIGKILL during writes: committed journal rows lost",
            kills["committed journal rows lost"],
            True,
        ),
    ]
