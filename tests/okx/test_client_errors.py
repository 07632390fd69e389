"""Every error family through the library against the simulator, each with OKX's code and its hint."""

from __future__ import annotations

import socket
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from okxbot.okx.client import ClientConfig, OkxClient
from okxbot.okx.errors import (
    OkxAuthError,
    OkxInsufficientFunds,
    OkxInvalidOrder,
    OkxNetworkError,
    OkxPermissionError,
    OkxUnavailable,
)
from tests.okx.simkit import client, credentials, hits, new_key

D = Decimal


@pytest.mark.parametrize(
    ("override", "code", "words"),
    [
        ({"passphrase": "not-the-passphrase"}, "50105", "passphrase is wrong"),
        ({"secret_key": "0" * 32}, "50113", "secret key is wrong"),
        ({"api_key": "00000000-0000-0000-0000-000000000000"}, "50111", "not known to OKX"),
    ],
)
async def test_authentication_errors_say_which_value_is_wrong(
    sim: Any, tmp_path: Path, override: dict[str, str], code: str, words: str
) -> None:
    key = new_key(sim)
    config = ClientConfig(rest_url=sim.rest, cache_dir=tmp_path)
    async with OkxClient(config, credentials(key, **override)) as okx:
        with pytest.raises(OkxAuthError) as info:
            await okx.fetch_balance()
    err = info.value
    assert err.code == code and words in err.hint
    assert err.ccxt_class == "AuthenticationError" and not err.local
    # the secret values never appear in what the user sees
    for value in (key["secretKey"], key["passphrase"], override.get("passphrase", key["passphrase"])):
        assert value not in str(err)


async def test_demo_key_on_live_is_an_environment_mismatch(sim: Any, tmp_path: Path) -> None:
    demo_key = new_key(sim, demo=True)
    async with client(sim, demo_key, tmp_path) as okx:
        with pytest.raises(OkxAuthError) as info:
            await okx.fetch_balance()
    assert info.value.code == "50101" and "Demo/live" in info.value.hint
    async with client(sim, demo_key, tmp_path, demo=True) as demo:  # x-simulated-trading: 1
        assert (await demo.fetch_balance())["USDT"].available > 0


async def test_read_only_key_placing_an_order_lacks_permission(sim: Any, tmp_path: Path) -> None:
    key = new_key(sim, perm="read_only")
    async with client(sim, key, tmp_path) as okx:
        with pytest.raises(OkxPermissionError) as info:
            await okx.create_order("BTC/USDT", "buy", D("0.001"), D("30000"))
    assert info.value.code == "50120" and "enable 'Trade'" in info.value.hint


async def test_ip_outside_the_whitelist(sim: Any, tmp_path: Path) -> None:
    key = new_key(sim, ip="10.1.2.3")
    async with client(sim, key, tmp_path) as okx:
        with pytest.raises(OkxPermissionError) as info:
            await okx.fetch_balance()
    assert info.value.code == "50110" and "whitelist" in info.value.hint
    assert info.value.ccxt_class == "PermissionDenied"


async def test_insufficient_funds_says_how_much_is_available(sim: Any, tmp_path: Path) -> None:
    key = new_key(sim, balances={"USDT": "20"})
    async with client(sim, key, tmp_path) as okx:
        before = hits(sim, "/api/v5/trade/order")
        with pytest.raises(OkxInsufficientFunds) as local:
            await okx.create_order("BTC/USDT", "buy", D("0.001"), D("30000"))
        assert local.value.local and "(available: 20 USDT)" in local.value.hint
        assert hits(sim, "/api/v5/trade/order") == before  # refused before sending

        # without the local check OKX refuses it; the hint still says what is available
        with pytest.raises(OkxInsufficientFunds) as remote:
            await okx.create_order("BTC/USDT", "buy", D("0.001"), D("30000"), check_funds=False)
        err = remote.value
        assert err.code == "51008" and not err.local and err.ccxt_class == "InsufficientFunds"
        assert "Not enough USDT available (available: 20 USDT)" in err.hint


@pytest.mark.parametrize(
    ("amount", "price", "code", "rule"),
    [
        ("0.000000001", "30000", "51121", "lot size"),
        ("0.000001", "30000", "51020", "minimum order size"),
        ("0.001", "30000.05", "51000", "tick size"),
        ("-0.001", "30000", "51000", "greater than 0"),
    ],
)
async def test_invalid_orders_name_the_rule_and_send_nothing(
    sim: Any, tmp_path: Path, amount: str, price: str, code: str, rule: str
) -> None:
    key = new_key(sim)
    async with client(sim, key, tmp_path) as okx:
        before = hits(sim, "/api/v5/trade/order")
        with pytest.raises(OkxInvalidOrder) as info:
            await okx.create_order("BTC/USDT", "buy", amount, price)
        assert info.value.code == code and rule in info.value.message and info.value.local
        assert hits(sim, "/api/v5/trade/order") == before


async def test_exchange_unavailable(sim: Any, tmp_path: Path) -> None:
    key = new_key(sim)
    async with client(sim, key, tmp_path) as okx:
        await okx.fetch_balance()
        sim.admin("POST", "/__sim__/faults", {"path": "/api/v5/account/balance", "kind": "50001", "count": 1})
        with pytest.raises(OkxUnavailable) as info:
            await okx.fetch_balance()
    assert info.value.code == "50001" and "maintenance" in info.value.hint
    assert info.value.ccxt_class == "OnMaintenance"


async def test_network_error_when_nothing_listens(tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = ClientConfig(rest_url=f"http://127.0.0.1:{port}", cache_dir=tmp_path, timeout_ms=2000)
    async with OkxClient(config) as okx:
        with pytest.raises(OkxNetworkError) as info:
            await okx.fetch_ticker("BTC/USDT")
    assert info.value.code is None and "check the URL" in info.value.hint
