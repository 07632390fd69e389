"""OKX error codes -> okxbot errors with ccxt's exception class and a plain-language hint.

THE one table of what an OKX code means on the client side (reference §2, §1.5 and §7.3). Every
failure the client surfaces is an `OkxError` subclass naming its family (authentication, clock,
permission, insufficient funds, invalid order, order not found, rate limit, network, exchange
unavailable), OKX's code, the ccxt exception class ccxt itself raises for that code, and a hint that
says what to do.

ccxt is not imported here (it costs ~0.6 s): ccxt exceptions are recognised by class name, so that
`okxbot doctor` and the CLI can use this module without paying for ccxt.
"""

from __future__ import annotations

import functools
import inspect
import json
import re
from dataclasses import dataclass, field
from typing import Any, ClassVar


class OkxError(Exception):
    """A failure talking to OKX, with what OKX said and what to do about it.

    code: OKX's code as a string ("51008"), or None when the failure happened before OKX answered
    (timeout, dropped connection) or was caught locally before sending.
    ccxt_class: the name of the ccxt exception class ccxt raises for this failure.
    local: True when okxbot refused the request itself and nothing was sent.
    outcome_unknown: True when a request may or may not have been executed (timeout, dropped
    connection, 5xx, 50001, 50004, 50013, 50026, 51149, an unreadable answer): an order must be looked
    up, never resent while its outcome is unknown (see `OkxOutcomeUnknown`).
    """

    family: ClassVar[str] = "error"

    def __init__(
        self,
        code: str | None,
        message: str,
        hint: str,
        ccxt_class: str = "ExchangeError",
        *,
        local: bool = False,
        outcome_unknown: bool = False,
        http_status: int | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        self.code = code
        self.message = message
        self.hint = hint
        self.ccxt_class = ccxt_class
        self.local = local
        self.outcome_unknown = outcome_unknown
        self.http_status = http_status
        self.details = dict(details or {})
        super().__init__(self.describe())

    def describe(self) -> str:
        """One line for a human: code, what OKX said, what to do."""
        head = f"OKX {self.code}: " if self.code else ""
        return f"{head}{self.message} -- {self.hint}" if self.hint else f"{head}{self.message}"

    def as_dict(self) -> dict[str, Any]:
        """The error as JSON-ready data (for `--json` output and logs)."""
        return {
            "error": self.family,
            "code": self.code,
            "message": self.message,
            "hint": self.hint,
            "ccxt_class": self.ccxt_class,
            "local": self.local,
            "outcome_unknown": self.outcome_unknown,
            **({"details": self.details} if self.details else {}),
        }


class OkxAuthError(OkxError):
    """The API key, secret, passphrase or environment (demo/live, region) is wrong."""

    family = "authentication"


class OkxClockError(OkxAuthError):
    """The request's timestamp was outside OKX's window (50102): the clock offset is wrong."""

    family = "clock"


class OkxPermissionError(OkxError):
    """The key works but is not allowed to do this (permission, IP binding, region, account)."""

    family = "permission"


class OkxInsufficientFunds(OkxError):
    family = "insufficient_funds"


class OkxInvalidOrder(OkxError):
    """The order breaks an instrument rule (tick size, lot size, minimum) or a parameter is wrong."""

    family = "invalid_order"


class OkxBadRequest(OkxError):
    """The request itself is malformed: a bug in the caller rather than a trading decision."""

    family = "bad_request"


class OkxOrderNotFound(OkxError):
    family = "order_not_found"


class OkxSettingsRefused(OkxError):
    """OKX refused to change an account setting (leverage, margin or position mode: the 59000 family).

    The same request fails again until the user changes something (cancels orders, closes positions),
    so okxbot never retries it."""

    family = "settings_refused"


class OkxRateLimited(OkxError):
    family = "rate_limit"


class OkxNetworkError(OkxError):
    """OKX could not be reached or did not answer in time."""

    family = "network"


class OkxUnavailable(OkxError):
    """OKX answered but cannot serve the request now (maintenance, overload, 5xx)."""

    family = "exchange_unavailable"


class OkxOutcomeUnknown(OkxUnavailable):
    """An order request (place, amend, cancel) that may or may not have been executed.

    OKX answers before its matching engine is done, so after a timeout, a dropped connection, a 5xx,
    50001, 50004, 50013, 50026, 51149 or an unreadable answer the request can still execute later
    (up to its expTime). `settle_at_ms` (OKX's clock) is when that can no longer happen and OKX's
    read endpoints show it if it did: the request's expTime + the measured clock error + the read-lag
    allowance. Before it, a lookup that finds nothing proves nothing; None when no expTime was sent
    (the outcome stays unknown until the order is found). `cause` is the failure that made it unknown.
    """

    def __init__(
        self,
        cause: OkxError,
        message: str,
        hint: str,
        *,
        settle_at_ms: int | None,
        details: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(
            cause.code,
            message,
            hint,
            cause.ccxt_class,
            outcome_unknown=True,
            http_status=cause.http_status,
            details=details,
        )
        self.cause = cause
        self.settle_at_ms = settle_at_ms


class OkxBadResponse(OkxError):
    """OKX's answer could not be read (truncated, not JSON, an HTML page, wrong types, missing fields).

    The request did reach OKX and may have been executed, so its outcome is unknown: an order is
    looked up by clOrdId before anything else is done.
    """

    family = "bad_response"


def bad_response(exc: BaseException, **context: Any) -> OkxBadResponse:
    """The OkxError for an answer that broke okxbot's or ccxt's parsing with `exc`."""
    return OkxBadResponse(
        None,
        f"unreadable answer from OKX ({type(exc).__name__}: {_short(str(exc)) or 'no detail'})",
        "OKX (or a proxy in between) sent a malformed answer; the request's outcome is unknown, so "
        "okxbot checks the order by its client order id before acting again. Retry later if it persists.",
        "BadResponse",
        outcome_unknown=True,
        http_status=200,
        details=_clean(context),
    )


# Exceptions that a malformed answer raises inside response parsing (ours or ccxt's).
PARSE_FAILURES: tuple[type[BaseException], ...] = (
    AttributeError,
    TypeError,
    KeyError,
    IndexError,
    ValueError,
    ArithmeticError,
)


@dataclass(frozen=True)
class CodeInfo:
    """What one OKX code means: our family, the ccxt class ccxt raises, and the fix."""

    kind: type[OkxError]
    ccxt_class: str
    hint: str
    outcome_unknown: bool = False
    retry_after_backoff: bool = False
    extra: dict[str, str] = field(default_factory=dict)


_E = "ExchangeError"  # what ccxt raises for codes missing from its table

# The table. Hints may use {instId}, {ccy}, {available}, {param} when the context provides them;
# missing fields are dropped with their sentence (see _fill).
CODES: dict[str, CodeInfo] = {
    # authentication: say which of the three values (or which environment) is wrong
    "50008": CodeInfo(OkxAuthError, "AuthenticationError", "OKX does not know this user: check the API key."),
    "50100": CodeInfo(
        OkxAuthError, _E, "This API key is frozen by OKX: contact OKX support or create a new key."
    ),
    "50101": CodeInfo(
        OkxAuthError,
        "AuthenticationError",
        "Demo/live mismatch: a demo-trading key must be used with demo mode on, a live key with it "
        "off. Check the profile's environment (okxbot keys show) or --demo.",
    ),
    "50102": CodeInfo(
        OkxClockError,
        "InvalidNonce",
        "The request timestamp is too far from OKX's clock. okxbot resyncs its clock offset; if this "
        "persists, fix the system clock (enable NTP) and check `okxbot doctor`.",
    ),
    "50103": CodeInfo(OkxAuthError, "AuthenticationError", "No API key was sent: add a key to the profile."),
    "50104": CodeInfo(
        OkxAuthError, "AuthenticationError", "No passphrase was sent: re-enter the key's passphrase."
    ),
    "50105": CodeInfo(
        OkxAuthError,
        "AuthenticationError",
        "The passphrase is wrong: it is the one you typed when creating the API key (not your login "
        "password). Re-enter it with `okxbot keys add`.",
    ),
    "50106": CodeInfo(
        OkxAuthError, "AuthenticationError", "No signature was sent: the secret key is missing."
    ),
    "50107": CodeInfo(OkxAuthError, "AuthenticationError", "No timestamp was sent with the request."),
    "50111": CodeInfo(
        OkxAuthError,
        "AuthenticationError",
        "The API key is not known to OKX: check it was copied whole, not deleted, and belongs to this "
        "region's site (EEA: my.okx.com, US: app.okx.com).",
    ),
    "50112": CodeInfo(
        OkxAuthError, "AuthenticationError", "The timestamp format was rejected: check the clock."
    ),
    "50113": CodeInfo(
        OkxAuthError,
        "AuthenticationError",
        "The signature is invalid: the secret key is wrong (or swapped with the passphrase). "
        "Re-enter the secret key with `okxbot keys add`.",
    ),
    "50114": CodeInfo(
        OkxAuthError, "AuthenticationError", "OKX refused the authorization: re-enter the key."
    ),
    "50119": CodeInfo(
        OkxAuthError,
        _E,
        "The API key does not exist on this host: EEA accounts use my.okx.com, US accounts "
        "app.okx.com; check the profile's region and that the key was not deleted.",
    ),
    # permissions
    "50027": CodeInfo(OkxPermissionError, "PermissionDenied", "This account is restricted from trading."),
    "50030": CodeInfo(OkxPermissionError, _E, "This key may not use this endpoint: check its permissions."),
    "50035": CodeInfo(
        OkxPermissionError,
        _E,
        "This endpoint needs a key bound to an IP address: OKX lets a master key manage sub-accounts' "
        "keys only when it is bound to your server's IP (edit the key on OKX's API page).",
    ),
    "50038": CodeInfo(OkxPermissionError, _E, "This feature is not available in demo trading."),
    "50110": CodeInfo(
        OkxPermissionError,
        "PermissionDenied",
        "Your IP address is not in the API key's IP whitelist: add it on OKX's API page or run from "
        "a whitelisted machine.",
    ),
    "50120": CodeInfo(
        OkxPermissionError,
        _E,
        "This API key lacks the permission for this action (e.g. a read-only key placing orders): "
        "enable 'Trade' for the key on OKX, or use a trading profile.",
    ),
    "50121": CodeInfo(OkxPermissionError, _E, "OKX blocks access from this IP address or region."),
    "51010": CodeInfo(
        OkxPermissionError,
        "AccountNotEnabled",
        "The OKX account's mode does not allow this. Perpetual swaps need Futures mode (acctLv 2) or a "
        "margin mode above it; Spot mode (acctLv 1) trades spot only. Switch the account mode on OKX "
        "(Trade > Settings > Account mode: okxbot never switches it for you); `okxbot doctor` shows it.",
    ),
    "51024": CodeInfo(OkxPermissionError, "AccountSuspended", "The trading account is blocked: contact OKX."),
    # a master account and its sub-accounts
    "59500": CodeInfo(
        OkxPermissionError,
        _E,
        "Only the master (main) account's key may do this; a sub-account's key cannot: use the master "
        "profile (--master NAME).",
    ),
    "59501": CodeInfo(
        OkxPermissionError, _E, "The sub-account already has 50 API keys: delete unused ones first."
    ),
    "59502": CodeInfo(OkxBadRequest, _E, "Another key of this sub-account already has this label."),
    "59503": CodeInfo(OkxBadRequest, _E, "A key can be bound to at most 20 IP addresses."),
    "59504": CodeInfo(OkxPermissionError, _E, "Sub-accounts cannot withdraw: only the master account can."),
    "59505": CodeInfo(
        OkxBadRequest,
        _E,
        "The passphrase must be 8-32 characters with a digit, an upper-case letter, a lower-case letter "
        "and a special character.",
    ),
    "59506": CodeInfo(
        OkxBadRequest, _E, "This API key does not exist on the sub-account (already deleted?)."
    ),
    "59507": CodeInfo(OkxBadRequest, _E, "A transfer needs two different sub-accounts of the same master."),
    "59508": CodeInfo(OkxPermissionError, "AccountSuspended", "The sub-account is suspended: contact OKX."),
    "59510": CodeInfo(
        OkxBadRequest,
        _E,
        "No such sub-account under this master: check the name (`okxbot keys list --master`).",
    ),
    "59518": CodeInfo(
        OkxPermissionError,
        _E,
        "This account cannot create sub-accounts through the API: create it on OKX's website "
        "(Sub-accounts > Create sub-account), then run the command again with --sub-account NAME.",
    ),
    "59601": CodeInfo(
        OkxBadRequest, _E, "This sub-account name is taken: choose another (--sub-account NAME)."
    ),
    "59603": CodeInfo(
        OkxPermissionError, _E, "The master account has the most sub-accounts OKX allows: reuse one."
    ),
    "58115": CodeInfo(OkxBadRequest, _E, "No such sub-account under this master: check the name."),
    "58119": CodeInfo(
        OkxPermissionError,
        _E,
        "This sub-account may not move money out by itself (okxbot turns that off); the master moves it "
        "instead (`okxbot budget BOT --withdraw-to-master`).",
    ),
    "58127": CodeInfo(OkxBadRequest, "BadRequest", "A master key cannot use this transfer type."),
    "58128": CodeInfo(OkxBadRequest, "BadRequest", "A sub-account's key cannot use this transfer type."),
    # money
    "58116": CodeInfo(
        OkxInsufficientFunds,
        _E,
        "The transfer is more than the available balance (money held by open orders cannot move).",
    ),
    "51008": CodeInfo(
        OkxInsufficientFunds,
        "InsufficientFunds",
        "Not enough {ccy} available{available_sentence}: reduce the amount or cancel open orders that "
        "lock funds.",
    ),
    "51119": CodeInfo(OkxInsufficientFunds, "InsufficientFunds", "Insufficient balance to place the order."),
    "51127": CodeInfo(OkxInsufficientFunds, "InsufficientFunds", "The available balance is 0."),
    "51131": CodeInfo(OkxInsufficientFunds, "InsufficientFunds", "Insufficient balance."),
    "51502": CodeInfo(OkxInsufficientFunds, "InsufficientFunds", "Not enough balance to amend the order."),
    # invalid order: say which rule
    "51000": CodeInfo(OkxInvalidOrder, "BadRequest", "A parameter is wrong{param_sentence}."),
    "51001": CodeInfo(
        OkxInvalidOrder,
        "BadSymbol",
        "Unknown instrument: use a listed symbol such as BTC/USDT (`okxbot ticker` lists none if "
        "the symbol does not exist).",
    ),
    "51003": CodeInfo(OkxBadRequest, "BadRequest", "Give an order id or a client order id."),
    "51004": CodeInfo(
        OkxInvalidOrder,
        "InvalidOrder",
        "The position would exceed what the current leverage allows (OKX's position tiers): lower the "
        "leverage or the size; `okxbot leverage SYMBOL` shows the tiers.",
    ),
    "51006": CodeInfo(OkxInvalidOrder, "InvalidOrder", "The price is outside OKX's price limit band."),
    "51011": CodeInfo(OkxInvalidOrder, "InvalidOrder", "This order id already exists."),
    "51016": CodeInfo(
        OkxInvalidOrder,
        "InvalidOrder",
        "An open order already has this client order id: the order was already placed.",
    ),
    "50071": CodeInfo(OkxInvalidOrder, _E, "This client order id is already in use."),
    "51020": CodeInfo(
        OkxInvalidOrder,
        "InvalidOrder",
        "The amount is below the instrument's minimum order size{rule_sentence}.",
    ),
    "51120": CodeInfo(OkxInvalidOrder, "InvalidOrder", "The amount is below the minimum{rule_sentence}."),
    "51121": CodeInfo(
        OkxInvalidOrder, "InvalidOrder", "The amount must be a multiple of the lot size{rule_sentence}."
    ),
    "51150": CodeInfo(
        OkxInvalidOrder,
        _E,
        "The price or amount has too many decimals: round to the tick / lot size{rule_sentence}.",
    ),
    "51116": CodeInfo(OkxInvalidOrder, "InvalidOrder", "The price exceeds the allowed maximum."),
    "51137": CodeInfo(OkxInvalidOrder, "InvalidOrder", "The buy price is above the highest allowed price."),
    "51138": CodeInfo(OkxInvalidOrder, "InvalidOrder", "The sell price is below the lowest allowed price."),
    "51201": CodeInfo(OkxInvalidOrder, "InvalidOrder", "The market order's value exceeds the maximum."),
    "51204": CodeInfo(OkxInvalidOrder, "InvalidOrder", "A limit order needs a price: pass --price."),
    "51025": CodeInfo(OkxInvalidOrder, _E, "Too many open orders: cancel some first."),
    "51111": CodeInfo(OkxBadRequest, "BadRequest", "At most 20 orders fit in one batch."),
    "50036": CodeInfo(
        OkxInvalidOrder, _E, "The order's expiry time (expTime) is already past: check the clock offset."
    ),
    "50037": CodeInfo(
        OkxInvalidOrder,
        _E,
        "The order expired before OKX received it (expTime): nothing was placed; the network is slow.",
    ),
    "54004": CodeInfo(OkxInvalidOrder, _E, "One order of the batch failed, so none was placed."),
    # request format
    "50000": CodeInfo(OkxBadRequest, "BadRequest", "The POST body is empty."),
    "50002": CodeInfo(OkxBadRequest, "BadRequest", "The request body is not valid JSON."),
    "50006": CodeInfo(OkxBadRequest, "BadRequest", "The Content-Type must be application/json."),
    "50014": CodeInfo(OkxBadRequest, "BadRequest", "A required parameter is missing{param_sentence}."),
    "50015": CodeInfo(OkxBadRequest, _E, "One of two parameters is required."),
    "50024": CodeInfo(OkxBadRequest, "BadRequest", "Two parameters cannot be sent together."),
    "50115": CodeInfo(OkxBadRequest, "BadRequest", "Wrong HTTP method for this endpoint."),
    # orders that are gone
    "51400": CodeInfo(
        OkxOrderNotFound, "OrderNotFound", "The order is already filled, canceled or does not exist."
    ),
    "51401": CodeInfo(OkxOrderNotFound, "OrderNotFound", "The order is already canceled."),
    "51402": CodeInfo(OkxOrderNotFound, "OrderNotFound", "The order is already completed."),
    "51410": CodeInfo(OkxOrderNotFound, "CancelPending", "The order is already being canceled."),
    "51503": CodeInfo(OkxOrderNotFound, "OrderNotFound", "The order is already filled or canceled."),
    "51603": CodeInfo(
        OkxOrderNotFound,
        "OrderNotFound",
        "No such order (canceled orders without fills are kept only 2 hours): check the id.",
    ),
    # rate limits: backed off and retried where safe before surfacing
    "50011": CodeInfo(
        OkxRateLimited,
        "RateLimitExceeded",
        "OKX's rate limit was hit although okxbot throttles: another program is probably using the "
        "same key; give each bot its own key or share limits through Redis.",
        retry_after_backoff=True,
    ),
    "50061": CodeInfo(
        OkxRateLimited,
        _E,
        "The account's order rate limit (1000 orders / 2 s per sub-account) was hit: slow down or "
        "spread bots over sub-accounts.",
        retry_after_backoff=True,
    ),
    "50040": CodeInfo(
        OkxRateLimited, _E, "Too frequent operations: wait and retry.", retry_after_backoff=True
    ),
    "51113": CodeInfo(OkxRateLimited, "RateLimitExceeded", "Too many market-price requests: slow down."),
    # exchange side
    # OKX's gateway may answer 50001 after the matching engine took the request: unknown, not refused
    "50001": CodeInfo(
        OkxUnavailable,
        "OnMaintenance",
        "OKX is temporarily unavailable (maintenance, overload): try again later; an order request "
        "may or may not have been executed.",
        outcome_unknown=True,
    ),
    "50004": CodeInfo(
        OkxUnavailable,
        "RequestTimeout",
        "OKX timed out internally; the request may or may not have been executed.",
        outcome_unknown=True,
    ),
    "50005": CodeInfo(OkxUnavailable, "ExchangeNotAvailable", "This endpoint is inactive or unavailable."),
    "50013": CodeInfo(
        OkxUnavailable,
        "ExchangeNotAvailable",
        "OKX is busy; the request may or may not have been executed.",
        outcome_unknown=True,
    ),
    "50026": CodeInfo(
        OkxUnavailable, "ExchangeNotAvailable", "OKX system error: try again later.", outcome_unknown=True
    ),
    "51149": CodeInfo(OkxUnavailable, _E, "OKX timed out placing the order.", outcome_unknown=True),
    # WebSocket login / ops
    "60004": CodeInfo(OkxClockError, "AuthenticationError", "The WebSocket login timestamp is invalid."),
    "60005": CodeInfo(OkxAuthError, "AuthenticationError", "The API key is not known (WebSocket login)."),
    "60006": CodeInfo(
        OkxClockError, "InvalidNonce", "The WebSocket login timestamp expired: the clock offset is wrong."
    ),
    "60007": CodeInfo(
        OkxAuthError,
        "AuthenticationError",
        "The WebSocket login signature is invalid: the secret key is wrong.",
    ),
    "60009": CodeInfo(
        OkxAuthError, "AuthenticationError", "WebSocket login failed: check the key's three values."
    ),
    "60011": CodeInfo(OkxAuthError, "AuthenticationError", "Log in before subscribing to private channels."),
    "60014": CodeInfo(OkxRateLimited, "RateLimitExceeded", "Too many WebSocket requests: slow down."),
    "60024": CodeInfo(OkxAuthError, "AuthenticationError", "The passphrase is wrong (WebSocket login)."),
    "60032": CodeInfo(
        OkxAuthError, "AuthenticationError", "The API key does not exist on this host (check the region)."
    ),
}

# Perpetual swaps, leverage and algo orders (derivatives reference §1.3, §2.1, §4.5, §7.3). The 59000
# family and the posSide / account-mode codes are user decisions, never retried.
_SETTINGS_BLOCKED = (
    "OKX does not change leverage, margin mode or position mode while open orders, positions or "
    "trading bots are in the way: cancel the orders (`okxbot cancel --all`, `okxbot algos cancel --all`), "
    "close the positions (`okxbot positions`), stop OKX trading bots, then try again."
)
CODES.update(
    {
        "59000": CodeInfo(OkxSettingsRefused, _E, _SETTINGS_BLOCKED),
        "59002": CodeInfo(OkxSettingsRefused, _E, "Sub-account: " + _SETTINGS_BLOCKED),
        "59101": CodeInfo(
            OkxSettingsRefused,
            _E,
            "Leverage cannot change while isolated-margin orders are pending: cancel them first.",
        ),
        "59107": CodeInfo(
            OkxSettingsRefused,
            _E,
            "Leverage cannot change while cross-margin orders are pending: cancel them first.",
        ),
        "59112": CodeInfo(
            OkxSettingsRefused, _E, "Leverage cannot change while orders are pending: cancel them first."
        ),
        "59102": CodeInfo(
            OkxSettingsRefused,
            _E,
            "The leverage is above the maximum of the instrument or of the position tier your position "
            "is in: lower it (`okxbot leverage SYMBOL` shows the tiers).",
        ),
        "59103": CodeInfo(
            OkxSettingsRefused,
            "InsufficientFunds",
            "Not enough margin for that leverage on the open position: add margin or pick a higher leverage.",
        ),
        "59105": CodeInfo(OkxSettingsRefused, _E, "The leverage is below OKX's minimum (0.01)."),
        "59108": CodeInfo(
            OkxSettingsRefused,
            "InsufficientFunds",
            "The leverage is too low for the margin available: raise it or add margin.",
        ),
        "59109": CodeInfo(
            OkxSettingsRefused, _E, "After the change the equity would be below the required margin."
        ),
        "59111": CodeInfo(OkxSettingsRefused, _E, "Portfolio margin: cross leverage is not settable."),
        "51039": CodeInfo(OkxSettingsRefused, _E, "Portfolio margin: cross leverage is not settable."),
        "51041": CodeInfo(OkxSettingsRefused, _E, "Portfolio margin accounts trade in net mode only."),
        "51070": CodeInfo(
            OkxSettingsRefused,
            _E,
            "OKX wants this account-mode switch done on its website or app first (answer its questions there).",
        ),
        "51030": CodeInfo(
            OkxUnavailable, "ContractUnavailable", "OKX is settling the funding fee: try again in a minute."
        ),
        "51101": CodeInfo(
            OkxInvalidOrder,
            "InvalidOrder",
            "The size is above the instrument's largest order (in contracts).",
        ),
        "51169": CodeInfo(
            OkxInvalidOrder,
            _E,
            "There is no position in this direction to reduce or close (`okxbot positions`).",
        ),
        "51170": CodeInfo(
            OkxInvalidOrder,
            _E,
            "A reduce-only order must go against the position: sell to reduce a long, buy to reduce a short.",
        ),
        "51205": CodeInfo(OkxInvalidOrder, "InvalidOrder", "Reduce-only is not available for this order."),
        "51023": CodeInfo(OkxInvalidOrder, _E, "There is no such position to close (`okxbot positions`)."),
        "51115": CodeInfo(
            OkxInvalidOrder,
            "InvalidOrder",
            "Orders that close this position are pending: cancel them first (or close with autoCxl).",
        ),
        "59300": CodeInfo(
            OkxInvalidOrder, _E, "There is no isolated position on this side to move margin into or out of."
        ),
        "59301": CodeInfo(
            OkxInvalidOrder,
            _E,
            "That margin change is too large: adding is capped by the available equity, removing by the "
            "initial margin the position needs (and any unrealised loss).",
        ),
        "51148": CodeInfo(
            OkxInvalidOrder,
            _E,
            "The reduce-only order is larger than the position and would open the other way: lower the size.",
        ),
        "51206": CodeInfo(
            OkxInvalidOrder, _E, "Cancel the pending reduce-only orders of this position first."
        ),
        "51100": CodeInfo(
            OkxInvalidOrder,
            "InvalidOrder",
            "A reduce-only order cannot carry a TP/SL: attach it to the entry.",
        ),
        "54070": CodeInfo(
            OkxInvalidOrder,
            _E,
            "OKX no longer takes top-level TP/SL fields on orders: send them in attachAlgoOrds (okxbot does).",
        ),
        "51277": CodeInfo(
            OkxInvalidOrder,
            "InvalidOrder",
            "The take-profit trigger must be below the last price (buy side).",
        ),
        "51278": CodeInfo(
            OkxInvalidOrder, "InvalidOrder", "The stop-loss trigger must be above the last price (buy side)."
        ),
        "51279": CodeInfo(
            OkxInvalidOrder,
            "InvalidOrder",
            "The take-profit trigger must be above the last price (sell side).",
        ),
        "51280": CodeInfo(
            OkxInvalidOrder, "InvalidOrder", "The stop-loss trigger must be below the last price (sell side)."
        ),
        "51258": CodeInfo(
            OkxInvalidOrder,
            "InvalidOrder",
            "A trailing sell's activation price must be above the last price.",
        ),
        "51259": CodeInfo(
            OkxInvalidOrder, "InvalidOrder", "A trailing buy's activation price must be below the last price."
        ),
        "51257": CodeInfo(OkxInvalidOrder, "InvalidOrder", "The trailing callback is outside OKX's range."),
        "51311": CodeInfo(OkxInvalidOrder, _E, "The trailing callback is outside OKX's range."),
        "51058": CodeInfo(OkxInvalidOrder, _E, "There is no position for this algo order to close."),
        "51088": CodeInfo(
            OkxInvalidOrder, _E, "Only one close-the-whole-position TP/SL is allowed per position."
        ),
        "51298": CodeInfo(
            OkxInvalidOrder, _E, "Trigger orders are not available in net mode for swaps: use TP/SL instead."
        ),
        "51065": CodeInfo(OkxInvalidOrder, _E, "This algo client order id is already in use."),
        "51412": CodeInfo(
            OkxOrderNotFound,
            _E,
            "The algo order has already triggered and can no longer be canceled.",
        ),
        "51416": CodeInfo(
            OkxOrderNotFound,
            _E,
            "The algo order has already triggered and can no longer be canceled.",
        ),
    }
)

# 51000 "Parameter X error": what X means for the user when it is about modes, not a typo.
PARAM_HINTS: dict[str, str] = {
    "posSide": (
        "posSide does not match the account's position mode. In net mode (one position per "
        "instrument) send no posSide; in long/short mode every swap order needs posSide long or short "
        "(buy + long opens a long, sell + long closes it). `okxbot doctor` shows the mode; "
        "okxbot checks this before sending."
    ),
    "tdMode": (
        "tdMode does not fit the instrument or the account mode: spot trades in cash, swaps in cross "
        "or isolated margin, and swaps need Futures mode (acctLv 2) or above; multi-currency and "
        "portfolio margin accounts have no isolated margin."
    ),
    "reduceOnly": "reduceOnly is not accepted here (in long/short mode closing orders reduce by themselves).",
    "lever": "The leverage is out of range: from 0.01 up to the maximum of the instrument's position tier.",
}

# Families for failures that carry no OKX code, keyed by the ccxt class name ccxt raised.
_BY_CCXT_CLASS: list[tuple[str, type[OkxError], str, bool]] = [
    # (ccxt class, our family, hint, outcome unknown)
    ("RequestTimeout", OkxNetworkError, "OKX did not answer in time; the outcome is unknown.", True),
    ("InvalidNonce", OkxClockError, CODES["50102"].hint, False),
    ("DDoSProtection", OkxRateLimited, "OKX is throttling this client: slow down.", False),
    ("RateLimitExceeded", OkxRateLimited, CODES["50011"].hint, False),
    ("OnMaintenance", OkxUnavailable, CODES["50001"].hint, False),
    (
        "ExchangeNotAvailable",
        OkxUnavailable,
        "OKX is unreachable or failing (connection refused, 5xx); the outcome of the last request is unknown.",
        True,
    ),
    ("NetworkError", OkxNetworkError, "Network failure talking to OKX; check connectivity.", True),
    (
        "AuthenticationError",
        OkxAuthError,
        "Authentication failed: check the key, secret and passphrase.",
        False,
    ),
    ("PermissionDenied", OkxPermissionError, "Permission denied for this key.", False),
    ("AccountSuspended", OkxPermissionError, "The account is suspended.", False),
    ("InsufficientFunds", OkxInsufficientFunds, "Insufficient funds.", False),
    ("OrderNotFound", OkxOrderNotFound, CODES["51400"].hint, False),
    ("BadSymbol", OkxInvalidOrder, CODES["51001"].hint, False),
    ("InvalidOrder", OkxInvalidOrder, "The order was rejected.", False),
    ("BadRequest", OkxBadRequest, "The request was rejected as malformed.", False),
    ("ArgumentsRequired", OkxBadRequest, "A required argument is missing.", False),
    ("NotSupported", OkxBadRequest, "Not supported by OKX or ccxt.", False),
]

_ENVELOPE = re.compile(r"\{.*\}", re.DOTALL)
# ccxt's text for an HTTP error status: "okx POST http://host/path 500 Internal Server Error <body>"
_HTTP_STATUS = re.compile(r"^\S+ [A-Z]+ \S+ (\d{3}) ")
_INSUFFICIENT_CCY = re.compile(r"Insufficient (\w+) (?:balance|margin)")
_PARAM = re.compile(r"Parameter (\w+)")


def info(code: str) -> CodeInfo | None:
    """The table entry for an OKX code, or None for a code the table does not know."""
    return CODES.get(str(code))


def from_code(
    code: str,
    message: str = "",
    *,
    http_status: int | None = None,
    local: bool = False,
    **context: Any,
) -> OkxError:
    """The okxbot error for an OKX code and message (the message is OKX's own `msg`/`sMsg`)."""
    code = str(code)
    entry = CODES.get(code)
    message = (message or "").strip() or (f"OKX error {code}" if code else "OKX error")
    if entry is None:
        unavailable = http_status is not None and http_status >= 500
        kind: type[OkxError] = OkxUnavailable if unavailable else OkxError
        hint = "See OKX's error code list for this code." if not unavailable else "OKX failed (5xx)."
        return kind(
            code,
            message,
            hint,
            "ExchangeNotAvailable" if unavailable else _E,
            http_status=http_status,
            local=local,
            outcome_unknown=unavailable,
            details=_clean(context),
        )
    ctx = dict(context)
    if "ccy" not in ctx and (m := _INSUFFICIENT_CCY.search(message)):
        ctx["ccy"] = m.group(1)
    if "param" not in ctx and (m := _PARAM.search(message)):
        ctx["param"] = m.group(1)
    hint = PARAM_HINTS.get(str(ctx.get("param"))) if code == "51000" else None
    return entry.kind(
        code,
        message,
        hint or _fill(entry.hint, ctx),
        entry.ccxt_class,
        http_status=http_status,
        local=local,
        # any 5xx may have happened after the request was executed
        outcome_unknown=entry.outcome_unknown or (http_status is not None and http_status >= 500),
        details=_clean(ctx),
    )


def _fill(hint: str, ctx: dict[str, Any]) -> str:
    ccy = ctx.get("ccy") or "balance"
    available = ctx.get("available")
    values = {
        "ccy": ccy,
        "available_sentence": f" (available: {available} {ccy})" if available is not None else "",
        "param_sentence": f": {ctx['param']}" if ctx.get("param") else "",
        "rule_sentence": f" ({ctx['rule']})" if ctx.get("rule") else "",
    }
    return hint.format(**values)


def answers_are_checked(cls: type) -> type:
    """Every public coroutine of `cls` turns a malformed answer (a parsing failure) into an
    OkxBadResponse, so callers only ever see OkxError, never an AttributeError from deep inside."""
    for name, member in list(vars(cls).items()):
        if name.startswith("_") or not inspect.iscoroutinefunction(member):
            continue

        def wrap(method: Any) -> Any:
            @functools.wraps(method)
            async def checked(self: Any, *args: Any, **kwargs: Any) -> Any:
                try:
                    return await method(self, *args, **kwargs)
                except PARSE_FAILURES as exc:
                    raise bad_response(exc, call=method.__name__) from None

            return checked

        setattr(cls, name, wrap(member))
    return cls


def _clean(ctx: dict[str, Any]) -> dict[str, Any]:
    return {k: str(v) for k, v in ctx.items() if v is not None}


def explain(exc: BaseException, **context: Any) -> OkxError:
    """Turn any failure (an OkxError, a ccxt exception, a network error) into an OkxError.

    ccxt puts the OKX response body in the exception text ("okx {json}"); the per-order `sCode`
    wins over the envelope `code`, as ccxt's own handle_errors does. The HTTP status comes from
    `exc.okx_http_status` (set by okxbot's exchange class) or from ccxt's text for bare statuses.
    """
    if isinstance(exc, OkxError):
        return exc
    text = str(exc)
    http_status = getattr(exc, "okx_http_status", None)
    if http_status is None and (match := _HTTP_STATUS.match(text)):
        http_status = int(match.group(1))
    envelope = _parse_envelope(text)
    if envelope is not None:
        code, msg = _first_error(envelope)
        if code.isdigit() and code not in ("0", "1", "2"):
            err = from_code(code, msg, http_status=http_status, **context)
            err.ccxt_class = _ccxt_name(exc) or err.ccxt_class
            return err
        if not code.isdigit():
            return bad_response(exc, **context)  # an envelope whose code is no OKX code
    name = _ccxt_name(exc)
    if name is not None:
        if http_status is not None and http_status >= 500:
            return OkxUnavailable(
                None,
                _short(text),
                f"OKX answered HTTP {http_status}; the request may or may not have been executed.",
                name,
                outcome_unknown=True,
                http_status=http_status,
                details=_clean(context),
            )
        if _is_a(exc, "ExchangeNotAvailable") and _transport_failure(exc):
            # ccxt reports a refused or dropped connection as ExchangeNotAvailable: it is the network
            return OkxNetworkError(
                None,
                _short(text),
                "No answer from OKX (connection refused or dropped): check the URL and the network; "
                "the outcome of the last request is unknown.",
                name,
                outcome_unknown=True,
                details=_clean(context),
            )
        if _is_a(exc, "BadResponse") or _is_a(exc, "NullResponse"):
            return bad_response(exc, **context)
        for cls_name, kind, hint, unknown in _BY_CCXT_CLASS:
            if _is_a(exc, cls_name):
                return kind(
                    None,
                    _short(text) or cls_name,
                    hint,
                    name,
                    outcome_unknown=unknown,
                    http_status=http_status,
                    details=_clean(context),
                )
        # ccxt raised on an answer that carries no readable OKX error: the answer was malformed
        return bad_response(exc, **context)
    if isinstance(exc, TimeoutError):
        return OkxNetworkError(
            None,
            "timed out",
            _BY_CCXT_CLASS[0][2],
            "RequestTimeout",
            outcome_unknown=True,
            details=_clean(context),
        )
    if isinstance(exc, ConnectionError | OSError):
        return OkxNetworkError(
            None,
            _short(text) or type(exc).__name__,
            "Could not reach OKX: check the URL and the network.",
            "NetworkError",
            outcome_unknown=True,
            details=_clean(context),
        )
    if isinstance(exc, PARSE_FAILURES):
        return bad_response(exc, **context)
    return OkxError(None, _short(text) or type(exc).__name__, "Unexpected error.", type(exc).__name__)


def _transport_failure(exc: BaseException) -> bool:
    cause = exc.__cause__
    return cause is not None and (
        isinstance(cause, OSError) or type(cause).__module__.split(".")[0] in ("aiohttp", "socket")
    )


def _parse_envelope(text: str) -> dict[str, Any] | None:
    match = _ENVELOPE.search(text)
    if match is None:
        return None
    try:
        value = json.loads(match.group(0))
    except ValueError:
        return None
    return value if isinstance(value, dict) and "code" in value else None


def _first_error(envelope: dict[str, Any]) -> tuple[str, str]:
    data = envelope.get("data")
    for item in data if isinstance(data, list) else []:
        if isinstance(item, dict) and str(item.get("sCode", "0")) not in ("0", ""):
            return str(item["sCode"]), str(item.get("sMsg", ""))
    return str(envelope.get("code", "")), str(envelope.get("msg", ""))


def _ccxt_name(exc: BaseException) -> str | None:
    for klass in type(exc).__mro__:
        if klass.__module__.startswith("ccxt."):
            return type(exc).__name__
    return None


def _is_a(exc: BaseException, name: str) -> bool:
    return any(k.__name__ == name and k.__module__.startswith("ccxt.") for k in type(exc).__mro__)


def _short(text: str, limit: int = 300) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."
