"""Who may use the dashboard and the API: the password hash, API tokens, sessions, failed logins.

Rules (the one home for them):
- Password: argon2id (okxbot.serve.passwords), set with `okxbot serve passwd`.
- Sessions: a random 256-bit cookie value, stored only as its SHA-256; a new value at every login
  (whatever session cookie the browser sent is discarded: no session fixation); idle timeout
  SESSION_IDLE_MS, absolute lifetime SESSION_MAX_MS; a per-session CSRF token required on every
  state-changing request. A fresh session is read-only: control actions need the password again
  ("unlock control"), which opens control for CONTROL_MS.
- API tokens: `okxb_<id>_<secret>`; only the SHA-256 of the secret is stored (a 256-bit random
  secret needs no slow hash); scopes "read" or "read,control"; revocable; compared in constant time.
- Failed logins: per client address, LOCK_AFTER failures within FAILURE_WINDOW_MS lock that address
  out for LOCK_MS; GLOBAL_LOCK_AFTER failures from all addresses together lock every login (a
  distributed guess); a successful login clears its address; `okxbot serve passwd` clears all.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from sqlalchemy import and_, delete, insert, select, update
from sqlalchemy.engine import Engine

from okxbot.serve import tables as t
from okxbot.serve.db import now_ms

SESSION_IDLE_MS = 8 * 3600 * 1000
SESSION_MAX_MS = 24 * 3600 * 1000
CONTROL_MS = 15 * 60 * 1000
SEEN_EVERY_MS = 60_000  # a session's last-seen time is written at most this often
LOCK_AFTER = 5
GLOBAL_LOCK_AFTER = 50
FAILURE_WINDOW_MS = 15 * 60 * 1000
LOCK_MS = 15 * 60 * 1000
SCOPES = ("read", "control")
TOKEN_PREFIX = "okxb_"  # noqa: S105 (a prefix that names the kind of secret, not a secret)
ALL_SOURCES = "*"


def digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def same(a: str, b: str) -> bool:
    """Constant-time string comparison."""
    return hmac.compare_digest(a.encode(), b.encode())


@dataclass(frozen=True)
class Session:
    digest: str
    csrf: str
    created_ms: int
    seen_ms: int
    expires_ms: int
    control_until_ms: int

    def can_control(self, at_ms: int | None = None) -> bool:
        return self.control_until_ms > (at_ms or now_ms())


@dataclass(frozen=True)
class TokenInfo:
    id: str
    name: str
    scopes: tuple[str, ...]
    created_ms: int
    last_used_ms: int
    revoked_ms: int


@dataclass(frozen=True)
class Lockout:
    locked: bool
    retry_after_s: int = 0
    failures: int = 0


class AccessStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    # ---- password -------------------------------------------------------------------------------
    def password_hash(self) -> str | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(t.settings.c.value).where(t.settings.c.key == "password")).first()
        return None if row is None else str(row.value)

    def set_password_hash(self, value: str) -> None:
        """Store a new hash; every session ends and every lockout is lifted."""
        now = now_ms()
        with self.engine.begin() as conn:
            done = conn.execute(
                update(t.settings).where(t.settings.c.key == "password").values(value=value, updated_ms=now)
            )
            if done.rowcount == 0:
                conn.execute(insert(t.settings).values(key="password", value=value, updated_ms=now))
            conn.execute(delete(t.sessions))
            conn.execute(delete(t.login_failures))

    # ---- sessions -------------------------------------------------------------------------------
    def create_session(self, client: str, replaces: str | None = None) -> tuple[str, Session]:
        """A new session (cookie value, record); the session `replaces` (a cookie value) is deleted."""
        value = secrets.token_urlsafe(32)
        now = now_ms()
        session = Session(digest(value), secrets.token_urlsafe(32), now, now, now + SESSION_MAX_MS, 0)
        with self.engine.begin() as conn:
            if replaces:
                conn.execute(delete(t.sessions).where(t.sessions.c.digest == digest(replaces)))
            conn.execute(delete(t.sessions).where(t.sessions.c.expires_ms < now))
            conn.execute(
                insert(t.sessions).values(
                    digest=session.digest,
                    csrf=session.csrf,
                    created_ms=now,
                    seen_ms=now,
                    expires_ms=session.expires_ms,
                    control_until_ms=0,
                    client=client[:64],
                )
            )
        return value, session

    def session(self, value: str | None) -> Session | None:
        """The live session of a cookie value (its idle time refreshed), or None."""
        if not value or len(value) > 200:
            return None
        key = digest(value)
        now = now_ms()
        with self.engine.connect() as conn:
            row = conn.execute(select(t.sessions).where(t.sessions.c.digest == key)).first()
        if row is None:
            return None
        if row.expires_ms < now or now - row.seen_ms > SESSION_IDLE_MS:
            self.end_session(value)
            return None
        if now - row.seen_ms > SEEN_EVERY_MS:
            with self.engine.begin() as conn:
                conn.execute(update(t.sessions).where(t.sessions.c.digest == key).values(seen_ms=now))
        return Session(row.digest, row.csrf, row.created_ms, now, row.expires_ms, row.control_until_ms)

    def unlock_control(self, value: str) -> int:
        until = now_ms() + CONTROL_MS
        with self.engine.begin() as conn:
            conn.execute(
                update(t.sessions).where(t.sessions.c.digest == digest(value)).values(control_until_ms=until)
            )
        return until

    def lock_control(self, value: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                update(t.sessions).where(t.sessions.c.digest == digest(value)).values(control_until_ms=0)
            )

    def end_session(self, value: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(delete(t.sessions).where(t.sessions.c.digest == digest(value)))

    # ---- failed logins --------------------------------------------------------------------------
    def lockout(self, source: str) -> Lockout:
        now = now_ms()
        with self.engine.connect() as conn:
            rows = {
                r.source: r
                for r in conn.execute(
                    select(t.login_failures).where(t.login_failures.c.source.in_([source, ALL_SOURCES]))
                )
            }
        until = max((r.locked_until_ms for r in rows.values()), default=0)
        failures = rows[source].failures if source in rows else 0
        if until > now:
            return Lockout(True, max(1, (until - now + 999) // 1000), failures)
        return Lockout(False, 0, failures)

    def record_failure(self, source: str) -> Lockout:
        now = now_ms()
        with self.engine.begin() as conn:
            for key, limit in ((source, LOCK_AFTER), (ALL_SOURCES, GLOBAL_LOCK_AFTER)):
                row = conn.execute(select(t.login_failures).where(t.login_failures.c.source == key)).first()
                if row is None or now - row.first_ms > FAILURE_WINDOW_MS:
                    failures, first = 1, now
                else:
                    failures, first = row.failures + 1, row.first_ms
                locked = now + LOCK_MS if failures >= limit else 0
                values = {"failures": failures, "first_ms": first, "locked_until_ms": locked}
                if row is None:
                    conn.execute(insert(t.login_failures).values(source=key, **values))
                else:
                    conn.execute(
                        update(t.login_failures).where(t.login_failures.c.source == key).values(**values)
                    )
        return self.lockout(source)

    def clear_failures(self, source: str | None = None) -> None:
        with self.engine.begin() as conn:
            query = delete(t.login_failures)
            if source is not None:
                query = query.where(t.login_failures.c.source == source)
            conn.execute(query)

    # ---- API tokens -----------------------------------------------------------------------------
    def create_token(self, name: str, scopes: tuple[str, ...]) -> str:
        """A new token, returned once (only its hash is kept)."""
        unknown = set(scopes) - set(SCOPES)
        if unknown or "read" not in scopes:
            raise ValueError(f"scopes must include read, from {SCOPES}; got {scopes}")
        if not name or len(name) > 64:
            raise ValueError("give the token a name of 1-64 characters (what uses it)")
        tid = secrets.token_hex(6)
        secret = secrets.token_urlsafe(32)
        with self.engine.begin() as conn:
            conn.execute(
                insert(t.tokens).values(
                    id=tid,
                    name=name,
                    digest=digest(secret),
                    scopes=",".join(s for s in SCOPES if s in scopes),
                    created_ms=now_ms(),
                    last_used_ms=0,
                    revoked_ms=0,
                )
            )
        return f"{TOKEN_PREFIX}{tid}_{secret}"

    def tokens(self) -> list[TokenInfo]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(t.tokens).order_by(t.tokens.c.created_ms)).all()
        return [
            TokenInfo(r.id, r.name, tuple(r.scopes.split(",")), r.created_ms, r.last_used_ms, r.revoked_ms)
            for r in rows
        ]

    def revoke_token(self, tid: str) -> bool:
        with self.engine.begin() as conn:
            done = conn.execute(
                update(t.tokens)
                .where(and_(t.tokens.c.id == tid, t.tokens.c.revoked_ms == 0))
                .values(revoked_ms=now_ms())
            )
        return done.rowcount == 1

    def check_token(self, token: str) -> TokenInfo | None:
        """The live token `token` is, or None (malformed, unknown, revoked or wrong secret)."""
        if not token.startswith(TOKEN_PREFIX) or len(token) > 200:
            return None
        tid, _, secret = token[len(TOKEN_PREFIX) :].partition("_")
        if not tid or not secret:
            return None
        with self.engine.connect() as conn:
            row = conn.execute(select(t.tokens).where(t.tokens.c.id == tid)).first()
        expected = row.digest if row is not None else digest("no such token")
        if not same(expected, digest(secret)) or row is None or row.revoked_ms:
            return None
        now = now_ms()
        if now - row.last_used_ms > SEEN_EVERY_MS:
            with self.engine.begin() as conn:
                conn.execute(update(t.tokens).where(t.tokens.c.id == tid).values(last_used_ms=now))
        return TokenInfo(row.id, row.name, tuple(row.scopes.split(",")), row.created_ms, now, 0)
