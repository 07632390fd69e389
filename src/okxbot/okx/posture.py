"""What an API key can do, and whether okxbot should use it: the checks behind `okxbot doctor`.

`audit(...)` runs every check and returns a `Posture` (pass / warn / fail per check, each with one
line saying what to do). `guard(client, purpose=..., need=...)` is the short pre-flight every trading
command and every bot start runs: it reads GET account/config and refuses a withdraw-enabled key, a
read-only key asked to trade, and a `data` profile asked to trade.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from okxbot.okx.errors import OkxError, OkxPermissionError, explain

if TYPE_CHECKING:
    from okxbot.vault.secret import Credentials

Status = Literal["pass", "warn", "fail", "skip"]

# The one, loudly named override for a key that can withdraw (trading commands expose it as a flag).
WITHDRAW_OVERRIDE_FLAG = "--i-accept-withdraw-risk"
CLOCK_WARN_MS = 500
CLOCK_FAIL_MS = 25_000  # OKX rejects requests more than 30 s off; leave room for the round trip
ACCOUNT_MODES = {
    "1": "Spot mode",
    "2": "Futures mode (spot and futures)",
    "3": "Multi-currency margin",
    "4": "Portfolio margin",
}
# What each authentication code means for the user, said in terms of the three values.
AUTH_CAUSES = {
    "50111": "unknown API key: check it was copied whole and not deleted on OKX",
    "50119": "this key does not exist on this host: wrong region (EEA keys: eea, US keys: us)",
    "50105": "wrong passphrase: it is the one you chose when creating the key, not your login password",
    "50113": "bad signature: the secret key was pasted wrong (or swapped with the passphrase)",
    "50101": "environment mismatch: a demo key used on live, or a live key used on demo",
    "50102": "expired timestamp: this machine's clock is too far from OKX's",
    "50110": "this machine's IP address is not in the key's IP whitelist",
    "50100": "the key is frozen by OKX",
}
AUTH_FIXES = {
    "50111": "re-enter the key with `okxbot keys rotate NAME`, or create a new one on OKX",
    "50119": "re-add the profile with --region eea or --region us (where the key was created)",
    "50105": "re-enter the passphrase with `okxbot keys rotate NAME`; if forgotten, create a new key",
    "50113": "re-enter the secret key with `okxbot keys rotate NAME`; if lost, create a new key",
    "50101": "re-add the profile with (or without) --demo to match where the key was created",
    "50102": "enable NTP time sync on this machine (timedatectl set-ntp true)",
    "50110": "add this machine's public IP to the key on OKX, or run okxbot from a whitelisted host",
    "50100": "contact OKX support or create a new key",
}


@dataclass(frozen=True)
class Check:
    name: str
    status: Status
    detail: str
    fix: str = ""

    def as_dict(self) -> dict[str, str]:
        return {"check": self.name, "status": self.status, "detail": self.detail, "fix": self.fix}


@dataclass
class Posture:
    checks: list[Check] = field(default_factory=list)
    perm: str = ""  # as OKX reported it, e.g. "read_only,trade"
    ip: str = ""  # the key's IP binding, "" when none
    uid: str = ""

    @property
    def failed(self) -> bool:
        return any(c.status == "fail" for c in self.checks)

    def add(self, name: str, status: Status, detail: str, fix: str = "") -> None:
        self.checks.append(Check(name, status, detail, fix))

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": not self.failed,
            "uid": self.uid,
            "perm": self.perm,
            "ip": self.ip,
            "checks": [c.as_dict() for c in self.checks],
        }


def unsafe_key(message: str, fix: str) -> OkxPermissionError:
    """The refusal raised before anything is sent (local=True: nothing reached OKX)."""
    return OkxPermissionError(None, message, fix, "PermissionDenied", local=True)


def judge_permissions(
    perms: frozenset[str], ips: tuple[str, ...], *, purpose: str, need: str, allow_withdraw: bool = False
) -> list[Check]:
    """The permission, least-privilege and IP-binding checks for a key's account/config."""
    checks: list[Check] = []
    shown = ",".join(sorted(perms)) or "none"
    if "withdraw" in perms:
        if allow_withdraw:
            checks.append(
                Check(
                    "withdraw permission",
                    "warn",
                    f"the key can WITHDRAW funds ({shown}); overridden",
                    "create a key without Withdraw: a leaked key then cannot move money out",
                )
            )
        else:
            checks.append(
                Check(
                    "withdraw permission",
                    "fail",
                    f"the key can WITHDRAW funds ({shown}); okxbot refuses it",
                    "create a new key with Read (+ Trade) only and delete this one on OKX",
                )
            )
    else:
        checks.append(Check("withdraw permission", "pass", f"the key cannot withdraw ({shown})"))

    can_trade = "trade" in perms
    if purpose == "data" and need == "trade":
        checks.append(
            Check(
                "purpose",
                "fail",
                "this is a data profile; trading commands refuse it",
                "use a trade profile for trading (`okxbot keys add NAME --purpose trade`)",
            )
        )
    elif need == "trade" and not can_trade:
        checks.append(
            Check(
                "trade permission",
                "fail",
                "the key is read-only: it cannot place or cancel orders",
                "fine for data uses; for trading create a key with Read + Trade",
            )
        )
    elif purpose == "data" and can_trade:
        checks.append(
            Check(
                "least privilege",
                "warn",
                "a data profile whose key can trade",
                "create a read-only key for market data and rotate this profile to it",
            )
        )
    else:
        checks.append(
            Check(
                "least privilege",
                "pass",
                "permissions match the profile's purpose"
                + (" (read-only)" if not can_trade else " (read + trade)"),
            )
        )

    if not ips:
        extra = "; trade keys without IP binding also expire after 14 days unused" if can_trade else ""
        checks.append(
            Check(
                "IP binding",
                "warn",
                f"the key is not bound to an IP address{extra}",
                "bind the key to this server's public IP on OKX's API page",
            )
        )
    else:
        checks.append(Check("IP binding", "pass", f"bound to {', '.join(ips)} and this host is allowed"))
    return checks


async def guard(client: Any, *, purpose: str, need: str, allow_withdraw: bool = False) -> Any:
    """Pre-flight for trading commands and bot starts: returns the AccountConfig, raises if unsafe.

    Raises OkxPermissionError (local=True) for a withdraw-enabled key (unless `allow_withdraw`, the
    `WITHDRAW_OVERRIDE_FLAG`), a read-only key asked to trade and a data profile asked to trade;
    an OkxError from OKX (e.g. 50110 wrong IP) propagates with its hint.
    """
    config = await client.account_config()
    for check in judge_permissions(
        config.permissions, config.ips, purpose=purpose, need=need, allow_withdraw=allow_withdraw
    ):
        if check.status == "fail":
            fix = check.fix
            if check.name == "withdraw permission":
                fix += f" (or, at your own risk, pass {WITHDRAW_OVERRIDE_FLAG})"
            raise unsafe_key(f"refusing this key: {check.detail}", fix)
    return config


def auth_failure(err: OkxError) -> Check:
    """The credentials check for a failed private request, the cause named from OKX's code."""
    code = err.code or ""
    if code in AUTH_CAUSES:
        return Check("credentials", "fail", f"OKX {code}: {AUTH_CAUSES[code]}", AUTH_FIXES[code])
    return Check("credentials", "fail", err.describe(), err.hint)


def clock_check(offset_ms: int, rtt_ms: int) -> Check:
    # offset = OKX's clock minus ours: positive means this machine is behind.
    where = "behind" if offset_ms > 0 else "ahead of"
    detail = f"this machine is {abs(offset_ms) / 1000:.3f} s {where} OKX (round trip {rtt_ms} ms)"
    if abs(offset_ms) >= CLOCK_FAIL_MS:
        return Check(
            "clock",
            "fail",
            detail + "; OKX rejects requests 30 s off",
            "enable NTP time sync now (timedatectl set-ntp true); okxbot corrects, other tools will not",
        )
    if abs(offset_ms) > CLOCK_WARN_MS:
        return Check("clock", "warn", detail, "enable NTP time sync (timedatectl set-ntp true)")
    return Check("clock", "pass", detail)


async def audit(
    base_url: str,
    credentials: Credentials,
    *,
    demo: bool,
    purpose: str,
    sim: bool = False,
    samples: int = 5,
    symbols: Sequence[str] = (),
) -> Posture:
    """Every check of `okxbot doctor` for one key; later checks are skipped when an earlier one fails.

    `symbols`: the instruments the bots trade; for swaps among them the account mode, position mode,
    leverage settings and the key's IP binding are checked too (okxbot.okx.swap_posture)."""
    from okxbot.okx.client import ClientConfig, OkxClient

    posture = Posture()
    where = f"simulator at {base_url}" if sim else base_url
    # One clock measurement serves the check and then signs the private requests (OKX allows only
    # 10 public/time requests per 2 s per IP, so measuring twice would cost half of that).
    config = ClientConfig(rest_url=base_url, demo=demo, disk_cache=False, clock_samples=samples)
    async with OkxClient(config, credentials) as client:
        try:
            sync = await client.sync_clock()
        except OkxError as err:
            posture.add("host", "fail", f"{where} does not answer: {err.message}", err.hint)
            return posture
        posture.add("host", "pass", f"{where} answers")
        posture.checks.append(clock_check(sync.offset_ms, sync.rtt_ms))
        try:
            account = await client.account_config()
        except OkxError as err:
            failure = auth_failure(err)
            if err.code == "50110":
                failure = Check("IP binding", "fail", failure.detail, failure.fix)
            posture.checks.append(failure)
            return posture
        posture.uid, posture.ip = account.uid, ",".join(account.ips)
        posture.perm = ",".join(p for p in ("read_only", "trade", "withdraw") if p in account.permissions)
        posture.add("credentials", "pass", f"key accepted (uid {account.uid})")
        posture.checks += judge_permissions(account.permissions, account.ips, purpose=purpose, need=purpose)
        posture.add(
            "environment", "pass", ("demo trading" if demo else "LIVE trading: real money") + f" on {where}"
        )
        mode = ACCOUNT_MODES.get(account.account_level, f"acctLv {account.account_level or '?'}")
        posture.add("account mode", "pass", f"{mode}; position mode {account.position_mode or '?'}")
        try:
            response = await client.raw.privateGetTradeAccountRateLimit()
            limit = (response.get("data") or [{}])[0]
            posture.add(
                "order rate limit",
                "pass",
                f"{limit.get('accRateLimit', '?')} orders / 2 s for this account "
                f"(fill ratio {limit.get('fillRatio') or '0'})",
            )
        except Exception as exc:  # an unknown ccxt failure here must not hide the other checks
            err = exc if isinstance(exc, OkxError) else explain(exc)
            posture.add("order rate limit", "warn", f"could not read it: {err.message}", err.hint)
        if symbols:
            from okxbot.okx.swap_posture import swap_checks

            posture.checks += await swap_checks(client, account, symbols)
    return posture
