"""Values that must never be printed: their repr, str and JSON form are masked."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

MASK = "********"


class Secret:
    """A string that shows itself only through `reveal()`.

    repr(), str(), format() and pydantic/json serialisation all give a mask, so a Secret that
    ends up in a log line, a traceback or an exported report leaks nothing.
    """

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        if isinstance(value, Secret):
            value = value.reveal()
        if not isinstance(value, str):
            raise TypeError("Secret wraps a str")
        self._value = value

    def reveal(self) -> str:
        """The plain value, for signing and storage only."""
        return self._value

    def masked(self, keep: int = 4) -> str:
        """A hint of which secret this is: the last `keep` characters, the rest masked.

        Only for identifiers (the API key), never for the secret key or the passphrase.
        """
        if len(self._value) <= keep * 2:
            return MASK
        return f"{MASK}{self._value[-keep:]}"

    def __repr__(self) -> str:
        return f"Secret({MASK!r})"

    def __str__(self) -> str:
        return MASK

    def __format__(self, spec: str) -> str:
        return MASK

    def __bool__(self) -> bool:
        return bool(self._value)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Secret):
            return self._value == other._value
        return NotImplemented

    def __hash__(self) -> int:
        return hash(("Secret", self._value))

    def __reduce__(self) -> Any:
        # Pickling would write the plain value somewhere we do not control.
        raise TypeError("a Secret cannot be pickled")

    def __json__(self) -> str:  # used by okxbot's JSON encoders
        return MASK

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: Any) -> Any:
        from pydantic_core import core_schema

        return core_schema.no_info_plain_validator_function(
            cls,
            serialization=core_schema.plain_serializer_function_ser_schema(lambda v: MASK),
        )


@dataclass(frozen=True)
class Credentials:
    """The three values of an OKX API key."""

    api_key: Secret
    secret_key: Secret
    passphrase: Secret

    def values(self) -> tuple[str, str, str]:
        """The plain values, for code that signs requests or registers them for log scrubbing."""
        return (self.api_key.reveal(), self.secret_key.reveal(), self.passphrase.reveal())
