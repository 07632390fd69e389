"""Vault hardening: untrusted keyrings are never used, private temp files, a private data directory,
and secrets scrubbed from logs in every escaped form they can take."""

from __future__ import annotations

import io
import json
import logging
import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import keyring
import pytest
from keyring.backend import KeyringBackend
from keyring.backends import chainer
from keyrings.alt.file import PlaintextKeyring

from okxbot.vault import atomic, keyring_backend, redact
from okxbot.vault import home as home_module
from okxbot.vault.errors import VaultError
from okxbot.vault.home import okxbot_home
from okxbot.vault.profiles import Profile
from okxbot.vault.secret import Credentials, Secret
from okxbot.vault.store import MasterPassword, Vault
from tests.vault.test_keyring_backend import MemoryKeyring

CREDS = Credentials(
    Secret("2b3c4d5e-aaaa-4bbb-8ccc-0d1e2f3a4b5c"), Secret("A" * 32), Secret("hardening-pass-1")
)


class ZeroPriority(MemoryKeyring):
    priority = 0  # type: ignore[assignment]


class PlaintextStore(MemoryKeyring):
    """A third-party backend that says what it is in its name."""


@pytest.fixture
def installed(home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Let okxbot consult the keyring (tests set OKXBOT_KEYRING=off otherwise); keyring files go to tmp."""
    monkeypatch.delenv("OKXBOT_KEYRING")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))
    previous = keyring.get_keyring()
    try:
        yield
    finally:
        keyring.set_keyring(previous)


def plaintext() -> PlaintextKeyring:
    return PlaintextKeyring()


@pytest.mark.parametrize(
    ("backend", "why"),
    [
        (PlaintextKeyring, "keyrings.alt"),
        (PlaintextStore, "plain text"),
        (ZeroPriority, "priority 0"),
    ],
)
def test_untrusted_keyrings_are_never_used_and_the_user_is_told_why(
    installed: None, home: Path, backend: type[KeyringBackend], why: str
) -> None:
    chosen = backend()
    keyring.set_keyring(chosen)
    warnings: list[str] = []
    message = Vault(password=MasterPassword(warnings.append), warn=warnings.append, kdf_log2_n=14).add(
        Profile("main"), CREDS
    )
    assert "encrypted vault file" in message
    assert len(warnings) == 1 and "not using the keyring" in warnings[0] and why in warnings[0]
    assert chosen.get_password("okxbot", "main") is None
    assert Vault().credentials("main").values() == CREDS.values()
    assert Vault().profiles.get("main").backend == "file"


def test_plaintext_keyring_chosen_by_the_user_is_refused_by_the_cli(home: Path, tmp_path: Path) -> None:
    """How a user really ends up with it: PYTHON_KEYRING_BACKEND (or keyringrc.cfg) names it."""
    data = tmp_path / "xdg-data"
    env = dict(
        os.environ,
        PYTHON_KEYRING_BACKEND="keyrings.alt.file.PlaintextKeyring",
        XDG_DATA_HOME=str(data),
        OKX_API_KEY=CREDS.api_key.reveal(),
        OKX_SECRET_KEY=CREDS.secret_key.reveal(),
        OKX_PASSPHRASE=CREDS.passphrase.reveal(),
    )
    env.pop("OKXBOT_KEYRING")
    proc = subprocess.run(
        [sys.executable, "-m", "okxbot", "keys", "add", "main", "--from-env"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    refusal = [line for line in proc.stderr.splitlines() if "not using the keyring" in line]
    assert len(refusal) == 1 and "PlaintextKeyring" in refusal[0] and "plain text" in refusal[0]
    assert "encrypted vault file" in proc.stdout
    written = b"".join(p.read_bytes() for p in data.rglob("*") if p.is_file()) if data.exists() else b""
    assert CREDS.passphrase.reveal().encode() not in written and (home / "vault.bin").exists()


def test_a_chain_is_searched_for_a_trusted_keyring_and_plain_text_is_skipped(installed: None) -> None:
    plain, memory = plaintext(), MemoryKeyring()

    class Chain(chainer.ChainerBackend):
        backends: ClassVar[list[KeyringBackend]] = [plain, memory]  # type: ignore[misc]

    keyring.set_keyring(Chain())
    assert keyring_backend.choose().backend is memory
    message = Vault().add(Profile("main"), CREDS)
    assert "OS keyring" in message and ("okxbot", "main") in memory.entries
    assert plain.get_password("okxbot", "main") is None


# -- atomic writes ------------------------------------------------------------------------------


def test_atomic_writes_never_follow_a_planted_symlink(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    victim = tmp_path / "victim"
    victim.write_bytes(b"precious")
    target = tmp_path / "profiles.json"
    # a symlink at the name the old code used, and one at the name this write will use
    (tmp_path / f".profiles.json.{os.getpid()}.tmp").symlink_to(victim)
    planted = tmp_path / ".planted.tmp"
    planted.symlink_to(victim)
    monkeypatch.setattr(atomic, "temp_path", lambda path: planted)
    with pytest.raises(VaultError, match="already exists"):
        atomic.write_atomic(target, b"new")
    assert victim.read_bytes() == b"precious" and not target.exists()
    monkeypatch.undo()
    atomic.write_atomic(target, b"new")
    assert victim.read_bytes() == b"precious" and target.read_bytes() == b"new"


def test_atomic_writes_are_private_whatever_the_umask(tmp_path: Path) -> None:
    old = os.umask(0)
    try:
        target = tmp_path / "f"
        atomic.write_atomic(target, b"x")
    finally:
        os.umask(old)
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["f"]  # no temporary file left behind


# -- the data directory -------------------------------------------------------------------------


def test_a_data_directory_readable_by_others_is_tightened(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "shared"
    data.mkdir()
    data.chmod(0o755)
    monkeypatch.setenv("OKXBOT_HOME", str(data))
    assert okxbot_home() == data
    assert stat.S_IMODE(data.stat().st_mode) == 0o700
    err = capsys.readouterr().err
    assert "was accessible by other users (mode 755)" in err and "changed it to 700" in err
    okxbot_home()
    assert capsys.readouterr().err == ""  # said once


def test_a_data_directory_that_cannot_be_tightened_is_refused_with_the_chmod(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = tmp_path / "not-mine"
    data.mkdir()
    data.chmod(0o750)
    monkeypatch.setenv("OKXBOT_HOME", str(data))

    def refused(path: object, mode: int) -> None:
        raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr(home_module.os, "chmod", refused)  # what a directory of another user answers
    with pytest.raises(VaultError, match="accessible by other users") as err:
        okxbot_home()
    assert f"chmod 700 {data}" in err.value.fix


# -- log scrubbing ------------------------------------------------------------------------------

TRICKY = Credentials(
    Secret('k"ey\\é-8a7b-4c6d-9e8f-0123456789ab'),
    Secret('s3cr"et\\Ünï-9F8E7D6C5B4A39281706'),
    Secret('pa"ss\\phrasé-€-42'),
)


def test_secrets_with_quotes_backslashes_and_non_ascii_are_scrubbed_in_every_form(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import ccxt

    redact.install()
    redact.register(TRICKY.values())
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    root = logging.getLogger()
    root.addHandler(handler)
    levels = {n: logging.getLogger(n).level for n in ("", "ccxt")}
    for n in levels:
        logging.getLogger(n).setLevel(logging.DEBUG)
    api_key, secret, passphrase = TRICKY.values()
    try:
        log = logging.getLogger("okxbot.test")
        log.info(
            "as JSON: %s", json.dumps({"apiKey": api_key, "secretKey": secret, "passphrase": passphrase})
        )
        log.info("as JSON, unicode kept: %s", json.dumps([api_key, secret, passphrase], ensure_ascii=False))
        log.info("as repr: %r and in a dict %s", passphrase, {"s": secret, "k": api_key})
        log.info("JSON inside a repr: %r", {"body": json.dumps({"passphrase": passphrase})})
        log.info("bytes: %r", passphrase.encode())
        # ccxt's own DEBUG log of a signed request (sent nowhere: nothing listens on port 9)
        exchange = ccxt.okx({"apiKey": api_key, "secret": secret, "password": passphrase, "timeout": 2000})
        exchange.urls["api"] = {"rest": "http://127.0.0.1:9"}
        with pytest.raises((ccxt.BaseError, UnicodeEncodeError)):  # the € cannot go in a header
            exchange.privatePostTradeOrder(
                {"instId": "BTC-USDT", "tdMode": "cash", "side": "buy", "ordType": "limit", "px": "1",
                 "sz": "1", "clOrdId": "x", "tag": passphrase}
            )  # fmt: skip
    finally:
        root.removeHandler(handler)
        for n, level in levels.items():
            logging.getLogger(n).setLevel(level)
    text = stream.getvalue()
    assert "Request:" in text and "OK-ACCESS-PASSPHRASE" in text  # ccxt really logged the request
    for value in TRICKY.values():
        # the forms written out here, not taken from `redact.forms` (the code under test)
        written = {
            value,
            json.dumps(value)[1:-1],
            json.dumps(value, ensure_ascii=False)[1:-1],
            repr(value)[1:-1],
            ascii(value)[1:-1],
            repr(json.dumps(value)[1:-1])[1:-1],
            repr(value.encode())[2:-1],
        }
        for form in written | redact.forms(value):
            assert form not in text, f"{form!r} of a secret is in the log"
    # the escaped forms really occur in such logs: the scan above would have caught them
    assert json.dumps(passphrase)[1:-1] != passphrase and repr(passphrase)[1:-1] != passphrase
