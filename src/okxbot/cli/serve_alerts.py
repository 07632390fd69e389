"""`okxbot serve telegram ...`, `okxbot serve webhook ...` and `okxbot serve alerts ...`.

Secrets (the bot token, a webhook's URL and signing secret) go to the vault, never on the command
line: the token is typed at a hidden prompt (or read from --token-file), a webhook URL holding a
token can be typed hidden too (URL "-"). Everything else goes to the serve database's settings,
which a running `okxbot serve` re-reads within seconds. Heavy imports happen inside the commands.
"""

from __future__ import annotations

from pathlib import Path

import typer

KINDS_HELP = "fill, halted, foreign_order, posture, rate_limited, crash, panic"

telegram_app = typer.Typer(
    help=(
        "Alerts to your Telegram, and commands from it (/status, /balance, /profit, /daily, /bots, "
        "/stop NAME, /panic PROFILE). Start with `okxbot serve telegram setup`."
    ),
    no_args_is_help=True,
)
webhook_app = typer.Typer(
    help="Alerts as signed JSON POSTs (HMAC-SHA256, see README 'Webhooks') to URLs of your choice.",
    no_args_is_help=True,
)
alerts_app = typer.Typer(
    help=f"Which alerts are sent: per kind on / silent / off on Telegram ({KINDS_HELP}); a test alert.",
    no_args_is_help=True,
)
DB_HELP = "The serve database, as for `okxbot serve --db` (default: DATA_DIR/journal.sqlite)."


def register(serve_app: typer.Typer) -> None:
    """Add the telegram, webhook and alerts groups to `okxbot serve`."""
    serve_app.add_typer(telegram_app, name="telegram")
    serve_app.add_typer(webhook_app, name="webhook")
    serve_app.add_typer(alerts_app, name="alerts")


def _fail(message: str, code: int = 2) -> typer.Exit:
    typer.echo(f"Error: {message}", err=True)
    return typer.Exit(code)


def _store(db: str | None) -> object:
    from okxbot.serve.alert_settings import AlertStore
    from okxbot.serve.db import database_url, open_engine
    from okxbot.vault.home import okxbot_home

    return AlertStore(open_engine(database_url(db, okxbot_home())))


def _alert_store(db: str | None):  # type: ignore[no-untyped-def]
    from okxbot.serve.alert_settings import AlertStore

    store = _store(db)
    assert isinstance(store, AlertStore)
    return store


def _read_hidden(prompt: str, file: Path | None, what: str) -> str:
    import getpass
    import sys

    if file is not None:
        try:
            return file.read_text(encoding="utf-8").strip()
        except OSError as err:
            raise _fail(f"cannot read {file} ({err.strerror})") from None
    if not sys.stdin.isatty():
        raise _fail(f"no terminal to type the {what} at: give it in a file (mode 0600) with the file option")
    return getpass.getpass(prompt).strip()


# ---- telegram ---------------------------------------------------------------------------------------
@telegram_app.command("setup")
def telegram_setup(
    chat_id: int | None = typer.Option(
        None,
        "--chat-id",
        help="The one chat allowed to command the bot (else: `okxbot serve telegram allow` later).",
    ),
    api_url: str = typer.Option(
        "https://api.telegram.org",
        "--api-url",
        help="The Bot API server (a self-hosted one, or a local test fake).",
    ),
    token_file: Path | None = typer.Option(
        None,
        "--token-file",
        help="Read the bot token from this file instead of a hidden prompt (automation).",
    ),
    control: bool = typer.Option(
        True, "--control/--read-only", help="Allow /stop and /panic from Telegram (each asks to confirm)."
    ),
    check: bool = typer.Option(
        True, "--check/--no-check", help="Check the token with Telegram (getMe) first."
    ),
    db: str | None = typer.Option(None, "--db", envvar="OKXBOT_SERVE_DB", help=DB_HELP),
) -> None:
    """Store the bot token (hidden prompt; create the bot with @BotFather) and turn Telegram alerts on.

    The token goes to the vault (OS keyring or encrypted vault file) and is sent only to --api-url.
    Then send /start to your bot: `okxbot serve` logs the id of a chat it does not know, which you
    authorise with `okxbot serve telegram allow ID` (or give --chat-id now).
    """
    import asyncio
    import re

    from okxbot.cli.target import cli_errors
    from okxbot.serve.alert_settings import SettingsError
    from okxbot.serve.db import now_ms
    from okxbot.serve.telegram import TOKEN_FORMAT, TelegramCheckError, call_once, check_api_url
    from okxbot.vault.secret import Secret
    from okxbot.vault.store import Vault

    try:
        api = check_api_url(api_url)
    except ValueError as err:
        raise _fail(str(err)) from None
    token = _read_hidden("Telegram bot token (from @BotFather; hidden): ", token_file, "bot token")
    if not re.match(TOKEN_FORMAT, token):
        raise _fail(
            "that is not a bot token: it looks like 123456789:AAE... (digits, a colon, 35 characters)"
        )
    if check:
        try:
            username = asyncio.run(call_once(Secret(token), api))
        except TelegramCheckError as err:
            raise _fail(str(err), 1) from None
        typer.echo(f"Token works: bot @{username}.")
    with cli_errors():
        where = Vault().secrets.put("telegram", "bot", {"token": token, "api_url": api})
    try:
        settings = _alert_store(db).set_telegram(token_ms=now_ms(), chat_id=chat_id, control=control)
    except SettingsError as err:
        raise _fail(str(err)) from None
    typer.echo(f"Telegram token saved. {where}")
    typer.echo(f"Control commands (/stop, /panic): {'on, each asks to confirm' if control else 'off'}.")
    if settings.chat_id is None:
        typer.echo(
            'Next: send /start to your bot in Telegram. `okxbot serve` logs "ignored an update from chat '
            'ID ..." in DATA_DIR/logs/serve.jsonl; authorise that chat with `okxbot serve telegram allow ID`.'
        )
    else:
        typer.echo(
            f"Authorised chat: {settings.chat_id}. A running `okxbot serve` picks this up within seconds."
        )


@telegram_app.command("allow")
def telegram_allow(
    chat_id: int = typer.Argument(..., help="The chat id (from `okxbot serve`'s log after you sent /start)."),
    db: str | None = typer.Option(None, "--db", envvar="OKXBOT_SERVE_DB", help=DB_HELP),
) -> None:
    """Make CHAT_ID the one chat that gets alerts and may command (replaces the previous one)."""
    store = _alert_store(db)
    if store.load().telegram is None:
        raise _fail("Telegram is not set up: run `okxbot serve telegram setup` first")
    store.set_telegram(chat_id=chat_id)
    typer.echo(f"Authorised chat: {chat_id}. Messages from every other chat are ignored.")
    if chat_id < 0:
        typer.secho(
            "Note: a negative id is a group: everyone in it can command your bots. A private chat is safer.",
            fg="yellow",
            err=True,
        )


@telegram_app.command("show")
def telegram_show(
    db: str | None = typer.Option(None, "--db", envvar="OKXBOT_SERVE_DB", help=DB_HELP),
) -> None:
    """Show the Telegram settings (never the token)."""
    from okxbot.vault.store import Vault

    settings = _alert_store(db).load()
    if settings.telegram is None:
        typer.echo("Telegram: not set up (okxbot serve telegram setup).")
        return
    stored = "bot" in Vault().secrets.names("telegram")
    typer.echo(f"Telegram: token {'in this machine vault' if stored else 'NOT in this machine vault'}")
    typer.echo(f"Authorised chat: {settings.chat_id if settings.chat_id is not None else 'none yet'}")
    typer.echo(f"Control commands: {'on' if settings.telegram_control else 'off (read-only)'}")


@telegram_app.command("remove")
def telegram_remove(
    db: str | None = typer.Option(None, "--db", envvar="OKXBOT_SERVE_DB", help=DB_HELP),
) -> None:
    """Turn Telegram off and delete the token from this machine's vault (revoke it with @BotFather too)."""
    from okxbot.cli.target import cli_errors
    from okxbot.vault.store import Vault

    _alert_store(db).remove_telegram()
    with cli_errors():
        Vault().secrets.delete("telegram", "bot")
    typer.echo("Telegram off; token deleted from this machine's vault.")


# ---- webhooks ---------------------------------------------------------------------------------------
@webhook_app.command("add")
def webhook_add(
    name: str = typer.Argument(..., help="A name for this webhook (shown in logs and metrics)."),
    url: str = typer.Argument(
        ..., help="Where to POST the alerts; '-' to type it hidden (a URL holding a token)."
    ),
    events: str = typer.Option("all", "--events", help=f"Comma-separated alert kinds, or all: {KINDS_HELP}."),
    secret_file: Path | None = typer.Option(
        None,
        "--secret-file",
        help="Use the signing secret in this file (default: a new random one, printed once).",
    ),
    allow_http: bool = typer.Option(False, "--allow-http", help="Allow plain http to a non-loopback host."),
    db: str | None = typer.Option(None, "--db", envvar="OKXBOT_SERVE_DB", help=DB_HELP),
) -> None:
    """Add (or replace) a webhook: alerts POSTed as JSON, signed with HMAC-SHA256 (X-Okxbot-Signature)."""
    import secrets

    from okxbot.cli.target import cli_errors
    from okxbot.serve.alert_settings import SettingsError, check_kinds, check_webhook_name
    from okxbot.serve.db import now_ms
    from okxbot.serve.webhooks import check_url, display_host
    from okxbot.vault.store import Vault

    try:
        check_webhook_name(name)
        kinds = check_kinds(events)
        if url == "-":
            url = _read_hidden("Webhook URL (hidden): ", None, "webhook URL")
        url = check_url(url, allow_http=allow_http)
    except (SettingsError, ValueError) as err:
        raise _fail(str(err)) from None
    generated = secret_file is None
    secret = secrets.token_urlsafe(32) if generated else _read_hidden("", secret_file, "secret")
    if len(secret) < 16:
        raise _fail("the signing secret must be at least 16 characters")
    with cli_errors():
        where = Vault().secrets.put("webhook", name, {"url": url, "secret": secret})
    _alert_store(db).set_webhook(name, kinds=kinds, host=display_host(url), enabled=True, secret_ms=now_ms())
    typer.echo(f"Webhook {name} -> {display_host(url)} ({', '.join(kinds)}). {where}")
    if generated:
        typer.echo("Signing secret (shown once; give it to the receiver to verify X-Okxbot-Signature):")
        typer.echo(secret)


@webhook_app.command("list")
def webhook_list(db: str | None = typer.Option(None, "--db", envvar="OKXBOT_SERVE_DB", help=DB_HELP)) -> None:
    """List webhooks: name, host (never the full URL or the secret), kinds, on/off."""
    from rich.console import Console
    from rich.table import Table

    settings = _alert_store(db).load()
    table = Table(title="okxbot serve: webhooks")
    for col in ("name", "host", "events", "enabled"):
        table.add_column(col)
    for hook in settings.webhooks.values():
        table.add_row(hook.name, hook.host, ", ".join(sorted(hook.kinds)), "yes" if hook.enabled else "no")
    Console().print(table)


@webhook_app.command("events")
def webhook_events(
    name: str = typer.Argument(..., help="The webhook's name."),
    events: str = typer.Argument(..., help=f"Comma-separated alert kinds, or all: {KINDS_HELP}."),
    db: str | None = typer.Option(None, "--db", envvar="OKXBOT_SERVE_DB", help=DB_HELP),
) -> None:
    """Choose which alert kinds a webhook gets."""
    from okxbot.serve.alert_settings import SettingsError, check_kinds

    store = _alert_store(db)
    if name not in store.load().webhooks:
        raise _fail(f"no webhook named {name!r} (see `okxbot serve webhook list`)", 1)
    try:
        store.set_webhook(name, kinds=check_kinds(events))
    except SettingsError as err:
        raise _fail(str(err)) from None
    typer.echo(f"Webhook {name}: {events}.")


@webhook_app.command("remove")
def webhook_remove(
    name: str = typer.Argument(..., help="The webhook's name."),
    db: str | None = typer.Option(None, "--db", envvar="OKXBOT_SERVE_DB", help=DB_HELP),
) -> None:
    """Remove a webhook and delete its URL and secret from this machine's vault."""
    from okxbot.cli.target import cli_errors
    from okxbot.vault.store import Vault

    found = _alert_store(db).remove_webhook(name)
    with cli_errors():
        deleted = Vault().secrets.delete("webhook", name)
    if not (found or deleted):
        raise _fail(f"no webhook named {name!r}", 1)
    typer.echo(f"Webhook {name} removed.")


# ---- alerts -----------------------------------------------------------------------------------------
@alerts_app.command("show")
def alerts_show(db: str | None = typer.Option(None, "--db", envvar="OKXBOT_SERVE_DB", help=DB_HELP)) -> None:
    """Show each alert kind's Telegram level and the webhooks taking it."""
    from rich.console import Console
    from rich.table import Table

    from okxbot.serve.alert_settings import ALERT_KINDS

    settings = _alert_store(db).load()
    table = Table(title="okxbot serve: alerts")
    for col in ("kind", "what", "telegram", "webhooks"):
        table.add_column(col)
    for kind, what in ALERT_KINDS.items():
        hooks = [h.name for h in settings.webhooks.values() if h.enabled and kind in h.kinds]
        table.add_row(kind, what, settings.level(kind), ", ".join(hooks) or "-")
    Console().print(table)
    chat = settings.chat_id
    telegram = (
        "not set up"
        if settings.telegram is None
        else f"chat {chat}"
        if chat is not None
        else "no chat authorised yet"
    )
    typer.echo(f"Telegram: {telegram}.")


@alerts_app.command("level")
def alerts_level(
    kinds: str = typer.Argument(..., help=f"Alert kind(s), comma-separated, or all: {KINDS_HELP}."),
    level: str = typer.Argument(..., help="on (with sound), silent (no sound) or off."),
    db: str | None = typer.Option(None, "--db", envvar="OKXBOT_SERVE_DB", help=DB_HELP),
) -> None:
    """Set the Telegram level of alert kinds: on, silent (delivered without a sound) or off."""
    from okxbot.serve.alert_settings import SettingsError

    try:
        settings = _alert_store(db).set_level(kinds.split(","), level)
    except SettingsError as err:
        raise _fail(str(err)) from None
    typer.echo(", ".join(f"{k}: {v}" for k, v in settings.levels.items()))


@alerts_app.command("test")
def alerts_test(db: str | None = typer.Option(None, "--db", envvar="OKXBOT_SERVE_DB", help=DB_HELP)) -> None:
    """Send a test alert now, from this command, to Telegram and to every enabled webhook."""
    import asyncio

    from okxbot.serve.alert_outbox import AlertMetrics
    from okxbot.serve.alert_text import trial_alert
    from okxbot.serve.telegram import TelegramCheckError, call_once
    from okxbot.serve.webhooks import RetryPolicy, WebhookChannel
    from okxbot.vault.errors import VaultError
    from okxbot.vault.store import Vault

    settings = _alert_store(db).load()
    vault = Vault()
    alert = trial_alert("okxbot serve alerts test")
    failures = 0
    tried = 0
    if settings.telegram is not None and settings.chat_id is not None:
        tried += 1
        try:
            entry = vault.secrets.get("telegram", "bot")
            if entry is None:
                raise TelegramCheckError(
                    "no token in this machine's vault: run `okxbot serve telegram setup`"
                )
            asyncio.run(call_once(entry["token"], entry["api_url"].reveal(), settings.chat_id, alert.text))
            typer.echo(f"Telegram: sent to chat {settings.chat_id}.")
        except (TelegramCheckError, VaultError) as err:
            failures += 1
            typer.echo(f"Telegram: FAILED: {err}", err=True)

    async def post(channel: WebhookChannel) -> bool:
        channel.start()
        try:
            return await channel.deliver(alert)
        finally:
            await channel.close()

    for hook in settings.webhooks.values():
        if not hook.enabled:
            continue
        tried += 1
        try:
            entry = vault.secrets.get("webhook", hook.name)
        except VaultError as err:
            failures += 1
            typer.echo(f"Webhook {hook.name}: FAILED: {err}", err=True)
            continue
        if entry is None:
            failures += 1
            typer.echo(f"Webhook {hook.name}: FAILED: not in this machine's vault", err=True)
            continue
        channel = WebhookChannel(
            hook.name,
            entry["url"],
            entry["secret"],
            AlertMetrics(None),
            policy=RetryPolicy(attempts=2, base_s=0.5),
        )
        if asyncio.run(post(channel)):
            typer.echo(f"Webhook {hook.name} ({hook.host}): delivered.")
        else:
            failures += 1
            typer.echo(f"Webhook {hook.name} ({hook.host}): FAILED (see the log lines above)", err=True)
    if not tried:
        raise _fail(
            "no alert channel is set up: `okxbot serve telegram setup` or `okxbot serve webhook add`", 1
        )
    if failures:
        raise typer.Exit(1)
