"""The dashboard password: argon2id hashes (argon2-cffi), never the password itself.

Parameters are argon2-cffi's RFC 9106 "low memory" profile (t=3, m=64 MiB, p=4): about 50-100 ms
per check on a small server, which also paces guessing; `needs_rehash` upgrades old hashes at login.
"""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from argon2.profiles import RFC_9106_LOW_MEMORY

MIN_LENGTH = 12
_HASHER = PasswordHasher.from_parameters(RFC_9106_LOW_MEMORY)
# checked against when no password is set, so a login costs the same either way
_DUMMY = _HASHER.hash("okxbot: no password is set on this supervisor")


class PasswordRefused(ValueError):
    """A new password okxbot will not take; the message says what to change."""


def check_new_password(password: str) -> None:
    if len(password) < MIN_LENGTH:
        raise PasswordRefused(f"use at least {MIN_LENGTH} characters (a passphrase of 3-4 words works well)")
    if password.strip() != password:
        raise PasswordRefused("leading or trailing spaces are easy to lose: remove them")
    if len(set(password)) < 5:
        raise PasswordRefused("too repetitive: use more different characters")


def hash_password(password: str) -> str:
    check_new_password(password)
    return _HASHER.hash(password)


def verify_password(stored_hash: str | None, password: str) -> bool:
    """Constant work whether or not a hash is stored; argon2 compares digests in constant time."""
    try:
        return _HASHER.verify(stored_hash or _DUMMY, password) and stored_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str) -> bool:
    return _HASHER.check_needs_rehash(stored_hash)
