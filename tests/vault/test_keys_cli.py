from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from okxbot.cli.main import app

KEY = "4a3b2c1d-0e9f-4a8b-9c7d-6e5f4a3b2c1d"
SECRET = "0F1E2D3C4B5A69788796A5B4C3D2E1F0"
PASSPHRASE = "cli-test-Pass-99"


@pytest.fixture
def runner(home: Path) -> CliRunner:
    return CliRunner()


def env(key: str = KEY, secret: str = SECRET, passphrase: str = PASSPHRASE) -> dict[str, str]:
    return {"OKX_API_KEY": key, "OKX_SECRET_KEY": secret, "OKX_PASSPHRASE": passphrase}


def test_keys_help_explains_the_three_values(runner: CliRunner) -> None:
    out = runner.invoke(app, ["keys", "--help"]).stdout
    assert "public identifier" in out and "ONCE" in out and "chose when creating" in out
    assert "never accepts them as command-line arguments" in out


def test_add_list_show_rotate_remove(runner: CliRunner, home: Path) -> None:
    added = runner.invoke(app, ["keys", "add", "main", "--from-env", "--notes", "laptop"], env=env())
    assert added.exit_code == 0, added.output
    assert "encrypted vault file" in added.stdout and "****" + KEY[-4:] in added.stdout

    listed = json.loads(runner.invoke(app, ["keys", "list", "--json"]).stdout)
    assert [(p["name"], p["environment"], p["purpose"], p["key_hint"]) for p in listed] == [
        ("main", "live", "trade", "********" + KEY[-4:])
    ]
    shown = runner.invoke(app, ["keys", "show", "main"]).stdout
    assert "encrypted vault file" in shown and "laptop" in shown and KEY not in shown

    new_key = "ffffffff-0e9f-4a8b-9c7d-6e5f4a3b9999"
    rotated = runner.invoke(
        app, ["keys", "rotate", "main", "--from-env"], env=env(key=new_key, passphrase="rotated-Pass-1")
    )
    assert rotated.exit_code == 0, rotated.output
    assert "9999" in rotated.stdout and "overwritten" in rotated.stdout

    from okxbot.vault.store import Vault

    assert Vault().credentials("main").values() == (new_key, SECRET, "rotated-Pass-1")

    removed = runner.invoke(app, ["keys", "remove", "main", "--yes"])
    assert removed.exit_code == 0 and "delete it there" in removed.stdout
    assert json.loads(runner.invoke(app, ["keys", "list", "--json"]).stdout) == []


def test_bad_input_gives_an_error_with_a_fix_and_exit_2(runner: CliRunner) -> None:
    bad_name = runner.invoke(app, ["keys", "add", "my key!", "--from-env"], env=env())
    assert bad_name.exit_code == 2 and "Fix:" in bad_name.stderr and "Traceback" not in bad_name.output

    region = runner.invoke(app, ["keys", "add", "x", "--region", "mars", "--from-env"], env=env())
    assert region.exit_code == 2 and "eea" in region.stderr

    swapped = runner.invoke(app, ["keys", "add", "x", "--from-env"], env=env(key=SECRET, secret=KEY))
    assert swapped.exit_code == 2 and "swapped" in swapped.stderr

    assert runner.invoke(app, ["keys", "add", "main", "--from-env"], env=env()).exit_code == 0
    again = runner.invoke(app, ["keys", "add", "main", "--from-env"], env=env())
    assert again.exit_code == 2 and "keys rotate main" in again.stderr

    missing = runner.invoke(app, ["keys", "show", "nope"])
    assert missing.exit_code == 2 and "keys add nope" in missing.stderr


def test_a_secret_is_never_accepted_as_an_argument(runner: CliRunner) -> None:
    result = runner.invoke(app, ["keys", "add", "main", KEY, SECRET, PASSPHRASE])
    assert result.exit_code == 2  # usage error: there is no such argument
    result = runner.invoke(app, ["keys", "add", "main", "--secret", SECRET])
    assert result.exit_code == 2


def test_prompted_values_are_hidden(runner: CliRunner) -> None:
    result = runner.invoke(app, ["keys", "add", "typed"], input=f"{KEY}\n{SECRET}\n{PASSPHRASE}\n")
    assert result.exit_code == 0, result.output
    assert SECRET not in result.output and PASSPHRASE not in result.output and KEY not in result.output
    from okxbot.vault.store import Vault

    assert Vault().credentials("typed").values() == (KEY, SECRET, PASSPHRASE)


def test_add_a_simulator_key_bound_to_its_url(runner: CliRunner, home: Path) -> None:
    url = "http://127.0.0.1:8080"
    added = runner.invoke(app, ["keys", "add", "local", "--sim", url + "/", "--from-env"], env=env())
    assert added.exit_code == 0, added.output
    assert f"simulator, bound to {url}" in added.stdout and "sim-vault.bin" in added.stdout
    shown = runner.invoke(app, ["keys", "show", "local"]).stdout
    assert f"bound to {url}" in shown and "simulator key file" in shown
    listed = json.loads(runner.invoke(app, ["keys", "list", "--json"]).stdout)
    assert [(p["name"], p["sim_url"], p["environment"]) for p in listed] == [("local", url, "simulator")]

    region = runner.invoke(
        app, ["keys", "add", "x", "--sim", url, "--region", "eea", "--from-env"], env=env()
    )
    assert region.exit_code == 2 and "drop --region" in region.stderr
    okx_host = runner.invoke(
        app, ["keys", "add", "x", "--sim", "https://www.okx.com", "--from-env"], env=env()
    )
    assert okx_host.exit_code == 2 and "OKX itself" in okx_host.stderr

    # the key of a stored OKX profile is never accepted as a simulator key
    other = "1a2b3c4d-0e9f-4a8b-9c7d-6e5f4a3b0000"
    assert runner.invoke(app, ["keys", "add", "real", "--from-env"], env=env(key=other)).exit_code == 0
    mistake = runner.invoke(app, ["keys", "add", "oops", "--sim", url, "--from-env"], env=env(key=other))
    assert mistake.exit_code == 2 and "OKX key of profile 'real'" in mistake.stderr
    assert "oops" not in runner.invoke(app, ["keys", "list", "--json"]).stdout
