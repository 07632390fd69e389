from __future__ import annotations

import os
import signal
import struct
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from okxbot.vault.errors import VaultError
from okxbot.vault.file_backend import MAGIC
from okxbot.vault.profiles import Profile
from okxbot.vault.secret import Credentials, Secret
from okxbot.vault.store import MasterPassword, Vault

API_KEY = "0d6c8f3a-4b2e-4c1d-9e8f-7a6b5c4d3e2f"
SECRET = "A1B2C3D4E5F60718293A4B5C6D7E8F90"
PASSPHRASE = "Passphrase-For-Test-7"
FAST = 14  # scrypt cost for tests that are not about the cost


def creds(suffix: str = "") -> Credentials:
    return Credentials(Secret(API_KEY[:-4] + (suffix or "2e2f")), Secret(SECRET), Secret(PASSPHRASE + suffix))


def test_vault_file_holds_no_plaintext_and_reads_back(home: Path) -> None:
    vault = Vault()  # default OWASP scrypt parameters
    message = vault.add(Profile("main"), creds())
    assert "encrypted vault file" in message

    blob = (home / "vault.bin").read_bytes()
    for plain in (API_KEY, SECRET, PASSPHRASE, "correct horse battery staple"):
        assert plain.encode() not in blob
    assert blob.startswith(MAGIC)
    version, kdf, log2_n, r, p = struct.unpack_from(">BBBBB", blob, len(MAGIC))
    assert (version, kdf) == (1, 1) and 2**log2_n >= 2**17 and r >= 8 and p >= 1
    assert oct(os.stat(home / "vault.bin").st_mode & 0o777) == "0o600"

    fresh = Vault()  # a new process would start like this: derive from the password again
    assert fresh.credentials("main").values() == creds().values()
    assert fresh.profiles.get("main").key_hint.endswith("2e2f")


def test_two_saves_use_fresh_nonces(home: Path) -> None:
    vault = Vault(kdf_log2_n=FAST)
    vault.add(Profile("a"), creds())
    first = (home / "vault.bin").read_bytes()
    vault.add(Profile("b"), creds("0001"))
    second = (home / "vault.bin").read_bytes()
    nonce = slice(len(MAGIC) + 5 + 32, len(MAGIC) + 5 + 32 + 12)
    assert first[nonce] != second[nonce]


def test_wrong_password_is_named_and_changes_nothing(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    Vault(kdf_log2_n=FAST).add(Profile("main"), creds())
    before = (home / "vault.bin").read_bytes()
    wrong = tmp_path / "wrong"
    wrong.write_text("not the password at all")
    wrong.chmod(0o600)
    monkeypatch.setenv("OKXBOT_VAULT_PASSWORD_FILE", str(wrong))
    with pytest.raises(VaultError, match="wrong master password") as err:
        Vault().credentials("main")
    assert "cannot be recovered" in err.value.fix
    with pytest.raises(VaultError, match="wrong master password"):
        Vault().add(Profile("other"), creds("0002"))
    assert (home / "vault.bin").read_bytes() == before


@pytest.mark.parametrize("where", ["ciphertext", "tag", "nonce", "salt"])
def test_a_tampered_byte_is_rejected(home: Path, where: str) -> None:
    Vault(kdf_log2_n=FAST).add(Profile("main"), creds())
    path = home / "vault.bin"
    blob = bytearray(path.read_bytes())
    offset = {
        "salt": len(MAGIC) + 5,
        "nonce": len(MAGIC) + 5 + 32,
        "ciphertext": len(MAGIC) + 5 + 48 + 3,
        "tag": len(blob) - 1,
    }
    blob[offset[where]] ^= 0x01
    path.write_bytes(bytes(blob))
    with pytest.raises(VaultError) as err:
        Vault().credentials("main")
    # a changed salt changes the derived key, so it reads as a wrong password; anything else as damage
    assert ("wrong master password" if where == "salt" else "modified or damaged") in str(err.value)


def test_truncated_file_is_rejected(home: Path) -> None:
    Vault(kdf_log2_n=FAST).add(Profile("main"), creds())
    path = home / "vault.bin"
    blob = path.read_bytes()
    for cut in (10, len(blob) - 5):
        path.write_bytes(blob[:cut])
        with pytest.raises(VaultError, match=r"truncated|modified or damaged"):
            Vault().credentials("main")


def test_file_readable_by_others_is_refused(home: Path) -> None:
    Vault(kdf_log2_n=FAST).add(Profile("main"), creds())
    (home / "vault.bin").chmod(0o644)
    with pytest.raises(VaultError, match="accessible by other users") as err:
        Vault().credentials("main")
    assert "chmod 600" in err.value.fix


def test_password_from_environment_warns(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OKXBOT_VAULT_PASSWORD_FILE")
    monkeypatch.setenv("OKXBOT_VAULT_PASSWORD", "an environment password")
    warnings: list[str] = []
    Vault(password=MasterPassword(warnings.append), kdf_log2_n=FAST).add(Profile("main"), creds())
    assert any("OKXBOT_VAULT_PASSWORD" in w and "warning" in w for w in warnings)


def test_systemd_credential_is_a_password_source(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OKXBOT_VAULT_PASSWORD_FILE")
    creds_dir = tmp_path / "credentials"
    creds_dir.mkdir()
    (creds_dir / "okxbot-vault-password").write_text("systemd provided password")
    (creds_dir / "okxbot-vault-password").chmod(0o600)
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(creds_dir))
    Vault(kdf_log2_n=FAST).add(Profile("main"), creds())
    assert Vault().credentials("main").values() == creds().values()


def test_no_password_source_and_no_terminal_says_what_to_do(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OKXBOT_VAULT_PASSWORD_FILE")
    monkeypatch.setattr(sys.stdin, "isatty", lambda: False)
    with pytest.raises(VaultError, match="no terminal") as err:
        Vault(kdf_log2_n=FAST).add(Profile("main"), creds())
    assert "OKXBOT_VAULT_PASSWORD_FILE" in err.value.fix
    from okxbot.vault.profiles import ProfileStore

    assert ProfileStore().all() == []


def test_short_new_password_is_refused(home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    short = tmp_path / "short"
    short.write_text("short")
    short.chmod(0o600)
    monkeypatch.setenv("OKXBOT_VAULT_PASSWORD_FILE", str(short))
    with pytest.raises(VaultError, match="shorter than"):
        Vault(kdf_log2_n=FAST).add(Profile("main"), creds())


_WRITER = textwrap.dedent(
    """
    import sys
    from okxbot.vault.profiles import Profile
    from okxbot.vault.secret import Credentials, Secret
    from okxbot.vault.store import Vault

    vault = Vault(kdf_log2_n=14)
    prefix, count = sys.argv[1], int(sys.argv[2])
    for i in range(count):
        c = Credentials(Secret(f"{prefix}-key-{i:04d}"), Secret("S" * 32), Secret(f"pass-{prefix}-{i}"))
        if count > 1000:   # the endless writer: overwrite one entry again and again
            vault.file.put("spin", c)
            if i == 0:
                print("ready", flush=True)
        else:
            vault.add(Profile(f"{prefix}{i}"), c)
    """
)


def _writer(prefix: str, count: int) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", _WRITER, prefix, str(count)],
        stdout=subprocess.PIPE,
        text=True,
        env=os.environ.copy(),
    )


def test_two_processes_writing_at_once_lose_nothing(home: Path) -> None:
    Vault(kdf_log2_n=FAST).add(Profile("seed"), creds())  # both writers open an existing vault
    writers = [_writer("a", 6), _writer("b", 6)]
    for proc in writers:
        assert proc.wait(timeout=60) == 0
    vault = Vault()
    names = {p.name for p in vault.profiles.all()}
    assert names == {"seed"} | {f"a{i}" for i in range(6)} | {f"b{i}" for i in range(6)}
    for i in range(6):
        assert vault.credentials(f"b{i}").passphrase.reveal() == f"pass-b-{i}"


def test_a_kill_during_writes_leaves_a_whole_vault(home: Path) -> None:
    Vault(kdf_log2_n=FAST).add(Profile("main"), creds())
    for round_ in range(3):
        proc = _writer("spin", 10**9)
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        time.sleep(0.05 * (round_ + 1))  # land somewhere inside the stream of writes
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        vault = Vault()
        assert vault.credentials("main").values() == creds().values()
        assert vault.file.get("spin") is not None
        vault.file._check_mode()
