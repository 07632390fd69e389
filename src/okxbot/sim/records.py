"""The per-fill records an account keeps: its fills (GET /trade/fills) and bills (GET /account/bills)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from okxbot.sim.instruments import ZERO, fmt
from okxbot.sim.order import Order


@dataclass(frozen=True, slots=True)
class Fill:
    order: Order
    qty: Decimal  # base
    px_str: str
    fee: Decimal  # negative, in the currency received
    exec_type: str  # T taker | M maker
    trade_id: str
    ts: int
    rate: Decimal
    cost: Decimal  # quote


def _common(f: Fill) -> dict[str, str]:
    o = f.order
    return {
        "instType": "SPOT", "instId": o.inst.inst_id, "ordId": o.ord_id, "clOrdId": o.cl_ord_id, "tag": o.tag,
        "tradeId": f.trade_id, "execType": f.exec_type, "subType": "1" if o.side == "buy" else "2",
        "ts": str(f.ts), "fillTime": str(f.ts),
    }  # fmt: skip


def bill_records(
    f: Fill, pay_bill: str, recv_bill: str, balance_of: Callable[[str], Decimal]
) -> list[dict[str, str]]:
    """Two bills (type "2" trade), one per currency that moved; the received one carries the fee.

    `balance_of(ccy)` is the cash balance after the fill, for the `bal` field.
    """
    o = f.order
    buy = o.side == "buy"
    base, quote = o.inst.base_ccy, o.inst.quote_ccy
    recv_ccy, pay_ccy = (base, quote) if buy else (quote, base)
    recv_chg = (f.qty if buy else f.cost) + f.fee
    pay_chg = -(f.cost if buy else f.qty)
    common = _common(f)
    return [
        _bill(common, f, pay_bill, pay_ccy, balance_of(pay_ccy), pay_chg, ZERO),
        _bill(common, f, recv_bill, recv_ccy, balance_of(recv_ccy), recv_chg, f.fee),
    ]


def _bill(
    common: dict[str, str], f: Fill, bill_id: str, ccy: str, bal: Decimal, chg: Decimal, fee: Decimal
) -> dict[str, str]:
    return {
        **common, "billId": bill_id, "ccy": ccy, "bal": fmt(bal), "balChg": fmt(chg), "fee": fmt(fee),
        "px": f.px_str, "sz": fmt(f.qty), "type": "2", "mgnMode": "cash", "from": "", "to": "", "notes": "",
        "interest": "0", "pnl": "0", "posBal": "0", "posBalChg": "0", "fillFwdPx": "", "fillIdxPx": "",
        "fillMarkPx": "", "fillMarkVol": "", "fillPxUsd": "", "fillPxVol": "",
    }  # fmt: skip


def fill_record(f: Fill, bill_id: str) -> dict[str, str]:
    """The GET /trade/fills item; its billId is the bill of the currency received."""
    o = f.order
    return {
        **_common(f), "billId": bill_id, "fillPx": f.px_str, "fillSz": fmt(f.qty), "side": o.side,
        "posSide": "net", "feeCcy": o.fee_ccy, "fee": fmt(f.fee), "feeRate": fmt(-f.rate), "fillIdxPx": "",
        "fillPnl": "0", "fillPxVol": "", "fillPxUsd": "", "fillMarkVol": "", "fillFwdPx": "", "fillMarkPx": "",
        "tradeQuoteCcy": o.inst.quote_ccy,
    }  # fmt: skip


def transfer_bill(
    bill_id: str, ccy: str, change: Decimal, bal: Decimal, ts: int, counterpart: str
) -> dict[str, str]:
    """The trading-account bill of an `asset/transfer`: type "1" (transfer), subType "11" in / "12" out;
    `from` / `to` name the accounts ("6" funding, "18" trading)."""
    incoming = change > 0
    return {
        "instType": "", "instId": "", "ordId": "", "clOrdId": "", "tag": "", "tradeId": "", "execType": "",
        "subType": "11" if incoming else "12", "ts": str(ts), "fillTime": "", "billId": bill_id, "ccy": ccy,
        "bal": fmt(bal), "balChg": fmt(change), "fee": "0", "px": "", "sz": fmt(abs(change)), "type": "1",
        "mgnMode": "", "from": counterpart if incoming else "18", "to": "18" if incoming else counterpart,
        "notes": "", "interest": "0", "pnl": "0", "posBal": "0", "posBalChg": "0", "fillFwdPx": "",
        "fillIdxPx": "", "fillMarkPx": "", "fillMarkVol": "", "fillPxUsd": "", "fillPxVol": "",
    }  # fmt: skip
