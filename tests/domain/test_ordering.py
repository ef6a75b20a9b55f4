"""Natural ordering of receipt numbers and reviewer ids (C5, V5, V8, A1)."""

from __future__ import annotations

import pytest

from sangsaeng.domain.ordering import natural_key


@pytest.mark.parametrize(
    ("smaller", "larger"),
    [
        pytest.param("2022-2-999", "2022-2-1000", id="receipt-digit-run-grows"),
        pytest.param("2022-2-009", "2022-2-010", id="receipt-zero-padded"),
        pytest.param("2022-1-500", "2022-2-001", id="round-before-sequence"),
        pytest.param("R9", "R10", id="reviewer-R9-before-R10"),
        pytest.param("R1", "R1a", id="prefix-first"),
        pytest.param("R07", "R7", id="verbatim-text-breaks-equal-numbers"),
        pytest.param("10", "R1", id="digits-vs-letters-no-type-error"),
    ],
)
def test_C5_natural_key_orders_digit_runs_as_numbers(smaller: str, larger: str) -> None:
    assert natural_key(smaller) < natural_key(larger)
    assert sorted([larger, smaller], key=natural_key) == [smaller, larger]


def test_C5_natural_key_sorts_mixed_shapes_without_error() -> None:
    texts = ["R10", "a1b", "a1b2", "", "R9", "9", "2022-2-1000", "2022-2-999"]
    assert sorted(texts, key=natural_key) == [
        "",
        "9",
        "2022-2-999",
        "2022-2-1000",
        "R9",
        "R10",
        "a1b",
        "a1b2",
    ]
