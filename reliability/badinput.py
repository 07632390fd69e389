"""Bad input: hypothesis throws invalid orders, symbols, configs and CLI arguments at okxbot.

Each must end in a clear error (an OkxError / ConfigError with a message, or a CLI exit status > 0
without a traceback), and not one request may reach an order endpoint (counted by the simulator).
"""

from __future__ import annotations

import asyncio
from decimal import Decimal, InvalidOperation
from typing import Any

from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from okxbot.okx.client import ClientConfig, OkxClient
from okxbot.okx.errors import OkxError
from okxbot.sim.server import RunningSim
from reliability.checks import Check, Sizes
from reliability.env import credentials, new_key, order_requests, scratch_home, sim_profile_env

SECTION = "bad input"
VALID = {"symbol": "BTC/USDT", "side": "buy", "amount": "0.001", "price": "20000"}
KNOWN_SYMBOLS = {"BTC/USDT", "ETH/USDT", "SOL/USDT", "BTC-USDT", "ETH-USDT", "SOL-USDT"}


def _positive_number(text: str) -> bool:
    try:
        value = Decimal(text.strip())
    except (InvalidOperation, ValueError):
        return False
    return value.is_finite() and value > 0


NOT_A_NUMBER = st.sampled_from(
    [
        "NaN",
        "nan",
        "sNaN",
        "Infinity",
        "-Infinity",
        "inf",
        "",
        " ",
        "abc",
        "1,5",
        "0x10",
        "1e",
        "--1",
        "1.2.3",
        "½",
        "1 000",
        "1'000",
    ]
) | st.text(max_size=10).filter(lambda s: not _positive_number(s))
NOT_POSITIVE = st.decimals(max_value=0, allow_nan=False, allow_infinity=False, places=8).map(
    lambda d: format(d, "f")
)
# BTC-USDT: lotSz 0.00000001, minSz 0.00001, tickSz 0.1; the key holds 1,000,000 USDT
BAD_AMOUNT = (
    NOT_A_NUMBER
    | NOT_POSITIVE
    | st.integers(min_value=10**6, max_value=10**30).map(str)  # more than the balance can pay
    | st.integers(min_value=1, max_value=999).map(lambda n: f"0.00000000{n}")  # finer than the lot size
    | st.integers(min_value=1, max_value=999).map(lambda n: f"0.00000{n:03d}")  # below the minimum size
)
BAD_PRICE = (
    NOT_A_NUMBER
    | NOT_POSITIVE
    | st.integers(min_value=1, max_value=9).map(lambda n: f"20000.0{n}")  # off the 0.1 tick
    | st.integers(min_value=1, max_value=999).map(lambda n: f"20000.1{n:03d}")  # too many decimals
    | st.integers(min_value=10**10, max_value=10**40).map(str)  # a buy no balance can pay
)
BAD_SYMBOL = st.sampled_from(
    [
        "",
        "BTC",
        "BTC/",
        "/USDT",
        "btc/usdt",
        "BTC/USD",
        "BTC/USDT:USDT",
        "BTC-USDT-SWAP",
        "../../etc/passwd",
        "BTC/USDT; DROP TABLE orders",
        "ＢＴＣ/USDT",
        "BTC/USDT\n",
        "NOPE/USDT",
    ]
) | st.text(max_size=12).filter(lambda s: s.strip() not in KNOWN_SYMBOLS)
BAD_SIDE = st.text(max_size=6).filter(lambda s: s not in ("buy", "sell"))


def bad_order() -> st.SearchStrategy[dict[str, str]]:
    """A valid buy with exactly one field made invalid."""
    return st.one_of(
        BAD_SYMBOL.map(lambda v: VALID | {"symbol": v, "bad": "symbol"}),
        BAD_SIDE.map(lambda v: VALID | {"side": v, "bad": "side"}),
        BAD_AMOUNT.map(lambda v: VALID | {"amount": v, "bad": "amount"}),
        BAD_PRICE.map(lambda v: VALID | {"price": v, "bad": "price"}),
    )


def _settings(examples: int) -> settings:
    return settings(
        max_examples=examples,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
        print_blob=False,
        derandomize=True,  # the same examples every run: a count changes only when okxbot does
    )


class Tally:
    def __init__(self) -> None:
        self.tried = 0
        self.accepted: list[str] = []
        self.unclear: list[str] = []

    def rows(self, what: str, sent: int) -> list[Check]:
        return [
            Check(SECTION, f"{what}: bad inputs tried", self.tried, False),
            Check(SECTION, f"{what}: accepted", len(self.accepted), True, "; ".join(self.accepted[:3])),
            Check(
                SECTION,
                f"{what}: crash or unclear error",
                len(self.unclear),
                True,
                "; ".join(self.unclear[:3]),
            ),
            Check(SECTION, f"{what}: requests that reached an order endpoint", sent, True),
        ]


def client_orders(sim: RunningSim, sizes: Sizes) -> list[Check]:
    """`OkxClient.create_order` with one bad field: refused locally with a message, nothing sent."""
    key = new_key(sim)
    tally = Tally()
    loop = asyncio.new_event_loop()
    with scratch_home("badinput"):
        client = OkxClient(ClientConfig(rest_url=sim.rest, disk_cache=False), credentials(key))
        before = order_requests(sim)

        @_settings(sizes.examples)
        @given(bad_order())
        @example(VALID | {"amount": "1" + "0" * 30, "bad": "amount"})
        @example(VALID | {"amount": "1e40", "bad": "amount"})
        @example(VALID | {"price": "1e40", "bad": "price"})
        @example(VALID | {"amount": "NaN", "bad": "amount"})
        @example(VALID | {"price": "-0", "bad": "price"})
        @example(VALID | {"price": "20000.05", "bad": "price"})
        @example(VALID | {"amount": "0.000000001", "bad": "amount"})
        def attempt(order: dict[str, str]) -> None:
            tally.tried += 1
            shown = f"{order['bad']}={order[order['bad']]!r}"
            try:
                loop.run_until_complete(
                    client.create_order(order["symbol"], order["side"], order["amount"], order["price"])
                )
            except OkxError as err:
                if not err.local or not err.message.strip():
                    tally.unclear.append(f"{shown}: {err.code} {err.message!r} local={err.local}")
                return
            except Exception as exc:
                tally.unclear.append(f"{shown}: {type(exc).__name__}: {exc}")
                return
            tally.accepted.append(shown)

        try:
            attempt()
        finally:
            loop.run_until_complete(client.close())
            loop.close()
        sent = order_requests(sim) - before
    return tally.rows("client orders", sent)


def _cli_app() -> Any:
    from okxbot.cli.main import app

    return app


def _cli_clear(result: Any) -> str | None:
    """Why a CLI result is not a clear refusal, or None when it is one."""
    output = (result.stdout or "") + (getattr(result, "stderr", "") or "")
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        return f"crashed with {type(result.exception).__name__}: {result.exception}"
    if result.exit_code == 0:
        return "exit status 0"
    if "Traceback" in output:
        return "printed a traceback"
    if not output.strip():
        return "no message"
    return None


def cli_orders(sim: RunningSim, sizes: Sizes) -> list[Check]:
    """`okxbot buy/sell SYMBOL AMOUNT --price P --sim URL` with one bad argument."""
    from typer.testing import CliRunner

    key = new_key(sim)
    tally = Tally()
    runner = CliRunner()
    app = _cli_app()
    with scratch_home("badcli"):
        env = sim_profile_env(sim, key)
        before = order_requests(sim)

        @_settings(sizes.cli_examples)
        @given(bad_order().filter(lambda o: o["bad"] != "side"), st.sampled_from(["buy", "sell"]))
        def attempt(order: dict[str, str], command: str) -> None:
            # a sell far above the market is a legal order (OKX has no ceiling the client can know)
            assume(not (command == "sell" and order["bad"] == "price" and order["price"].isdigit()))
            tally.tried += 1
            args = [command, order["symbol"], order["amount"], "--price", order["price"], "--sim", sim.rest]
            result = runner.invoke(app, args, env=env)
            if command == "sell" and order["bad"] == "amount" and result.exit_code != 0:
                pass  # a sell of more BTC than held is refused too; any refusal is what we want
            why = _cli_clear(result)
            if why is not None:
                shown = f"{command} {order['bad']}={order[order['bad']]!r}"
                (tally.accepted if why == "exit status 0" else tally.unclear).append(f"{shown}: {why}")

        attempt()
        # argument shapes the parser itself must refuse
        fixed = [
            ["buy"],
            ["buy", "BTC/USDT"],
            ["buy", "BTC/USDT", "0.001", "--price"],
            ["buy", "BTC/USDT", "0.001", "--price", "20000", "--sim", "not a url"],
            ["buy", "BTC/USDT", "0.001", "--price", "20000", "--sim", "http://127.0.0.1:1"],
            ["buy", "BTC/USDT", "0.001", "--price", "20000", "--post-only", "--ioc", "--sim", sim.rest],
            ["cancel", "--sim", sim.rest],
            ["cancel", "--sim", sim.rest, "--symbol", "BTC/USDT"],
            ["book", "BTC/USDT", "--depth", "-3", "--sim", sim.rest],
            ["ticker", "NOPE/USDT", "--sim", sim.rest],
            ["orders", "NOPE/USDT", "--sim", sim.rest],
            ["fills", "--limit", "0", "--sim", sim.rest],
            ["fills", "--limit", "lots", "--sim", sim.rest],
            ["buy", "BTC/USDT", "0.001", "--price", "20000", "--profile", "no-such-profile"],
            ["keys", "add", "bad name!", "--from-env"],
            ["keys", "show", "no-such-profile"],
            ["keys", "remove", "no-such-profile", "--yes"],
            ["sim", "serve", "--port", "-5"],
            ["--no-such-option"],
            ["no-such-command"],
        ]
        for args in fixed:
            tally.tried += 1
            result = runner.invoke(app, args, env=env)
            why = _cli_clear(result)
            if why is not None:
                (tally.accepted if why == "exit status 0" else tally.unclear).append(
                    f"{' '.join(args)}: {why}"
                )
        sent = order_requests(sim) - before
    return tally.rows("CLI arguments", sent)


GRID = """name = "grid-bot"
symbol = "BTC/USDT"
strategy = "grid"

[grid]
lower = "40000"
upper = "46000"
levels = 10
size = "0.001"

[risk]
max_order_notional = "1000"
"""

BAD_VALUES = st.sampled_from(
    ['"-1"', "-1", "0", '"0"', '"NaN"', "nan", "inf", '"abc"', "[]", "{}", "true", '""', '"1e999999"', "-0.0"]
)
FIELDS = [
    ("lower", "grid"),
    ("upper", "grid"),
    ("levels", "grid"),
    ("size", "grid"),
    ("max_order_notional", "risk"),
]


def _mutate(field: str, value: str) -> str:
    lines = []
    for line in GRID.splitlines():
        if line.split("=")[0].strip() == field:
            line = f"{field} = {value}"
        lines.append(line)
    return "\n".join(lines) + "\n"


def configs(sizes: Sizes) -> list[Check]:
    """Strategy configs with one bad value, a bad name / symbol / strategy, an unknown key or bad TOML."""
    from okxbot.trading.config import ConfigError, parse_config

    parse_config(GRID)  # the base is valid: every refusal below is caused by the one change
    tally = Tally()
    text = st.one_of(
        st.tuples(st.sampled_from([f for f, _ in FIELDS]), BAD_VALUES).map(lambda fv: _mutate(*fv)),
        st.sampled_from(["levels = 1", "levels = 100000", 'lower = "50000"', 'size = "0.1.1"']).map(
            lambda line: _mutate(line.split(" =")[0], line.split("= ", 1)[1])
        ),
        st.text(min_size=1, max_size=20)
        .filter(lambda s: not s.replace("-", "").replace("_", "").isalnum())
        .map(
            lambda name: (
                GRID.replace('name = "grid-bot"', f"name = {name!r}".replace("'", '"'))
                if '"' not in name and "\\" not in name
                else GRID.replace('name = "grid-bot"', "name = 5")
            )
        ),
        st.sampled_from(['"BTCUSDT"', '"btc/usdt"', '""', "42", '"BTC/USDT/ETH"']).map(
            lambda s: GRID.replace('symbol = "BTC/USDT"', f"symbol = {s}")
        ),
        st.sampled_from(['"martingale"', '""', '"grid.toml"', "1"]).map(
            lambda s: GRID.replace('strategy = "grid"', f"strategy = {s}")
        ),
        st.sampled_from(
            ["typo_key = 1\n", "[grid]\nextra = 1\n", "[[risk]]\n", "lower = \n", "= 5\n", "[grid\n"]
        ).map(lambda tail: GRID + tail),
    )

    @_settings(sizes.examples)
    @given(text)
    @example(_mutate("upper", '"1e999999"'))
    @example(_mutate("size", '"1e999999"'))
    @example(_mutate("lower", '"NaN"'))
    @example(_mutate("levels", "1"))
    def attempt(config_text: str) -> None:
        tally.tried += 1
        try:
            parse_config(config_text, "bot.toml")
        except ConfigError as err:
            if "bot.toml" not in str(err) or "Fix:" not in str(err):
                tally.unclear.append(f"no file or fix in: {err}")
            return
        except Exception as exc:
            tally.unclear.append(f"{type(exc).__name__}: {exc}")
            return
        changed = [line for line in config_text.splitlines() if line and line not in GRID.splitlines()]
        tally.accepted.append(" / ".join(changed) or "(unchanged)")

    attempt()
    return [r for r in tally.rows("strategy configs", 0) if "requests" not in r.check]


def run(sim: RunningSim, sizes: Sizes) -> list[Check]:
    return client_orders(sim, sizes) + cli_orders(sim, sizes) + configs(sizes)
