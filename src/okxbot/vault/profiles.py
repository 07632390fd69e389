"""Profile metadata: which key is which, where it lives, what it is for, and what the last check saw.

A profile is bound to ONE host: an OKX key to OKX's host for its region (`REGION_HOSTS`), a simulator
key to the simulator URL it was stored for (`sim_url`, from `okxbot keys add NAME --sim URL`, or
kept by okxbot for `--sim URL` itself: `auto`). `base_url` is that host; nothing else is.

Secrets are never stored here (see `store`); the list lives in OKXBOT_HOME/profiles.json, mode 0600,
replaced atomically under a lock so that two okxbot processes never lose each other's changes.
"""

from __future__ import annotations

import json
import re
import urllib.parse
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from okxbot.vault.atomic import exclusive, write_atomic
from okxbot.vault.errors import VaultError
from okxbot.vault.home import okxbot_home

Region = Literal["www", "eea", "us"]
Purpose = Literal["data", "trade"]
Backend = Literal["keyring", "file", "simfile"]

REGION_HOSTS: dict[str, str] = {
    "www": "https://www.okx.com",
    "eea": "https://eea.okx.com",
    "us": "https://us.okx.com",
}
PURPOSES = ("data", "trade")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$")


def check_name(name: str) -> str:
    """A profile name is 1-40 letters, digits, '.', '_' or '-' (it becomes a keyring entry name)."""
    if not _NAME.match(name or ""):
        raise VaultError(
            f"{name!r} is not a valid profile name",
            "use 1-40 letters, digits, '.', '_' or '-', starting with a letter or digit (e.g. main, data-1)",
        )
    return name


def check_region(region: str) -> Region:
    if region not in REGION_HOSTS:
        raise VaultError(
            f"unknown region {region!r}",
            "use www (okx.com, global), eea (my.okx.com / eea.okx.com, Europe) or us (app.okx.com, USA): "
            "the one where you created the key",
        )
    return region  # type: ignore[return-value]


def check_purpose(purpose: str) -> Purpose:
    if purpose not in PURPOSES:
        raise VaultError(
            f"unknown purpose {purpose!r}",
            "use data (read-only uses such as market-data collection) or trade (bots and order commands)",
        )
    return purpose  # type: ignore[return-value]


def is_okx_host(host: str) -> bool:
    """True for OKX's own hosts (okx.com and its subdomains): never a simulator."""
    host = host.lower().rstrip(".")
    return host == "okx.com" or host.endswith(".okx.com")


def check_sim_url(url: str) -> str:
    """A simulator's REST URL in one canonical form (so one simulator is one URL), or a VaultError.

    http(s) only, a host, no user:password, query or fragment; scheme and host lower-cased, the
    default port and a trailing "/" dropped. OKX's own hosts are refused: they are not a simulator.
    """
    fix = "pass the simulator's REST URL as printed by `okxbot sim serve`, e.g. http://127.0.0.1:8080"
    try:
        parts = urllib.parse.urlsplit(url.strip())
        port = parts.port
    except ValueError:
        raise VaultError(f"--sim {url!r} is not a URL", fix) from None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise VaultError(f"--sim {url!r} is not an http(s) URL", fix)
    if parts.username is not None or parts.password is not None or parts.query or parts.fragment:
        raise VaultError(f"--sim {url!r} has a user name, password, query or fragment", fix)
    if is_okx_host(parts.hostname):
        raise VaultError(
            f"--sim {url!r} is OKX itself, not a simulator",
            "drop --sim to talk to OKX (okxbot picks the host from the key's region)",
        )
    scheme = parts.scheme.lower()
    host = parts.hostname.lower()
    if ":" in host:
        host = f"[{host}]"
    default = {"http": 80, "https": 443}[scheme]
    netloc = host if port in (None, default) else f"{host}:{port}"
    return f"{scheme}://{netloc}{parts.path.rstrip('/')}"


def now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Profile:
    """One stored key. `key_hint` is the masked API key (last 4 characters), safe to show.

    `sim_url` is set for a simulator key (bound to that URL; `region` is then unused); `auto` marks
    the simulator key okxbot fetched itself for `--sim URL` with no profile named.
    """

    name: str
    demo: bool = False
    region: Region = "www"
    purpose: Purpose = "trade"
    notes: str = ""
    backend: Backend = "file"
    key_hint: str = ""
    created: str = field(default_factory=now_iso)
    last_used: str | None = None
    disabled: bool = False
    disabled_reason: str = ""
    # What the last `okxbot doctor` (or pre-trade check) saw: perm, ip, checked_at.
    last_check: dict[str, str] = field(default_factory=dict)
    sim_url: str = ""
    auto: bool = False
    # +1 each time the key is replaced (`keys rotate`): a running bot on this profile watches it and
    # moves onto the new key between two requests (`okxbot.trading.key_swap`).
    generation: int = 0
    # A bot's own sub-account key made by `okxbot keys provision` through the master profile `master`:
    master: str = ""  # the master account's profile
    sub_acct: str = ""  # the OKX sub-account the key belongs to
    key_label: str = ""  # the key's label (note) on OKX
    key_created: str = ""  # when okxbot made the current key

    @property
    def is_sim(self) -> bool:
        return bool(self.sim_url)

    @property
    def provisioned(self) -> bool:
        """The key was made by okxbot on a sub-account (`keys provision`): okxbot can replace it."""
        return bool(self.master and self.sub_acct)

    @property
    def environment(self) -> str:
        if self.is_sim:
            return "simulator demo" if self.demo else "simulator"
        return "demo" if self.demo else "live"

    @property
    def base_url(self) -> str:
        """The only host this profile's key is ever sent to."""
        return self.sim_url or REGION_HOSTS[self.region]

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> Profile:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in raw.items() if k in known})


class ProfileStore:
    """The profile list of one OKXBOT_HOME."""

    FILE = "profiles.json"

    def __init__(self, home: Path | None = None) -> None:
        self.home = home or okxbot_home()
        self.path = self.home / self.FILE
        self._lock = self.home / ".profiles.lock"

    def all(self) -> list[Profile]:
        return sorted(self._read().values(), key=lambda p: p.name)

    def find(self, name: str) -> Profile | None:
        return self._read().get(name)

    def get(self, name: str) -> Profile:
        profile = self.find(name)
        if profile is None:
            names = ", ".join(p.name for p in self.all()) or "none yet"
            raise VaultError(
                f"no profile named {name!r} (profiles: {names})",
                f"add it with `okxbot keys add {name}` or pick one from `okxbot keys list`",
            )
        return profile

    def add(self, profile: Profile) -> None:
        def change(profiles: dict[str, Profile]) -> None:
            if profile.name in profiles:
                raise VaultError(
                    f"a profile named {profile.name!r} already exists",
                    f"use `okxbot keys rotate {profile.name}` to replace its values, or choose another name",
                )
            profiles[profile.name] = profile

        self._modify(change)

    def update(self, name: str, change: Callable[[Profile], None]) -> Profile:
        """Apply `change` to the stored profile under the lock and save; returns the new profile."""
        result: list[Profile] = []

        def apply(profiles: dict[str, Profile]) -> None:
            if name not in profiles:
                raise VaultError(f"no profile named {name!r}", "see `okxbot keys list`")
            change(profiles[name])
            result.append(profiles[name])

        self._modify(apply)
        return result[0]

    def remove(self, name: str) -> None:
        def change(profiles: dict[str, Profile]) -> None:
            if profiles.pop(name, None) is None:
                raise VaultError(f"no profile named {name!r}", "see `okxbot keys list`")

        self._modify(change)

    def _modify(self, change: Callable[[dict[str, Profile]], None]) -> None:
        with exclusive(self._lock, "profile list"):
            profiles = self._read()
            change(profiles)
            body = {
                "version": 1,
                "profiles": [p.to_json() for p in sorted(profiles.values(), key=lambda p: p.name)],
            }
            write_atomic(self.path, (json.dumps(body, indent=2) + "\n").encode())

    def _read(self) -> dict[str, Profile]:
        try:
            raw = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return {}
        try:
            body = json.loads(raw)
            return {p["name"]: Profile.from_json(p) for p in body["profiles"]}
        except (ValueError, KeyError, TypeError) as err:
            raise VaultError(
                f"the profile list {self.path} is damaged ({err.__class__.__name__})",
                "restore it from a backup, or delete it and add the profiles again with `okxbot keys add`",
            ) from None
