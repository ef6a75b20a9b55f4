"""Plain-Korean wording of codes that notices show: the templates' filters over the one table
of Korean names (`sangsaeng.domain.names`)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from sangsaeng.domain.names import (
    APPLICATION_STATES,
    DOCUMENTS,
    FIELDS,
    KINDS,
    OUTBOX_STATES,
    OUTCOMES,
    ROLES,
    named,
    reason_ko,
)

__all__ = ["FILTERS", "KINDS", "reason_ko"]


def _lookup(table: Mapping[str, str]) -> Callable[[str], str]:
    def label(code: str) -> str:
        return named(table, code)
    return label


FILTERS: dict[str, Callable[..., Any]] = {
    "reason_ko": reason_ko,
    "document_ko": _lookup(DOCUMENTS),
    "role_ko": _lookup(ROLES),
    "outcome_ko": _lookup(OUTCOMES),
    "state_ko": _lookup(OUTBOX_STATES),
    "application_state_ko": _lookup(APPLICATION_STATES),
    "kind_ko": _lookup(KINDS),
    "field_ko": _lookup(FIELDS),
}
