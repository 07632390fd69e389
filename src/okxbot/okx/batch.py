"""OKX's batch order endpoints: up to 20 orders per request, one result per order.

    POST trade/batch-orders | trade/amend-batch-orders | trade/cancel-batch-orders  (body: a JSON array)
    <- {"code": "0" | "1" (all failed) | "2" (some failed), "data": [{"clOrdId", "ordId", "sCode", ...}]}

Each order of a batch succeeds or fails on its own (`sCode`), so a batch answer is read into one
outcome per order of the request: its acknowledgement, or its error. A batch whose answer is lost or
unreadable (timeout, dropped connection, 5xx, 50001, 50013, ...) leaves every order of it unknown;
a top-level refusal that executed nothing (50011, 50036, 51000 ...) refuses every order.
ccxt raises on codes "1" and "2"; the per-order results are read back from its exception's text.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from okxbot.okx.errors import OkxError, bad_response, explain, from_code

MAX_BATCH = 20  # orders per batch request (OKX: place, amend and cancel alike)

T = TypeVar("T")


def chunked(items: Sequence[T], size: int = MAX_BATCH) -> Iterator[list[T]]:
    """`items` in consecutive lists of at most `size` (OKX's batch size)."""
    for start in range(0, len(items), size):
        yield list(items[start : start + size])


@dataclass(frozen=True)
class ItemOutcome:
    """One order of a batch request: OKX's per-order answer when it said "0", else the error."""

    body: dict[str, Any]  # what was sent for this order
    ack: dict[str, Any] | None
    error: OkxError | None

    @property
    def unknown(self) -> bool:
        return self.error is not None and self.error.outcome_unknown


async def send_batch(
    call: Callable[[Any], Awaitable[Any]],
    bodies: list[dict[str, Any]],
    *,
    needs_ord_id: bool,
    single: bool = False,
) -> list[ItemOutcome]:
    """Send one batch (<= 20 orders) with `call` (a ccxt implicit method); one outcome per body.

    `single`: `call` is a single-order endpoint (one body, sent as an object): its answer has the
    same shape. `needs_ord_id`: an acknowledgement without an ordId is unreadable, not a success."""
    if not 1 <= len(bodies) <= (1 if single else MAX_BATCH):
        raise ValueError(f"a batch holds 1..{MAX_BATCH} orders (got {len(bodies)})")
    try:
        response = await call(dict(bodies[0]) if single else [dict(b) for b in bodies])
    except Exception as exc:
        response = batch_answer(exc)
        if response is None:
            err = explain(exc)
            return [ItemOutcome(b, None, err) for b in bodies]
    return _per_order(response, bodies, needs_ord_id)


def _per_order(response: Any, bodies: list[dict[str, Any]], needs_ord_id: bool) -> list[ItemOutcome]:
    data = response.get("data") if isinstance(response, dict) else None
    if not isinstance(data, list) or not all(isinstance(d, dict) for d in data):
        err = bad_response(ValueError(f"not a batch answer: {str(response)[:120]!r}"))
        return [ItemOutcome(b, None, err) for b in bodies]
    by_ref: dict[tuple[str, str], dict[str, Any]] = {}
    for item in data:
        for field in ("clOrdId", "ordId"):
            if item.get(field):
                by_ref.setdefault((field, str(item[field])), item)
    outcomes = []
    for index, body in enumerate(bodies):
        item = _match(body, by_ref)
        if item is None and len(data) == len(bodies):
            item = data[index]  # OKX answers in request order; a result may carry neither id
        if item is None:
            err = bad_response(ValueError(f"no result for {_ref(body)} in the batch answer"))
            outcomes.append(ItemOutcome(body, None, err))
            continue
        code = str(item.get("sCode", ""))
        if code == "0" and (item.get("ordId") or not needs_ord_id):
            outcomes.append(ItemOutcome(body, item, None))
        elif code in ("", "0"):
            err = bad_response(ValueError(f"not an order acknowledgement: {str(item)[:120]!r}"))
            outcomes.append(ItemOutcome(body, None, err))
        else:
            outcomes.append(ItemOutcome(body, None, from_code(code, str(item.get("sMsg", "")))))
    return outcomes


def _match(body: dict[str, Any], by_ref: dict[tuple[str, str], dict[str, Any]]) -> dict[str, Any] | None:
    for field in ("clOrdId", "ordId"):
        if body.get(field) and (field, str(body[field])) in by_ref:
            return by_ref[(field, str(body[field]))]
    return None


def _ref(body: dict[str, Any]) -> str:
    return str(body.get("clOrdId") or body.get("ordId") or "an order")


def batch_answer(exc: Exception) -> dict[str, Any] | None:
    """The answer of a batch that ccxt raised on because some or all orders failed (code 1 or 2)."""
    text = str(exc)
    start = text.find("{")
    if start < 0:
        return None
    try:
        payload = json.loads(text[start:])
    except ValueError:
        return None
    if isinstance(payload, dict) and str(payload.get("code")) in ("1", "2") and payload.get("data"):
        return payload
    return None
