"""Read-only swap queries of an account: positions, positions history, maximum order sizes; and the
public open interest.

Parameter errors raise `ParamError` (top-level answers). Lists are newest first.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from okxbot.sim.accounts import Account
from okxbot.sim.contracts import max_size_at, money
from okxbot.sim.derivatives import POS_ID_TTL_MS, Derivatives
from okxbot.sim.filters import ListFilters, ParamError, UnknownInstrument, param_str
from okxbot.sim.instruments import ZERO, floor_to, fmt
from okxbot.sim.margin import Margin
from okxbot.sim.marketdata import Markets
from okxbot.sim.marks import Marks

DERIVATIVE_TYPES = ("MARGIN", "SWAP", "FUTURES", "OPTION")
HISTORY_MS = 90 * 24 * 3600 * 1000


def _ids(raw: str, most: int, name: str) -> list[str]:
    ids = [i for i in raw.split(",") if i]
    if len(ids) > most:
        raise ParamError("50025", f"Parameter {name} count exceeds the limit {most}.")
    return ids


def _sizing(params: Mapping[str, Any]) -> tuple[list[str], str]:
    """max-size / max-avail-size: instId (up to 5) and tdMode, both required."""
    inst_ids = _ids(param_str(params.get("instId")), 5, "instId")
    td_mode = param_str(params.get("tdMode"))
    if not inst_ids:
        raise ParamError("50014", "Parameter instId can not be empty.")
    if not td_mode:
        raise ParamError("50014", "Parameter tdMode can not be empty.")
    return inst_ids, td_mode


class SwapQueries:
    def __init__(self, markets: Markets, marks: Marks, margin: Margin, derivs: Derivatives) -> None:
        self.markets = markets
        self.marks = marks
        self.margin = margin
        self.derivs = derivs

    def positions(self, acct: Account, params: Mapping[str, Any], now: int) -> list[dict[str, Any]]:
        inst_type = param_str(params.get("instType"))
        if inst_type and inst_type not in DERIVATIVE_TYPES:
            raise ParamError("51000", "Parameter instType error")
        inst_ids = _ids(param_str(params.get("instId")), 10, "instId")
        pos_ids = _ids(param_str(params.get("posId")), 20, "posId")
        for inst_id in inst_ids:
            inst = self.markets.instruments.get(inst_id)
            if inst is None:
                raise UnknownInstrument(inst_id)
            if inst_type and inst.inst_type != inst_type:
                raise ParamError("51000", "Parameter instId error")
        rows = []
        margins: dict[str, Any] = {}
        for p in sorted(acct.positions.values(), key=lambda q: (q.c_time, q.pos_id), reverse=True):
            if inst_type and p.inst.inst_type != inst_type:
                continue
            if inst_ids and p.inst.inst_id not in inst_ids:
                continue
            if pos_ids and p.pos_id not in pos_ids:
                continue
            if not p.pos:
                # A closed position shows (pos "0") only when asked for by instId, while its posId lives.
                if not (inst_ids or pos_ids) or not p.closed_at or now - p.closed_at > POS_ID_TTL_MS:
                    continue
            cm = margins.get(p.ccy)
            if cm is None and p.mgn_mode == "cross":
                cm = margins[p.ccy] = self.margin.currency(acct, p.ccy)
            rows.append(self.margin.position_fields(acct, p, cm))
        return rows

    def history(self, acct: Account, params: Mapping[str, str], now: int) -> list[dict[str, str]]:
        f = ListFilters(params)
        inst_type = f.choice("instType", DERIVATIVE_TYPES)
        mgn_mode = f.choice("mgnMode", ("cross", "isolated"))
        close_type = f.choice("type", ("1", "2", "3", "4", "5"))
        inst_id, pos_id = f.get("instId"), f.get("posId")
        rows = [
            r
            for r in acct.position_history
            if now - int(r["uTime"]) <= HISTORY_MS
            and (not inst_type or r["instType"] == inst_type)
            and (not inst_id or r["instId"] == inst_id)
            and (not mgn_mode or r["mgnMode"] == mgn_mode)
            and (not close_type or r["type"] == close_type)
            and (not pos_id or r["posId"] == pos_id)
        ]
        rows.sort(key=lambda r: int(r["uTime"]), reverse=True)
        # after / before are uTimes here, not ids.
        return f.page(rows, key=lambda r: int(r["uTime"]))

    def max_size(self, acct: Account, params: Mapping[str, Any]) -> list[dict[str, str]]:
        inst_ids, td_mode = _sizing(params)
        px_text, lever_text = param_str(params.get("px")), param_str(params.get("leverage"))
        rows = []
        for inst_id in inst_ids:
            inst = self.markets.instruments.get(inst_id)
            if inst is None:
                raise UnknownInstrument(inst_id)
            if not inst.is_swap:
                if td_mode != "cash":
                    raise ParamError("54000", "Margin trading is not supported.")
                px = Decimal(px_text) if px_text and len(inst_ids) == 1 else self.markets.last_px(inst_id)
                buy = floor_to(self.derivs.available(acct, inst.quote_ccy) / px, inst.lot_sz)
                sell = floor_to(self.derivs.available(acct, inst.base_ccy), inst.lot_sz)
                rows.append(
                    {
                        "ccy": "",
                        "instId": inst_id,
                        "maxBuy": fmt(max(ZERO, buy)),
                        "maxSell": fmt(max(ZERO, sell)),
                    }
                )
                continue
            if acct.acct_lv == "1":
                raise ParamError("51010", "You can't complete this request under your current account mode.")
            if td_mode not in ("cross", "isolated"):
                raise ParamError("51000", "Parameter tdMode error")
            buy_lmt, sell_lmt = self.marks.price_limits(inst)
            avail = self.derivs.available(acct, inst.settle_ccy)
            long_short = acct.pos_mode == "long_short_mode"
            out = {}
            for side, default_px, pos_side in (("buy", buy_lmt, "long"), ("sell", sell_lmt, "short")):
                px = Decimal(px_text) if px_text and len(inst_ids) == 1 else default_px
                side_key = pos_side if long_short else "net"
                lever = (
                    Decimal(lever_text) if lever_text else self.margin.lever(acct, inst, td_mode, side_key)
                )
                per_contract = inst.contract_size / px if inst.inverse else inst.contract_size * px
                can_open = floor_to(avail * lever / per_contract, inst.lot_sz) if per_contract else ZERO
                p = self.derivs.find(acct, inst, td_mode, side_key)
                held = p.size if p is not None else ZERO
                closes = ZERO
                if not long_short and p is not None and p.direction == (-1 if side == "buy" else 1):
                    closes, held = held, ZERO
                can_open = min(can_open, max(ZERO, max_size_at(inst, lever) - held))
                out[side] = can_open + closes
            rows.append(
                {
                    "ccy": inst.settle_ccy,
                    "instId": inst_id,
                    "maxBuy": fmt(out["buy"]),
                    "maxSell": fmt(out["sell"]),
                }
            )
        return rows

    def max_avail_size(self, acct: Account, params: Mapping[str, Any]) -> list[dict[str, str]]:
        inst_ids, td_mode = _sizing(params)
        rows = []
        for inst_id in inst_ids:
            inst = self.markets.instruments.get(inst_id)
            if inst is None:
                raise UnknownInstrument(inst_id)
            if inst.is_swap:
                if acct.acct_lv == "1":
                    raise ParamError(
                        "51010", "You can't complete this request under your current account mode."
                    )
                if td_mode not in ("cross", "isolated"):
                    raise ParamError("51000", "Parameter tdMode error")
                avail = fmt(self.derivs.available(acct, inst.settle_ccy))
                rows.append({"instId": inst_id, "availBuy": avail, "availSell": avail})
            else:
                if td_mode != "cash":
                    raise ParamError("54000", "Margin trading is not supported.")
                rows.append({
                    "instId": inst_id, "availBuy": fmt(max(ZERO, self.derivs.available(acct, inst.quote_ccy))),
                    "availSell": fmt(max(ZERO, self.derivs.available(acct, inst.base_ccy))),
                })  # fmt: skip
        return rows

    def open_interest(self, params: Mapping[str, Any], now: int) -> list[dict[str, str]]:
        """public/open-interest: the contracts held long by every account (oi), in coin and USD.

        The synthetic market's accounts hold no positions, so the accounts' longs and shorts need not
        match: the larger side is the open interest."""
        inst_type = param_str(params.get("instType"))
        if not inst_type:
            raise ParamError("50014", "Parameter instType can not be empty.")
        if inst_type not in ("SWAP", "FUTURES", "OPTION"):
            raise ParamError("51000", "Parameter instType error")
        inst_id, family = param_str(params.get("instId")), param_str(params.get("instFamily"))
        if inst_id and self.markets.instruments.get(inst_id) is None:
            raise UnknownInstrument(inst_id)
        rows = []
        for inst in self.markets.instruments.of_type(inst_type):
            if (inst_id and inst.inst_id != inst_id) or (family and inst.uly != family):
                continue
            held = {1: ZERO, -1: ZERO}
            for acct in self.derivs.ledger.accounts.values():
                for p in acct.positions.values():
                    if p.inst is inst and p.pos:
                        held[p.direction] += p.size
            oi = max(held.values())
            mark = self.marks.mark_px(inst)
            coin = oi * inst.contract_size / mark if inst.inverse else oi * inst.contract_size
            usd = oi * inst.contract_size if inst.inverse else coin * mark
            rows.append({"instId": inst.inst_id, "instType": inst_type, "oi": fmt(oi), "oiCcy": fmt(money(coin)),
                         "oiUsd": fmt(money(usd)), "ts": str(now)})  # fmt: skip
        return rows
