"""`okxbot serve` commands, the offline /docs page, and the vendored dashboard assets."""

from __future__ import annotations

import hashlib
import json
from decimal import Decimal
from pathlib import Path

import httpx
from typer.testing import CliRunner

from okxbot.cli.main import app
from okxbot.serve.access import AccessStore
from okxbot.serve.db import database_url, open_engine
from okxbot.serve.server import Running
from tests.serve import kit

STATIC = Path(__file__).resolve().parents[2] / "src" / "okxbot" / "serve" / "static"


def test_passwd_and_tokens(home: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    short = tmp_path / "short"
    short.write_text("too short")
    refused = runner.invoke(app, ["serve", "passwd", "--password-file", str(short)])
    assert refused.exit_code == 2 and "at least 12" in refused.output
    good = tmp_path / "good"
    good.write_text(kit.PASSWORD + "\n")
    assert runner.invoke(app, ["serve", "passwd", "--password-file", str(good)]).exit_code == 0
    store = AccessStore(open_engine(database_url(None, home)))
    stored = store.password_hash()
    assert stored is not None and stored.startswith("$argon2id$")
    created = runner.invoke(app, ["serve", "token", "create", "grafana"])
    assert created.exit_code == 0
    token = created.stdout.strip().splitlines()[0]
    assert token.startswith("okxb_") and store.check_token(token) is not None
    listed = runner.invoke(app, ["serve", "token", "list"])
    tid = token.split("_")[1]
    assert tid in listed.stdout and token.rsplit("_", 1)[1] not in listed.stdout
    assert runner.invoke(app, ["serve", "token", "revoke", tid]).exit_code == 0
    assert store.check_token(token) is None
    assert runner.invoke(app, ["serve", "token", "revoke", tid]).exit_code == 1


def test_serve_refuses_unsafe_binding_and_missing_password(home: Path) -> None:
    runner = CliRunner()
    wide = runner.invoke(app, ["serve", "--host", "0.0.0.0", "--port", "0"])
    assert wide.exit_code == 2 and "--expose" in wide.output
    plain = runner.invoke(app, ["serve", "--host", "0.0.0.0", "--expose", "--port", "0"])
    assert plain.exit_code == 2 and "--tls-cert" in plain.output
    nopass = runner.invoke(app, ["serve", "--port", "0"])
    assert nopass.exit_code == 2 and "okxbot serve passwd" in nopass.output


def test_add_and_list_bots(home: Path, tmp_path: Path) -> None:
    config = tmp_path / "grid.toml"
    config.write_text(kit.grid_config("grid-cli", Decimal("60000")))
    runner = CliRunner()
    added = runner.invoke(app, ["serve", "add", str(config), "--sim", "http://127.0.0.1:9"])
    assert added.exit_code == 0, added.output
    again = runner.invoke(app, ["serve", "add", str(config)])
    assert again.exit_code == 1 and "already exists" in again.output
    listed = runner.invoke(app, ["serve", "bots"])
    assert "grid-cli" in listed.stdout
    assert runner.invoke(app, ["serve", "remove", "grid-cli"]).exit_code == 0


def test_docs_work_offline(served: Running, client: kit.Client) -> None:
    assert client.login().status_code == 200
    page = client.get("/docs")
    assert page.status_code == 200 and "/static/swagger-ui/swagger-ui-bundle.js" in page.text
    assert "http" not in page.text.replace("http-equiv", "")  # nothing from another host
    bundle = client.get("/static/swagger-ui/swagger-ui-bundle.js")
    assert bundle.status_code == 200 and len(bundle.content) > 100_000
    spec = client.get("/openapi.json").json()
    assert "/api/bots/{name}/stop" in spec["paths"] and "/api/fills" in spec["paths"]
    with httpx.Client(base_url=served.url) as anonymous:
        assert anonymous.get("/openapi.json").status_code == 401


def test_vendored_assets_match_their_manifest() -> None:
    manifest = json.loads((STATIC / "vendor" / "MANIFEST.json").read_text())
    for name, entry in manifest.items():
        for path, digest in entry["files"].items():
            data = (STATIC / "vendor" / path).read_bytes()
            assert hashlib.sha256(data).hexdigest() == digest, (
                f"{name}: {path} differs from its pinned checksum"
            )
    # the dashboard imports exactly the pinned version
    assert (
        f"/static/vendor/uplot-{manifest['uplot']['version']}/uPlot.esm.js"
        in (STATIC / "chart.js").read_text()
    )


def test_okxbot_stop_reaches_the_supervisor(home: Path) -> None:
    """`okxbot serve` registers itself with the run directory, so `okxbot stop` (and `okxbot panic`)
    reach it: SIGTERM, and it stops its bots cleanly and exits."""
    import os
    import re
    import subprocess
    import sys
    import threading

    kit.set_password(home)
    env = dict(os.environ)
    proc = subprocess.Popen(
        [sys.executable, "-m", "okxbot", "serve", "--port", "0"],
        env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    ready = threading.Event()
    lines: list[str] = []

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line)
            if re.search(r"dashboard at http://127\.0\.0\.1:\d+/", line):
                ready.set()

    threading.Thread(target=read, daemon=True).start()
    try:
        assert ready.wait(90), "".join(lines)
        stopped = CliRunner().invoke(app, ["stop", "--wait", "60"])
        assert stopped.exit_code == 0, stopped.output
        assert proc.wait(60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
