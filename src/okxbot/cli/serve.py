"""`okxbot serve`: run many bots under one supervisor, with a web dashboard, an HTTP API and /metrics.

Also `okxbot serve passwd`, `okxbot serve token create|list|revoke`, `okxbot serve add|bots|remove` and
the alerts (`okxbot serve telegram|webhook|alerts ...`, in okxbot.cli.serve_alerts).
Heavy imports (fastapi, uvicorn, sqlalchemy, ccxt) happen inside the command bodies.
"""

from __future__ import annotations

from pathlib import Path

import typer

from okxbot.cli import serve_alerts

app = typer.Typer(
    help=(
        "Run bots under one supervisor with a web dashboard, an HTTP API (/docs) and Prometheus /metrics.\n\n"
        "First `okxbot serve passwd` (the dashboard password), then `okxbot serve` and open the URL it "
        "prints. Listens on 127.0.0.1 only unless told otherwise (--expose, with TLS)."
    ),
    no_args_is_help=False,
    invoke_without_command=True,
)
token_app = typer.Typer(
    help="API tokens for scripts and Prometheus (read, or read + control).", no_args_is_help=True
)
app.add_typer(token_app, name="token")
serve_alerts.register(app)  # okxbot serve telegram | webhook | alerts

DB_HELP = (
    "The database of the journal, the bot registry and the dashboard's credentials: sqlite:///PATH or "
    "postgresql+psycopg://USER@HOST/DB (several supervisors on several machines share one PostgreSQL). "
    "Default: DATA_DIR/journal.sqlite."
)


@app.callback()
def serve(
    ctx: typer.Context,
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on (loopback by default)."),
    port: int = typer.Option(8765, "--port", help="Port to listen on (0: any free port).", min=0, max=65535),
    db: str | None = typer.Option(None, "--db", envvar="OKXBOT_SERVE_DB", help=DB_HELP),
    redis: str | None = typer.Option(
        None,
        "--redis",
        envvar="OKXBOT_REDIS_URL",
        help="redis://HOST:6379/0 to share rate limits with other supervisors or `okxbot run` processes on the same keys.",
    ),
    tls_cert: Path | None = typer.Option(None, "--tls-cert", help="PEM certificate: serve HTTPS."),
    tls_key: Path | None = typer.Option(None, "--tls-key", help="PEM private key of --tls-cert."),
    expose: bool = typer.Option(
        False, "--expose", help="Allow a non-loopback --host (needs TLS or --behind-tls-proxy)."
    ),
    behind_tls_proxy: bool = typer.Option(
        False,
        "--behind-tls-proxy",
        help="A reverse proxy in front provides HTTPS (plain HTTP here; a warning is printed).",
    ),
    public_host: list[str] = typer.Option(
        [], "--public-host", help="A host name browsers use to reach this server (repeatable)."
    ),
    supervisor_id: str | None = typer.Option(
        None, "--id", help="This supervisor's id in the shared registry (default: host name + data dir)."
    ),
    lease_seconds: float = typer.Option(
        15.0,
        "--lease-seconds",
        min=2.0,
        help="How long a bot's lease lasts unrenewed: after a supervisor dies, another takes its bots over within this.",
    ),
) -> None:
    """Start the supervisor, its bots, the dashboard and the API; stop with Ctrl-C (bots stop cleanly)."""
    if ctx.invoked_subcommand is not None:
        return
    import asyncio

    from okxbot.serve.server import ServeOptions, ServeRefused, check_binding, serve_forever
    from okxbot.trading import eventloop
    from okxbot.vault.home import okxbot_home

    home = okxbot_home()
    options = ServeOptions(
        home=home,
        host=host,
        port=port,
        db_url=db,
        redis_url=redis,
        tls_cert=tls_cert,
        tls_key=tls_key,
        expose=expose,
        behind_tls_proxy=behind_tls_proxy,
        public_hosts=tuple(public_host),
        sid=supervisor_id,
        supervisor={"lease_ttl_s": lease_seconds, "renew_s": max(0.5, lease_seconds / 3)},
    )
    try:
        for warning in check_binding(options):
            typer.secho(warning, fg="red", bold=True, err=True)
    except ServeRefused as err:
        typer.echo(f"Error: {err}", err=True)
        raise typer.Exit(2) from None
    _ensure_password(db, home)

    def ready(running: object) -> None:
        url = getattr(running, "url", "")
        typer.echo(f"okxbot serve: dashboard at {url}/  (API docs: {url}/docs, metrics: {url}/metrics)")
        typer.echo("Stop with Ctrl-C: bots stop cleanly and resume at the next start.")

    try:
        eventloop.run(serve_forever(options, ready))
    except (OSError, ServeRefused) as err:
        typer.echo(f"Error: {err}", err=True)
        raise typer.Exit(1) from None
    except (KeyboardInterrupt, asyncio.CancelledError):
        pass


def _store(db: str | None, home: Path) -> object:
    from okxbot.serve.access import AccessStore
    from okxbot.serve.db import database_url, open_engine

    return AccessStore(open_engine(database_url(db, home)))


def _ensure_password(db: str | None, home: Path) -> None:
    import sys

    from okxbot.serve.access import AccessStore

    store = _store(db, home)
    assert isinstance(store, AccessStore)
    if store.password_hash() is not None:
        return
    if not sys.stdin.isatty():
        typer.echo("Error: no dashboard password is set.\n  Fix: run `okxbot serve passwd` first.", err=True)
        raise typer.Exit(2)
    typer.echo("No dashboard password yet: choose one now (at least 12 characters).")
    _set_password(store, None)


def _set_password(store: object, password_file: Path | None) -> None:
    import getpass

    from okxbot.serve.access import AccessStore
    from okxbot.serve.passwords import PasswordRefused, hash_password

    assert isinstance(store, AccessStore)
    if password_file is not None:
        try:
            password = password_file.read_text(encoding="utf-8").rstrip("\r\n")
        except OSError as err:
            typer.echo(f"Error: cannot read {password_file} ({err.strerror})", err=True)
            raise typer.Exit(2) from None
    else:
        password = getpass.getpass("New dashboard password: ")
        if getpass.getpass("Again: ") != password:
            typer.echo("Error: the two passwords differ; nothing was changed.", err=True)
            raise typer.Exit(2)
    try:
        hashed = hash_password(password)
    except PasswordRefused as err:
        typer.echo(f"Error: password refused: {err}", err=True)
        raise typer.Exit(2) from None
    store.set_password_hash(hashed)
    typer.echo("Password set (argon2id hash stored); every session was logged out and lockouts lifted.")


@app.command("passwd")
def passwd(
    db: str | None = typer.Option(None, "--db", envvar="OKXBOT_SERVE_DB", help=DB_HELP),
    password_file: Path | None = typer.Option(
        None,
        "--password-file",
        help="Read the new password from this file (automation) instead of prompting.",
    ),
) -> None:
    """Set the dashboard password (stored as an argon2id hash; also ends sessions and lifts lockouts)."""
    from okxbot.vault.home import okxbot_home

    _set_password(_store(db, okxbot_home()), password_file)


@token_app.command("create")
def token_create(
    name: str = typer.Argument(..., help="What will use the token, e.g. prometheus or my-script."),
    control: bool = typer.Option(
        False, "--control", help="Also allow control actions (start, stop, cancel, panic)."
    ),
    db: str | None = typer.Option(None, "--db", envvar="OKXBOT_SERVE_DB", help=DB_HELP),
) -> None:
    """Create an API token and print it once (only its hash is kept). Use: Authorization: Bearer TOKEN."""
    from okxbot.serve.access import AccessStore
    from okxbot.vault.home import okxbot_home

    store = _store(db, okxbot_home())
    assert isinstance(store, AccessStore)
    try:
        token = store.create_token(name, ("read", "control") if control else ("read",))
    except ValueError as err:
        typer.echo(f"Error: {err}", err=True)
        raise typer.Exit(2) from None
    typer.echo(token)
    typer.echo(
        f"Scopes: {'read, control' if control else 'read'}. Shown once: store it like a password.", err=True
    )


@token_app.command("list")
def token_list(db: str | None = typer.Option(None, "--db", envvar="OKXBOT_SERVE_DB", help=DB_HELP)) -> None:
    """List API tokens (ids, names, scopes, last use; never the tokens themselves)."""
    from datetime import UTC, datetime

    from rich.console import Console
    from rich.table import Table

    from okxbot.serve.access import AccessStore
    from okxbot.vault.home import okxbot_home

    store = _store(db, okxbot_home())
    assert isinstance(store, AccessStore)

    def when(ms: int) -> str:
        return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M") if ms else "-"

    table = Table(title="API tokens")
    for col in ("id", "name", "scopes", "created", "last used", "revoked"):
        table.add_column(col)
    for t in store.tokens():
        table.add_row(
            t.id, t.name, ",".join(t.scopes), when(t.created_ms), when(t.last_used_ms), when(t.revoked_ms)
        )
    Console().print(table)


@token_app.command("revoke")
def token_revoke(
    token_id: str = typer.Argument(..., help="The token's id (from `okxbot serve token list`)."),
    db: str | None = typer.Option(None, "--db", envvar="OKXBOT_SERVE_DB", help=DB_HELP),
) -> None:
    """Revoke an API token at once (on every supervisor sharing the database)."""
    from okxbot.serve.access import AccessStore
    from okxbot.vault.home import okxbot_home

    store = _store(db, okxbot_home())
    assert isinstance(store, AccessStore)
    if not store.revoke_token(token_id):
        typer.echo(f"Error: no live token with id {token_id!r}", err=True)
        raise typer.Exit(1)
    typer.echo(f"Token {token_id} revoked.")


@app.command("add")
def add(
    config: Path = typer.Argument(..., help="The bot's TOML config (see examples/)."),
    profile: str | None = typer.Option(None, "--profile", "-p", help="Vault profile whose key trades."),
    sim: str | None = typer.Option(None, "--sim", help="Trade on the okxbot simulator at this URL."),
    replace: bool = typer.Option(
        False, "--replace", help="Replace the config of a stopped bot of that name."
    ),
    db: str | None = typer.Option(None, "--db", envvar="OKXBOT_SERVE_DB", help=DB_HELP),
) -> None:
    """Add a bot to the supervisor's registry (start it from the dashboard, or the API)."""
    from okxbot.serve.db import database_url, open_engine
    from okxbot.serve.registry import Registry, RegistryError
    from okxbot.trading.config import ConfigError, load_config
    from okxbot.vault.errors import VaultError
    from okxbot.vault.home import okxbot_home
    from okxbot.vault.profiles import check_sim_url

    try:
        bot = load_config(config)
        sim_url = check_sim_url(sim) if sim else None
    except (ConfigError, VaultError) as err:
        typer.echo(f"Error: {err}", err=True)
        raise typer.Exit(2) from None
    registry = Registry(open_engine(database_url(db, okxbot_home())))
    try:
        registry.add_bot(
            bot.name,
            config.read_text(encoding="utf-8"),
            config_path=str(config.resolve()),
            profile=profile,
            sim_url=sim_url,
            replace=replace,
        )
    except RegistryError as err:
        typer.echo(f"Error: {err}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"Bot {bot.name} added ({bot.symbol}, {bot.strategy}); start it from the dashboard.")


@app.command("bots")
def bots(db: str | None = typer.Option(None, "--db", envvar="OKXBOT_SERVE_DB", help=DB_HELP)) -> None:
    """List the registry's bots: desired and actual state, owning supervisor, last error."""
    from rich.console import Console
    from rich.table import Table

    from okxbot.serve.db import database_url, open_engine
    from okxbot.serve.registry import Registry
    from okxbot.vault.home import okxbot_home

    registry = Registry(open_engine(database_url(db, okxbot_home())))
    table = Table(title="okxbot serve: bots")
    for col in ("bot", "desired", "state", "supervisor", "profile / sim", "restarts", "last error"):
        table.add_column(col)
    for row in registry.bots():
        table.add_row(
            row.name,
            row.desired,
            row.state if row.lease_valid() or row.state == "failed" else "stopped",
            row.owner if row.lease_valid() else "-",
            row.profile or row.sim_url or "-",
            str(row.restarts),
            row.last_error[:60],
        )
    Console().print(table)


@app.command("remove")
def remove(
    name: str = typer.Argument(..., help="The bot's name."),
    db: str | None = typer.Option(None, "--db", envvar="OKXBOT_SERVE_DB", help=DB_HELP),
) -> None:
    """Remove a stopped bot from the registry (its journal is kept)."""
    from okxbot.serve.db import database_url, open_engine
    from okxbot.serve.registry import Registry, RegistryError
    from okxbot.vault.home import okxbot_home

    try:
        Registry(open_engine(database_url(db, okxbot_home()))).remove_bot(name)
    except RegistryError as err:
        typer.echo(f"Error: {err}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"Bot {name} removed.")
