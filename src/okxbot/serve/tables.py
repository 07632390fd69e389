"""The serve tables, kept in the journal's database (SQLite by default, PostgreSQL by URL).

One database holds the journal, the bot registry (which bots exist, who runs them, their last status),
the control commands passed between supervisors, the recent events, and the dashboard's credentials
(password hash, hashed API tokens, hashed sessions, failed logins). Supervisors on several machines
that share one PostgreSQL therefore share all of it.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, Column, Integer, MetaData, String, Table, Text

metadata = MetaData()

bots = Table(
    "serve_bots",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("config_text", Text, nullable=False),  # the TOML itself: any supervisor can run the bot
    Column("config_path", String(500), nullable=False, default=""),  # where it came from (custom .py)
    Column("profile", String(64), nullable=True),  # vault profile (each machine's own vault)
    Column("sim_url", String(200), nullable=True),  # --sim URL, when the bot trades on a simulator
    Column("desired", String(10), nullable=False, default="stopped"),  # running | stopped
    Column("state", String(16), nullable=False, default="stopped"),  # see bot_slot.STATES
    Column("owner", String(80), nullable=True),  # the supervisor holding the lease
    Column("lease_until_ms", BigInteger, nullable=False, default=0),
    Column("restarts", Integer, nullable=False, default=0),
    Column("last_error", String(500), nullable=False, default=""),
    Column("status", Text, nullable=False, default="{}"),  # the owner's latest snapshot (JSON)
    Column("created_ms", BigInteger, nullable=False),
    Column("updated_ms", BigInteger, nullable=False),
    Column("started_ms", BigInteger, nullable=False, default=0),
)

supervisors = Table(
    "serve_supervisors",
    metadata,
    Column("id", String(80), primary_key=True),
    Column("host", String(200), nullable=False),
    Column("pid", Integer, nullable=False),
    Column("api_url", String(300), nullable=False, default=""),
    Column("started_ms", BigInteger, nullable=False),
    Column("heartbeat_ms", BigInteger, nullable=False),
)

commands = Table(
    "serve_commands",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("bot", String(64), nullable=False, index=True),
    Column("action", String(20), nullable=False),
    Column("args", Text, nullable=False, default="{}"),
    Column("requested_by", String(80), nullable=False),
    Column("created_ms", BigInteger, nullable=False),
    Column("claimed_by", String(80), nullable=True),
    Column("done_ms", BigInteger, nullable=True),
    Column("ok", Boolean, nullable=True),
    Column("result", Text, nullable=False, default="{}"),
)

events = Table(
    "serve_events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("ts_ms", BigInteger, nullable=False, index=True),
    Column("bot", String(64), nullable=False),
    Column("kind", String(20), nullable=False),
    Column("origin", String(80), nullable=False),
    Column("data", Text, nullable=False),
)

settings = Table(  # the dashboard password hash (key "password"), one row per setting
    "serve_settings",
    metadata,
    Column("key", String(40), primary_key=True),
    Column("value", Text, nullable=False),
    Column("updated_ms", BigInteger, nullable=False),
)

tokens = Table(
    "serve_tokens",
    metadata,
    Column("id", String(16), primary_key=True),  # public part, shown in `token list`
    Column("name", String(64), nullable=False),
    Column("digest", String(64), nullable=False),  # SHA-256 of the secret part (never the secret)
    Column("scopes", String(40), nullable=False),  # "read" | "read,control"
    Column("created_ms", BigInteger, nullable=False),
    Column("last_used_ms", BigInteger, nullable=False, default=0),
    Column("revoked_ms", BigInteger, nullable=False, default=0),
)

sessions = Table(
    "serve_sessions",
    metadata,
    Column("digest", String(64), primary_key=True),  # SHA-256 of the cookie value
    Column("csrf", String(64), nullable=False),
    Column("created_ms", BigInteger, nullable=False),
    Column("seen_ms", BigInteger, nullable=False),
    Column("expires_ms", BigInteger, nullable=False),
    Column("control_until_ms", BigInteger, nullable=False, default=0),  # control unlocked until
    Column("client", String(64), nullable=False, default=""),
)

login_failures = Table(
    "serve_login_failures",
    metadata,
    Column("source", String(64), primary_key=True),  # a client address, or "*" for all of them
    Column("failures", Integer, nullable=False),
    Column("first_ms", BigInteger, nullable=False),
    Column("locked_until_ms", BigInteger, nullable=False, default=0),
)
