"""Section 2, "hard to break into": every route needs credentials, CSRF, session fixation, lockout,
read-only by default, tokens with scopes, hashed secrets, safe binding."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
import pytest

from okxbot.serve.access import LOCK_AFTER, AccessStore, digest
from okxbot.serve.app import route_table
from okxbot.serve.guard import PUBLIC_PATHS, PUBLIC_PREFIXES
from okxbot.serve.server import Running, ServeOptions, ServeRefused, check_binding
from tests.serve import kit


def _concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "x", path)


def test_every_route_without_credentials_is_401(served: Running) -> None:
    routes = route_table(served.app)
    checked = 0
    with httpx.Client(base_url=served.url, timeout=30) as http:
        for route in routes:
            if route["mount"]:
                continue
            path = route["path"]
            if path in PUBLIC_PATHS or path.startswith(PUBLIC_PREFIXES):
                continue
            for method in route["methods"]:
                if method == "HEAD":
                    continue
                r = http.request(method, _concrete(path), json={})
                assert r.status_code == 401, (method, path, r.status_code, r.text[:200])
                # a forged cookie and a forged token are no better
                http.cookies.set("okxbot_session", "forged")
                r = http.request(method, _concrete(path), json={})
                http.cookies.clear()
                assert r.status_code == 401, (method, path, "forged cookie")
                r = http.request(
                    method, _concrete(path), json={}, headers={"Authorization": "Bearer okxb_ab_cd"}
                )
                assert r.status_code == 401, (method, path, "forged token")
                checked += 1
    # the walk covered the API (new routes are covered automatically)
    assert checked >= 25
    paths = {r["path"] for r in routes}
    assert {
        "/api/bots/{name}/stop",
        "/api/panic",
        "/metrics",
        "/docs",
        "/openapi.json",
        "/api/stream",
    } <= paths


def test_public_routes_hold_no_data(served: Running) -> None:
    with httpx.Client(base_url=served.url, timeout=30) as http:
        page = http.get("/")
        assert page.status_code == 200 and "grid-a" not in page.text
        assert "script-src 'self'" in page.headers["content-security-policy"]
        assert page.headers["x-content-type-options"] == "nosniff"
        assert http.get("/static/app.js").status_code == 200


def test_login_cookie_flags_and_session_rotation(served: Running) -> None:
    """No session fixation: whatever cookie the browser holds, login issues a new one and ends it."""
    c = kit.Client(served.url)
    try:
        planted = "attacker-chosen-session-value"
        c.http.cookies.set("okxbot_session", planted, domain="127.0.0.1")
        r = c.login()
        assert r.status_code == 200
        cookie = r.headers["set-cookie"]
        assert "HttpOnly" in cookie and "SameSite=strict" in cookie.replace("Strict", "strict")
        assert "Secure" not in cookie  # plain http on loopback: a Secure cookie would never be sent
        first = c.http.cookies.get("okxbot_session")
        assert first and first != planted
        assert c.get("/api/session").status_code == 200
        # logging in again (same browser) rotates the session; the old value is dead
        assert c.login().status_code == 200
        second = c.http.cookies.get("okxbot_session")
        assert second != first
        with httpx.Client(base_url=served.url, cookies={"okxbot_session": first}) as old:
            assert old.get("/api/bots").status_code == 401
        # the database holds only a hash of the cookie value
        store: AccessStore = served.ctx.access
        assert store.session(second) is not None
        with store.engine.connect() as conn:
            stored = [row[0] for row in conn.exec_driver_sql("SELECT digest FROM serve_sessions")]
        assert digest(second) in stored and second not in stored
    finally:
        c.close()


def test_csrf_refused(served: Running) -> None:
    c = kit.Client(served.url)
    try:
        assert c.login().status_code == 200
        assert c.unlock().status_code == 200
        body = {"confirm": True}
        no_token = c.http.post("/api/bots/grid-a/start", json=body)
        assert no_token.status_code == 403 and "CSRF" in no_token.json()["detail"]
        wrong = c.http.post("/api/bots/grid-a/start", json=body, headers={"X-CSRF-Token": "x" * 43})
        assert wrong.status_code == 403
        # a form post (what a cross-site page can send without CORS) is refused before anything
        form = c.http.post(
            "/api/bots/grid-a/start", content=b"confirm=true", headers={"X-CSRF-Token": c.csrf or ""}
        )
        assert form.status_code == 415
        cross = c.http.post(
            "/api/bots/grid-a/start",
            json=body,
            headers={"X-CSRF-Token": c.csrf or "", "Origin": "https://evil.example"},
        )
        assert cross.status_code == 403
        # nothing was started
        assert kit.bot_view(c, "grid-a")["desired"] == "stopped"
    finally:
        c.close()


def test_lockout_after_wrong_passwords(served: Running) -> None:
    c = kit.Client(served.url)
    try:
        for _ in range(LOCK_AFTER - 1):
            assert c.login("not the password at all").status_code == 401
        locked = c.login("still not the password")
        assert locked.status_code == 429 and int(locked.headers["retry-after"]) > 0
        # locked: even the right password is refused now
        right = c.login()
        assert right.status_code == 429
        assert c.get("/api/bots").status_code == 401
    finally:
        c.close()


def test_read_only_by_default_and_control_needs_confirmation(served: Running) -> None:
    c = kit.Client(served.url)
    try:
        assert c.login().status_code == 200
        refused = c.post("/api/bots/grid-a/start", {"confirm": True})
        assert refused.status_code == 403 and "locked" in refused.json()["detail"]
        assert c.unlock("wrong password here").status_code == 401
        assert c.unlock().status_code == 200
        assert c.post("/api/bots/grid-a/start", {"confirm": False}).status_code == 400
        assert c.post("/api/bots/grid-a/start", {}).status_code == 422
        panic = c.post("/api/panic", {"profile": "main", "confirm": "mian"})
        assert panic.status_code == 400 and "type the profile name" in panic.json()["detail"]
        # locking again takes control away
        assert c.delete("/api/session/control").status_code == 200
        assert c.post("/api/bots/grid-a/start", {"confirm": True}).status_code == 403
    finally:
        c.close()


def test_api_tokens_have_scopes_are_hashed_and_revocable(served: Running) -> None:
    store: AccessStore = served.ctx.access
    read = store.create_token("prometheus", ("read",))
    control = store.create_token("script", ("read", "control"))
    with httpx.Client(base_url=served.url, timeout=30) as http:
        auth = {"Authorization": f"Bearer {read}"}
        assert http.get("/api/bots", headers=auth).status_code == 200
        assert http.get("/metrics", headers=auth).status_code == 200
        r = http.post("/api/bots/grid-a/cancel-all", json={"confirm": True}, headers=auth)
        assert r.status_code == 403 and "control scope" in r.json()["detail"]
        auth_c = {"Authorization": f"Bearer {control}"}
        r = http.post("/api/bots/grid-a/cancel-all", json={"confirm": True}, headers=auth_c)
        assert r.status_code == 409  # allowed, but the bot is not running
        tid = read.split("_")[1]
        assert store.revoke_token(tid)
        assert http.get("/api/bots", headers=auth).status_code == 401
    with store.engine.connect() as conn:
        rows = [tuple(r) for r in conn.exec_driver_sql("SELECT * FROM serve_tokens")]
    dump = repr(rows)
    for token in (read, control):
        assert token.rsplit("_", 1)[1] not in dump


def test_password_is_an_argon2id_hash(served: Running) -> None:
    stored = served.ctx.access.password_hash()
    assert stored is not None and stored.startswith("$argon2id$") and kit.PASSWORD not in stored


def test_host_header_must_be_ours(served: Running) -> None:
    with httpx.Client(base_url=served.url, timeout=30) as http:
        assert http.get("/", headers={"Host": "evil.example"}).status_code == 421


def test_binding_rules(tmp_path: Path) -> None:
    assert check_binding(ServeOptions(home=tmp_path)) == []
    with pytest.raises(ServeRefused, match="--expose"):
        check_binding(ServeOptions(home=tmp_path, host="0.0.0.0"))
    with pytest.raises(ServeRefused, match=r"TLS|tls"):
        check_binding(ServeOptions(home=tmp_path, host="0.0.0.0", expose=True))
    warnings = check_binding(ServeOptions(home=tmp_path, host="0.0.0.0", expose=True, behind_tls_proxy=True))
    assert warnings and "WARNING" in warnings[0]


def test_tls_serves_secure_host_prefixed_cookie(home: Path, sim: Any, tmp_path: Path) -> None:
    cert, key = _self_signed(tmp_path)
    kit.set_password(home)
    running = kit.start(home, tls_cert=cert, tls_key=key)
    try:
        assert running.url.startswith("https://")
        with httpx.Client(base_url=running.url, verify=False, timeout=30) as http:  # noqa: S501 (self-signed test cert)
            r = http.post("/api/login", json={"password": kit.PASSWORD})
            assert r.status_code == 200
            cookie = r.headers["set-cookie"]
            assert cookie.startswith("__Host-okxbot_session=") and "Secure" in cookie
            assert "max-age" in r.headers.get("strict-transport-security", "")
    finally:
        running.stop()


def _self_signed(tmp_path: Path) -> tuple[Path, Path]:
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    import ipaddress

    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False
        )
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cert_path, key_path
