"""What a bot can still spend, from balances it already tracks: no request before an order.

OKX reports per currency the cash C, the frozen part F (available = C - F) and uTime U, the time of
the currency's last change. A snapshot (REST `account/balance`, or an `account` channel push) is
then corrected for the bot's own orders and fills that it does not reflect yet:

    available = C_U + own fills after U - (F_U - own reserves frozen at U) - own reserves now

An order created before U is frozen in F_U; one created at or after U, or still in flight (no
exchange time known), is not, so its whole reserve comes off. A fill after U has not moved C_U yet.
Whatever cannot be dated (an order in flight, a timestamp equal to U, an order whose freeze ended
at U) is counted on the side that makes `available` smaller, so two quick orders never promise the
same money twice. Frozen amounts beyond the bot's own orders (another program's orders) stay frozen.
Spot only: a buy reserves amount x price in the quote currency, a sell reserves the amount in base.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from okxbot.okx.models import Balance, Order
from okxbot.trading.journal import JournalFill

ZERO = Decimal(0)
FINAL_OKX = frozenset({"filled", "canceled", "mmp_canceled"})


class InsufficientFunds(Exception):
    """An order the bot's tracked balance cannot pay for; nothing was sent."""

    def __init__(self, ccy: str, need: Decimal, available: Decimal, held: Decimal) -> None:
        self.ccy, self.need, self.available, self.held = ccy, need, available, held
        super().__init__(
            f"not enough {ccy}: the order needs {_plain(need)} {ccy}, {_plain(available)} {ccy} is "
            f"available ({_plain(held)} {ccy} held by this bot's open orders); nothing was sent"
        )


@dataclass
class _Snapshot:
    available: Decimal
    frozen: Decimal
    total: Decimal
    updated_ms: int | None  # None: undated, every own order and fill is counted conservatively


@dataclass
class _Held:
    """One of the bot's orders, as far as its reserve is concerned."""

    side: str
    amount: Decimal
    price: Decimal  # the limit price, or the reference price of a market order
    filled: Decimal = ZERO
    since_ms: int | None = None  # exchange time from which OKX's balances include its freeze
    final_ms: int | None = None  # exchange time it stopped being open
    open: bool = True
    amended: bool = False
    fills: list[JournalFill] = field(default_factory=list)

    def reserve(self, filled: Decimal) -> Decimal:
        left = max(self.amount - filled, ZERO)
        return left * self.price if self.side == "buy" else left

    def frozen_at(self, u: int | None) -> Decimal:
        """Its reserve as OKX's balance at time `u` froze it (0 when that cannot be shown)."""
        if u is None or not self.reflected(u):
            return ZERO
        if not self.open and (self.final_ms is None or self.final_ms <= u):
            return ZERO  # final by then, or at a time not known: counting it released keeps `available` low
        return self.reserve(sum((f.size for f in self.fills if f.ts_ms <= u), ZERO))

    def reflected(self, u: int | None) -> bool:
        """Whether OKX's balance at time `u` includes this order's freeze for sure."""
        return u is not None and self.since_ms is not None and self.since_ms < u


class Funds:
    """The spendable balance of one bot's base and quote currencies."""

    def __init__(self, base: str, quote: str) -> None:
        self.base, self.quote = base, quote
        self._snap: dict[str, _Snapshot] = {}
        self._held: dict[str, _Held] = {}  # clOrdId -> order

    # ---- inputs ---------------------------------------------------------------------------------
    def snapshot(self, balances: Iterable[Balance], *, full: bool) -> None:
        """A balance report. `full`: it lists every currency (REST, the channel's first push), so a
        currency missing from it is empty; an event push lists only what changed."""
        balances = list(balances)
        seen: dict[str, Balance] = {b.ccy: b for b in balances if b.ccy in (self.base, self.quote)}
        times = [b.updated_ms for b in balances if b.updated_ms is not None]
        for ccy in (self.base, self.quote):
            b = seen.get(ccy)
            if b is None:
                if not full:
                    continue
                b = Balance(ccy, ZERO, ZERO, ZERO, max(times) if times else None)
            old = self._snap.get(ccy)
            if old is not None and old.updated_ms is not None:
                if b.updated_ms is None or b.updated_ms < old.updated_ms:
                    continue  # an answer older than what the channel already said
            self._snap[ccy] = _Snapshot(b.available, b.frozen, b.total, b.updated_ms)
        self._prune()

    def sent(self, cid: str, side: str, amount: Decimal, price: Decimal) -> None:
        """An order about to leave (or found in the journal): reserved until OKX says otherwise."""
        self._held.setdefault(cid, _Held(side, amount, price))

    def seen(self, cid: str, order: Order) -> None:
        """What OKX said about one of the bot's orders (orders channel, REST answer, lookup)."""
        held = self._held.get(cid)
        if held is None:
            if order.price is None:
                return  # a market order from before a restart: long done
            held = self._held[cid] = _Held(order.side, order.amount, order.price)
        if held.amended:
            # only a report made after the amend dates the new reserve; the latest one is safe
            if order.updated_ms is not None:
                held.since_ms = max(held.since_ms or 0, order.updated_ms)
        else:
            # the acknowledgement's ts is when OKX finished the request, cTime when it froze
            created = order.created_ms if order.created_ms is not None else _int(order.raw.get("ts"))
            if created is not None:
                held.since_ms = created if held.since_ms is None else min(held.since_ms, created)
        held.filled = max(held.filled, order.filled)
        if order.state in FINAL_OKX and held.open:
            held.open, held.final_ms = False, order.updated_ms

    def forget(self, cid: str) -> None:
        """The order was never placed (rejected): it never froze anything."""
        self._held.pop(cid, None)

    def amended(self, cid: str, amount: Decimal, price: Decimal) -> None:
        """An acknowledged amend: the new reserve counts, and OKX's balances show it only from the
        amend's own time on (the next report of the order gives it)."""
        held = self._held.get(cid)
        if held is not None:
            held.amount, held.price = amount, price
            held.since_ms, held.amended = None, True

    def fill(self, fill: JournalFill) -> None:
        held = self._held.get(fill.client_order_id)
        if held is None:
            # reserves of a pre-restart order are gone; its fill still moves cash
            held = self._held[fill.client_order_id] = _Held(fill.side, ZERO, fill.price, open=False)
        held.fills.append(fill)
        held.filled = max(held.filled, sum((f.size for f in held.fills), ZERO))

    # ---- views --------------------------------------------------------------------------------------
    def known(self, ccy: str) -> bool:
        return ccy in self._snap

    def held(self, ccy: str) -> Decimal:
        """What the bot's open orders reserve in `ccy` now."""
        return sum(
            (h.reserve(h.filled) for h in self._held.values() if h.open and _ccy(self, h) == ccy), ZERO
        )

    def available(self, ccy: str) -> Decimal | None:
        """Spendable `ccy` now (None before the first balance report)."""
        snap = self._snap.get(ccy)
        if snap is None:
            return None
        u = snap.updated_ms
        frozen_own = ZERO
        moved = ZERO
        for h in self._held.values():
            reserve_ccy = _ccy(self, h)
            if reserve_ccy == ccy:
                frozen_own += h.frozen_at(u)
            reflected = h.reflected(u)
            for f in h.fills:
                after = u is not None and f.ts_ms > u
                moved += _cash_move(self, f, ccy, debit_counted=after or not reflected, credit_counted=after)
        return snap.available + min(snap.frozen, frozen_own) + moved - self.held(ccy)

    def need(self, side: str, amount: Decimal, price: Decimal) -> tuple[str, Decimal]:
        return (self.quote, amount * price) if side == "buy" else (self.base, amount)

    def check(self, side: str, amount: Decimal, price: Decimal, *, already: Decimal = ZERO) -> None:
        """Raise InsufficientFunds when the order (beyond `already` reserved for it) cannot be paid.
        Before the first balance report there is nothing to check against: OKX checks."""
        ccy, need = self.need(side, amount, price)
        have = self.available(ccy)
        if have is not None and need - already > have:
            raise InsufficientFunds(ccy, need - already, max(have, ZERO), self.held(ccy))

    def reserved_for(self, cid: str) -> Decimal:
        held = self._held.get(cid)
        return ZERO if held is None or not held.open else held.reserve(held.filled)

    def balances(self) -> dict[str, Balance]:
        """The bot's base and quote as a strategy sees them: `available` net of its own orders."""
        out: dict[str, Balance] = {}
        for ccy, snap in self._snap.items():
            available = self.available(ccy)
            assert available is not None
            out[ccy] = Balance(ccy, snap.total, available, snap.frozen, snap.updated_ms)
        return out

    def _prune(self) -> None:
        """Forget finished orders every report already reflects: `available` stays O(open orders)."""
        times = {c: self._snap[c].updated_ms if c in self._snap else None for c in (self.base, self.quote)}
        both = [t for t in times.values() if t is not None]
        oldest = min(both) if len(both) == 2 else None

        def settled(h: _Held) -> bool:
            u = times[_ccy(self, h)]
            if h.open or h.final_ms is None or u is None or h.final_ms >= u:
                return False
            # a fill moved both currencies: both reports must be newer than it
            return not h.fills or (oldest is not None and all(f.ts_ms < oldest for f in h.fills))

        for cid in [cid for cid, h in self._held.items() if settled(h)]:
            del self._held[cid]


def _ccy(funds: Funds, held: _Held) -> str:
    return funds.quote if held.side == "buy" else funds.base


def _cash_move(
    funds: Funds, f: JournalFill, ccy: str, *, debit_counted: bool, credit_counted: bool
) -> Decimal:
    """What fill `f` did to `ccy`'s cash, for the parts that count (fee with the side it is paid in)."""
    paid_ccy, paid = (funds.quote, f.size * f.price) if f.side == "buy" else (funds.base, f.size)
    got_ccy, got = (funds.base, f.size) if f.side == "buy" else (funds.quote, f.size * f.price)
    move = ZERO
    if ccy == paid_ccy and debit_counted:
        move -= paid
        if f.fee_ccy == ccy:
            move += f.fee  # OKX: negative = charged
    if ccy == got_ccy and credit_counted:
        move += got
        if f.fee_ccy == ccy:
            move += f.fee
    return move


def _int(value: object) -> int | None:
    try:
        return int(str(value)) if value not in (None, "") else None
    except ValueError:
        return None


def _plain(value: Decimal) -> str:
    return format(value.normalize(), "f")
