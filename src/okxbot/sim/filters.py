"""Query parameters of the list endpoints (orders, fills, bills) and the errors they raise."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from okxbot.sim.order import Order


class ParamError(ValueError):
    """A query parameter the exchange refuses; code and msg are OKX's."""

    def __init__(self, code: str, msg: str) -> None:
        super().__init__(f"{code} {msg}")
        self.code = code
        self.msg = msg


class UnknownInstrument(ParamError):
    def __init__(self, inst_id: str) -> None:
        super().__init__("51001", "Instrument ID or Spread ID doesn't exist.")
        self.inst_id = inst_id


def param_str(value: Any) -> str:
    """A request field as a string, with None and "" both meaning absent (python-okx sends both)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return value if isinstance(value, str) else str(value)


def is_digits(text: str) -> bool:
    """Only ASCII 0-9: str.isdigit() also accepts "²", which int() then refuses (a 50026 instead of 51000)."""
    return text.isascii() and text.isdigit()


def count_param(text: str, name: str, *, default: int, maximum: int) -> int:
    """A count such as `limit` (or a book's `sz`): absent -> default; above the documented maximum ->
    the maximum, as OKX answers (ccxt's fetchTrades asks market/trades for 12,000 and gets 500);
    anything but a whole number >= 1 ("0", "-5", "1.5", "abc") -> 51000, the harsher plausible answer
    (OKX does not document it)."""
    if not text:
        return default
    if not is_digits(text) or int(text) < 1:
        raise ParamError("51000", f"Parameter {name} error")
    return min(int(text), maximum)


class ListFilters:
    """Query-string filters shared by the list endpoints (OKX pagination by id: after = older)."""

    def __init__(self, raw: Mapping[str, str]) -> None:
        self.raw = {k: param_str(v) for k, v in raw.items() if param_str(v)}
        self.limit = self._limit()
        self.after = self.integer("after")
        self.before = self.integer("before")

    def get(self, name: str) -> str:
        return self.raw.get(name, "")

    def integer(self, name: str) -> int | None:
        text = self.get(name)
        if not text:
            return None
        if not is_digits(text):
            raise ParamError("51000", f"Parameter {name} error")
        return int(text)

    def _limit(self) -> int:
        return count_param(self.get("limit"), "limit", default=100, maximum=100)

    def choice(self, name: str, allowed: tuple[str, ...]) -> str:
        value = self.get(name)
        if value and value not in allowed:
            raise ParamError("51000", f"Parameter {name} error")
        return value

    def order_matches(self, o: Order) -> bool:
        inst_type, inst_id, ord_type = self.get("instType"), self.get("instId"), self.get("ordType")
        return (
            (not inst_type or inst_type in (o.inst.inst_type, "ANY"))
            and (not inst_id or o.inst.inst_id == inst_id)
            and (not ord_type or o.ord_type in ord_type.split(","))
        )

    def record_matches(self, r: Mapping[str, str]) -> bool:
        inst_type, inst_id = self.get("instType"), self.get("instId")
        begin, end = self.integer("begin"), self.integer("end")
        ts = int(r["ts"])
        return (
            (not inst_type or inst_type == r["instType"])
            and (not inst_id or inst_id == r["instId"])
            and (begin is None or ts >= begin)
            and (end is None or ts <= end)
        )

    def page(
        self, items: Iterable[Any], key: Callable[[Any], int], render: Callable[[Any], Any] | None = None
    ) -> list[Any]:
        """Newest-first items, cut by after/before (ids) and limit."""
        out: list[Any] = []
        for item in items:
            k = key(item)
            if self.after is not None and k >= self.after:
                continue
            if self.before is not None and k <= self.before:
                continue
            out.append(render(item) if render else item)
            if len(out) >= self.limit:
                break
        return out
