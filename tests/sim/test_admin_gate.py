"""The admin API's one gate (`sim.admin_gate`), in front of the REST admin and the WebSocket admin
routes alike: loopback peers, loopback Host names, and JSON-only state changes, so that a web page in
the user's browser cannot drive the simulator."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from okxbot.sim.server import RunningSim, start_sim
from tests.capture import CaptureProxy
from tests.servers import unavailable

# (path, body) of state-changing admin routes, REST admin and WebSocket admin
CHANGES = [
    ("/__sim__/keys", b'{"balances": {"USDT": "5"}}'),
    ("/__sim__/accounts", b'{"balances": {"USDT": "5"}}'),
    ("/__sim__/reset-limits", b""),
    ("/__sim__/ws-config", b'{"idleMs": 1234}'),
    ("/__sim__/ws-faults", b'{"kind": "drop"}'),
]
NOT_JSON = [None, "text/plain", "text/plain;charset=UTF-8", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"]  # fmt: skip


def state(sim: RunningSim) -> tuple[int, int]:
    """(keys the simulator knows, the WebSocket idle timeout): what the refused requests would change."""
    from okxbot.sim.ws import hub_of

    return sim.call(lambda: (len(sim.ctx.keystore.all()), hub_of(sim.ctx).config.idle_ms))


@pytest.mark.parametrize(("path", "body"), CHANGES)
def test_state_changes_need_the_json_content_type(sim: RunningSim, path: str, body: bytes) -> None:
    before = state(sim)
    for content_type in NOT_JSON:
        headers = {} if content_type is None else {"Content-Type": content_type}
        refused = httpx.post(sim.rest + path, content=body, headers=headers)
        assert refused.status_code == 415, (content_type, refused.text)
        assert "Content-Type: application/json" in refused.json()["error"]
    assert state(sim) == before
    accepted = httpx.post(sim.rest + path, content=body, headers={"Content-Type": "application/json"})
    assert accepted.status_code == 200, accepted.text
    sim.admin("POST", "/__sim__/ws-config", {"idleMs": 30_000})


def test_reads_need_no_content_type(sim: RunningSim) -> None:
    for path in ("/__sim__/stats", "/__sim__/ws-stats"):
        assert httpx.get(sim.rest + path).status_code == 200


@pytest.mark.parametrize(
    "path", ["/__sim__/stats", "/__sim__/ws-stats", "/__sim__/keys", "/__sim__/ws-config"]
)
def test_a_host_that_is_not_loopback_is_refused(sim: RunningSim, path: str) -> None:
    """A page whose domain was re-pointed at 127.0.0.1 (DNS rebinding) sends its own name as Host."""
    method = "GET" if path.endswith("stats") else "POST"
    json_type = {"Content-Type": "application/json"}
    for host in ("attacker.example", f"attacker.example:{sim.port}", "127.0.0.1.nip.io"):
        refused = httpx.request(method, sim.rest + path, content=b"{}", headers={"Host": host, **json_type})
        assert refused.status_code == 403, host
        assert "loopback name" in refused.json()["error"]
    for host in (f"localhost:{sim.port}", f"127.0.0.1:{sim.port}", "[::1]", f"0.0.0.0:{sim.port}"):
        answer = httpx.request(method, sim.rest + path, content=b"{}", headers={"Host": host, **json_type})
        assert answer.status_code == 200, (host, answer.text)


def own_address() -> str | None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))  # no packet is sent: this only picks the outgoing interface
            address = probe.getsockname()[0]
        except OSError:
            return None
    return None if address.startswith("127.") else address


def test_peers_that_are_not_loopback_are_refused_by_rest_and_websocket_admin() -> None:
    address = own_address()
    if address is None:
        pytest.skip("this machine has no non-loopback IPv4 address")
    with start_sim(host="0.0.0.0", port=0, seed=1, config={"market": False}) as wide:
        for path in ("/__sim__/stats", "/__sim__/ws-stats"):
            response = httpx.get(f"http://{address}:{wide.port}{path}")
            assert response.status_code == 403
            assert response.json() == {"error": "the admin API answers loopback peers only"}
            assert httpx.get(f"http://127.0.0.1:{wide.port}{path}").status_code == 200


PAGE = """<!doctype html><html><body><pre id="out">running</pre><script>
const admin = %(admin)s;
const body = JSON.stringify({balances: {USDT: "999"}, perm: "read_only,trade,withdraw", ip: ""});
const tries = [
  // a "simple" cross-origin request: the browser sends it without asking (text/plain body)
  fetch(admin + "/__sim__/keys", {method: "POST", mode: "no-cors", body}),
  fetch(admin + "/__sim__/reset-limits", {method: "POST", mode: "no-cors"}),
  fetch(admin + "/__sim__/ws-config", {method: "POST", mode: "no-cors", body: '{"idleMs": 5}'}),
  // JSON needs a CORS preflight, which the admin API never grants: the POST itself is never sent
  fetch(admin + "/__sim__/keys", {method: "POST", headers: {"Content-Type": "application/json"}, body}),
];
Promise.allSettled(tries).then(results => {
  document.getElementById("out").textContent =
    "done " + results.map(r => r.status === "fulfilled" ? "sent" : "blocked").join(",");
});
</script></body></html>"""


@dataclass
class Page:
    """An attacker's web page, served from an origin of its own (another loopback port)."""

    url: str = ""
    html: str = ""


@pytest.fixture
def page_server() -> Iterator[Page]:
    page = Page()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = page.html.encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    page.url = f"http://127.0.0.1:{server.server_address[1]}/"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield page
    finally:
        server.shutdown()
        server.server_close()


def test_a_web_page_in_a_real_browser_cannot_change_the_simulator(sim: RunningSim, page_server: Page) -> None:
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        unavailable("Debian's chromium is not installed (.ci/run installs it)")
    before = state(sim)
    with CaptureProxy(sim.rest) as proxy, tempfile.TemporaryDirectory() as profile_dir:
        page_server.html = PAGE % {"admin": f'"{proxy.url}"'}
        result = subprocess.run(
            [
                browser, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                f"--user-data-dir={profile_dir}", "--virtual-time-budget=10000", "--dump-dom",
                page_server.url,
            ],
            capture_output=True, text=True, timeout=90, check=False,
            env=dict(os.environ, HOME=profile_dir),
        )  # fmt: skip
        posts = [r for r in proxy.requests if r.method == "POST"]
    assert "done sent,sent,sent,blocked" in result.stdout, result.stdout[-2000:] + result.stderr[-2000:]
    # the browser did send the three simple requests (this is what the gate must stop) ...
    assert sorted(r.path_qs for r in posts) == [
        "/__sim__/keys",
        "/__sim__/reset-limits",
        "/__sim__/ws-config",
    ]
    assert all("text/plain" in (r.header("Content-Type") or "text/plain") for r in posts)
    # ... and the preflighted JSON one never left the browser; nothing changed in the simulator
    assert state(sim) == before
