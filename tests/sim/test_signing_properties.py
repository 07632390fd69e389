"""Property tests of the simulator's signature check against two independent signers.

Whatever query or body a client sends, a request signed by unmodified ccxt (URL-encoded query) or
by python-okx's signing helpers (raw query) verifies, and changing any single byte of what was
signed is refused with 50113 "Invalid signature".
"""

from __future__ import annotations

import json
import time
from typing import Any
from urllib.parse import urlsplit

import ccxt
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from okx import utils as okx_utils
from okxbot.sim.auth import KeyStore
from okxbot.sim.wire import SimError

PEER = "127.0.0.1"
# Printable text without the characters python-okx would put unescaped into a URL ('&', '=', '?', '#').
_text = st.text(
    alphabet=st.characters(min_codepoint=33, max_codepoint=0x2FF, blacklist_characters="&=?#%+ "),
    min_size=1,
    max_size=12,
)
_params = st.dictionaries(st.from_regex(r"[a-zA-Z][a-zA-Z0-9]{0,9}", fullmatch=True), _text, max_size=5)
_json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=8,
)
_bodies = st.dictionaries(st.from_regex(r"[a-zA-Z]{1,10}", fullmatch=True), _json_values, max_size=6)


@pytest.fixture(scope="module")
def store_and_key() -> tuple[KeyStore, Any]:
    store = KeyStore(now_ms=lambda: int(time.time() * 1000))
    return store, store.create("100000000000001", perm="read_only,trade", ip="127.0.0.1")


def _ccxt(key: Any) -> ccxt.okx:
    return ccxt.okx({"apiKey": key.api_key, "secret": key.secret_key, "password": key.passphrase})


def _verify(store: KeyStore, headers: dict[str, str], method: str, path: str, body: bytes) -> Any:
    return store.verify_rest(headers, method, path, body, PEER)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(params=_params)
def test_ccxt_signed_get_with_any_query_verifies(
    store_and_key: tuple[KeyStore, Any], params: dict[str, str]
) -> None:
    store, key = store_and_key
    signed = _ccxt(key).sign("account/balance", ["private"], "GET", dict(params))
    url = urlsplit(signed["url"])
    raw_path = url.path + ("?" + url.query if url.query else "")
    assert _verify(store, signed["headers"], "GET", raw_path, b"") is key


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=_bodies.filter(bool), flip=st.integers(min_value=0))
def test_ccxt_signed_post_verifies_and_any_changed_byte_is_refused(
    store_and_key: tuple[KeyStore, Any], body: dict[str, Any], flip: int
) -> None:
    store, key = store_and_key
    signed = _ccxt(key).sign("trade/order", ["private"], "POST", dict(body))
    raw = signed["body"].encode()
    path = urlsplit(signed["url"]).path
    assert _verify(store, signed["headers"], "POST", path, raw) is key
    i = flip % len(raw)
    tampered = raw[:i] + bytes([raw[i] ^ 0x01]) + raw[i + 1 :]
    with pytest.raises(SimError) as err:
        _verify(store, signed["headers"], "POST", path, tampered)
    assert err.value.code == "50113"


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(params=_params, body=_bodies, method=st.sampled_from(["GET", "POST"]))
def test_python_okx_signing_verifies_on_the_raw_bytes(
    store_and_key: tuple[KeyStore, Any], params: dict[str, str], body: dict[str, Any], method: str
) -> None:
    store, key = store_and_key
    path = "/api/v5/account/balance"
    raw_body = b""
    if method == "GET":
        path += okx_utils.parse_params_to_str(params)  # '?k=v&...' without URL-encoding
    else:
        raw_body = json.dumps(body).encode()  # python-okx's default separators: ', ' and ': '
    ts = okx_utils.get_timestamp()
    sign = okx_utils.sign(
        okx_utils.pre_hash(ts, method, path, raw_body.decode(), False), key.secret_key
    ).decode()
    headers = okx_utils.get_header(key.api_key, sign, ts, key.passphrase, "0", False)
    assert _verify(store, headers, method, path, raw_body) is key
    # The same request with its query re-encoded or its body re-serialised compactly is a different
    # byte string, so a server that normalised before verifying would be wrong here.
    if method == "POST" and body and json.dumps(body, separators=(",", ":")).encode() != raw_body:
        with pytest.raises(SimError) as err:
            _verify(store, headers, method, path, json.dumps(body, separators=(",", ":")).encode())
        assert err.value.code == "50113"
