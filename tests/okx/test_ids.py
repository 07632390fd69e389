from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from okxbot.okx.ids import InvalidClientOrderId, new_client_order_id, validate_client_order_id


def test_generated_ids_are_32_alphanumerics_unique_and_time_ordered() -> None:
    ids = [new_client_order_id() for _ in range(2000)]
    assert len(set(ids)) == len(ids)
    for value in ids:
        assert len(value) == 32 and value.isalnum() and value.isascii()
        assert validate_client_order_id(value) == value
    # the hex timestamp right after the prefix makes ids sort by creation time
    assert [i[:15] for i in ids] == sorted(i[:15] for i in ids)


def test_prefix_is_kept_and_must_be_alphanumeric() -> None:
    assert new_client_order_id("grid1").startswith("grid1")
    assert len(new_client_order_id("")) == 32
    with pytest.raises(InvalidClientOrderId, match="letters or digits"):
        new_client_order_id("my-bot")
    with pytest.raises(InvalidClientOrderId):
        new_client_order_id("x" * 13)


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ("", "empty"),
        ("a" * 33, "33 characters"),
        ("abc-123", "'-'"),
        ("abc_123", "'_'"),
        ("abc 123", "' '"),
        ("ordé1", "é"),
        (12345, "must be a string"),
    ],
)
def test_ids_okx_would_reject_are_refused_with_the_reason(value: object, fragment: str) -> None:
    with pytest.raises(InvalidClientOrderId) as info:
        validate_client_order_id(value)
    assert fragment in str(info.value)


@given(st.text(alphabet="abcXYZ0189", min_size=1, max_size=32))
def test_any_short_alphanumeric_is_accepted(value: str) -> None:
    assert validate_client_order_id(value) == value
