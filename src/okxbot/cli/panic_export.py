"""`okxbot panic`'s export: everything a review after a leaked key needs, paged to the end.

Sections (each a CSV, all together in report.json): withdrawals (first: the first thing to check),
deposits, funding-account bills, orders (those okxbot did not place are flagged), fills, trading-account
bills. A read-only key may read every one of them.

Paging follows OKX: lists come newest first, at most 100 a page; `after` asks for older rows. Orders,
fills and bills page by id. Deposit and withdrawal histories page by time (`after` = a ms timestamp,
"records earlier than" it): the next page asks for `after = oldest ts + 1` and drops the rows it has
already seen, so rows sharing the oldest page's millisecond are not skipped. Funding bills page by bill
id (`pagingType=2`) for the same reason.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from okxbot.cli.panic_withdrawals import WithdrawalAlert, alert_lines

if TYPE_CHECKING:
    from pathlib import Path

    from okxbot.cli.target import Target
    from okxbot.okx.client import OkxClient

DAYS = 7
INST_TYPES = ("SPOT", "SWAP")  # orders-history and fills-history take one instType a request
PAGE = 100
MAX_PAGES = 1000  # 100k rows a section: more than 7 days of any retail account
FLAGGED = "NO - FLAGGED"


@dataclass
class Export:
    """What the export found; `withdrawals` is None when they could not be read."""

    sections: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    withdrawals: list[WithdrawalAlert] | None = None
    withdrawals_problem: str = ""
    foreign_orders: int = 0
    problems: list[str] = field(default_factory=list)

    def alert_lines(self) -> list[str]:
        return alert_lines(self.withdrawals, DAYS, self.withdrawals_problem)


class Incomplete(Exception):
    """A time-paged list that cannot go further (more than a page of rows in one millisecond)."""


async def _fetch(client: OkxClient, method: str, query: dict[str, str]) -> list[dict[str, Any]]:
    from okxbot.okx.errors import OkxError, explain

    try:
        response = await getattr(client.raw, method)(dict(query))
    except OkxError:
        raise
    except Exception as exc:
        raise explain(exc) from None
    return list(response.get("data") or [])


async def paged(
    client: OkxClient, method: str, params: dict[str, str], cursor: str, begin: int | None = None
) -> list[dict[str, Any]]:
    """Every row of an id-paged OKX list (`after` = the last row's `cursor`), newest first; with `begin`
    (ms) rows older than it are left out and paging stops when they start."""
    rows: list[dict[str, Any]] = []
    query = dict(params, limit=str(PAGE))
    for _ in range(MAX_PAGES):
        page = await _fetch(client, method, query)
        fresh = [r for r in page if begin is None or int(r.get("ts") or 0) >= begin]
        rows += fresh
        if len(page) < PAGE or len(fresh) < len(page):
            break
        query["after"] = str(page[-1][cursor])
    return rows


async def paged_by_time(
    client: OkxClient, method: str, params: dict[str, str], id_field: str, begin: int
) -> list[dict[str, Any]]:
    """Every row of a time-paged OKX list since `begin` (ms), newest first, each once."""
    rows: list[dict[str, Any]] = []
    seen: set[str] = set()
    query = dict(params, limit=str(PAGE))
    for _ in range(MAX_PAGES):
        page = await _fetch(client, method, query)
        new = [r for r in page if str(r[id_field]) not in seen]
        seen.update(str(r[id_field]) for r in new)
        rows += [r for r in new if int(r.get("ts") or 0) >= begin]
        oldest = min((int(r.get("ts") or 0) for r in page), default=0)
        if len(page) < PAGE or oldest < begin:
            break
        if not new:
            raise Incomplete(f"more than {PAGE} rows share the time {oldest}; OKX cannot page past them")
        query["after"] = str(oldest + 1)  # "earlier than": + 1 keeps that millisecond's other rows
    return rows


def okxbot_ids() -> set[str] | None:
    """The clOrdIds in this machine's order journal, or None when there is no journal yet."""
    from okxbot.trading.journal import default_url, journaled_client_ids
    from okxbot.vault.home import okxbot_home

    home = okxbot_home()
    if not (home / "journal.sqlite").exists():
        return None
    return journaled_client_ids(default_url(home))


def is_okxbot_order(order: dict[str, Any], journaled: set[str] | None) -> bool:
    """Placed by okxbot on this machine: its clOrdId is in the journal (every okxbot order is journaled
    before it is sent). Without a journal, fall back to okxbot's clOrdId format (`okxb` + 28 hex)."""
    import re

    from okxbot.okx.ids import DEFAULT_PREFIX, MAX_LENGTH

    cl = str(order.get("clOrdId") or "")
    if journaled is not None:
        return cl in journaled
    return len(cl) == MAX_LENGTH and re.fullmatch(re.escape(DEFAULT_PREFIX) + "[0-9a-f]+", cl) is not None


async def export(client: OkxClient, open_before: list[dict[str, Any]], now_ms: int) -> Export:
    """Read every section; a section that fails is named in `problems`, the others still come."""
    from okxbot.okx.errors import OkxError

    begin = now_ms - DAYS * 86_400_000
    found = Export()
    try:
        rows = await paged_by_time(client, "privateGetAssetWithdrawalHistory", {}, "wdId", begin)
        found.sections["withdrawals"] = rows
        found.withdrawals = [WithdrawalAlert.from_okx(r) for r in rows]
    except (OkxError, Incomplete) as err:
        found.withdrawals_problem = err.describe() if isinstance(err, OkxError) else str(err)
        found.problems.append(f"could not export withdrawals ({found.withdrawals_problem})")
    try:
        found.sections["deposits"] = await paged_by_time(
            client, "privateGetAssetDepositHistory", {}, "depId", begin
        )
    except (OkxError, Incomplete) as err:
        found.problems.append(f"could not export deposits ({_why(err)})")
    try:
        found.sections["funding_bills"] = await paged(
            client, "privateGetAssetBills", {"pagingType": "2"}, "billId", begin
        )
    except OkxError as err:
        found.problems.append(f"could not export funding-account bills ({err.describe()})")
    await _trading(client, open_before, begin, found)
    return found


async def _trading(client: OkxClient, open_before: list[dict[str, Any]], begin: int, found: Export) -> None:
    from okxbot.okx.errors import OkxError

    kinds = [{"instType": kind, "begin": str(begin)} for kind in INST_TYPES]
    try:
        history = [o for q in kinds for o in await paged(client, "privateGetTradeOrdersHistory", q, "ordId")]
        pending = await paged(client, "privateGetTradeOrdersPending", {}, "ordId")
        merged: dict[str, dict[str, Any]] = {}
        for order in [*open_before, *pending, *history]:
            merged[str(order.get("ordId"))] = order  # later (fresher) states win
        orders = sorted(merged.values(), key=lambda o: int(o.get("cTime") or 0), reverse=True)
        journaled = okxbot_ids()
        for order in orders:
            order["placedByOkxbot"] = "yes" if is_okxbot_order(order, journaled) else FLAGGED
        found.sections["orders"] = orders
        found.foreign_orders = sum(1 for o in orders if o["placedByOkxbot"] != "yes")
    except OkxError as err:
        found.problems.append(f"could not export orders ({err.describe()})")
    foreign_ids = {str(o["ordId"]) for o in found.sections.get("orders", []) if o["placedByOkxbot"] != "yes"}
    try:
        fills = []
        for q in kinds:
            try:
                fills += await paged(client, "privateGetTradeFillsHistory", q, "billId")
            except OkxError:
                # fills-history (3 months) may be missing where trade/fills (3 days) exists.
                fills += await paged(client, "privateGetTradeFills", q, "billId")
                found.problems.append(
                    f"{q['instType']} fills older than 3 days were not exported (fills-history unavailable)"
                )
        for fill in fills:
            fill["placedByOkxbot"] = FLAGGED if str(fill.get("ordId")) in foreign_ids else "yes"
        found.sections["fills"] = fills
    except OkxError as err:
        found.problems.append(f"could not export fills ({err.describe()})")
    try:
        found.sections["bills"] = await paged(
            client, "privateGetAccountBills", {"begin": str(begin)}, "billId"
        )
    except OkxError as err:
        found.problems.append(f"could not export trading-account bills ({err.describe()})")


def _why(err: Exception) -> str:
    describe = getattr(err, "describe", None)
    return describe() if callable(describe) else str(err)


def write_report(target: Target, found: Export, summary: dict[str, Any], text: str) -> Path:
    """One directory per run: a CSV per section, report.json (withdrawals first) and summary.txt."""
    import csv
    import io
    import json
    from datetime import UTC, datetime

    from okxbot.vault.atomic import write_atomic
    from okxbot.vault.home import okxbot_home

    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    directory = okxbot_home() / "reports" / f"panic-{stamp}"
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    for name, rows in found.sections.items():
        columns: list[str] = ["placedByOkxbot"] if rows and "placedByOkxbot" in rows[0] else []
        for row in rows:
            columns += [k for k in row if k not in columns]
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: _cell(v) for k, v in row.items()})
        write_atomic(directory / f"{name}.csv", buffer.getvalue().encode())
    report = {
        "withdrawals": (
            [a.as_dict() for a in found.withdrawals]
            if found.withdrawals is not None
            else f"NOT CHECKED: {found.withdrawals_problem}"
        ),
        "generated": stamp,
        "profile": target.profile,
        "key": target.credentials.api_key.masked(),
        "base_url": target.base_url,
        "demo": target.demo,
        "days": DAYS,
        "summary": summary,
        **{name: rows for name, rows in found.sections.items() if name != "withdrawals"},
    }
    write_atomic(directory / "report.json", json.dumps(report, indent=2, default=str).encode())
    write_atomic(directory / "summary.txt", text.encode())
    return directory


def _cell(value: Any) -> str:
    import json

    return value if isinstance(value, str) else json.dumps(value)
