"""나라장터 종합쇼핑몰 listing support — PROGRAM_RULES M1, M1a–c. Pure: no I/O.

The checklist of a certified product, its current step, the stall clock of that step (calendar
days in KST, §8 preamble) and whether a dues run owes a reminder or an escalation for it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

CATALOG_NUMBER = re.compile(r"^\d{8}$")  # M1: 물품식별번호, exactly 8 digits


class MallStep(StrEnum):
    """M1: the listing checklist's steps, in order."""

    BIDDER_REGISTRATION = "bidder_registration"
    CATALOG_NUMBER = "catalog_number"
    MAS_QUALIFICATION = "mas_qualification"
    PRICE_NEGOTIATION = "price_negotiation"
    CONTRACT = "contract"
    LISTED = "listed"


class FollowUpKind(StrEnum):
    """M1b/M1c: what a dues run did about a stalled step: a reminder sent, an escalation."""

    REMINDER = "reminder"  # M1b
    ESCALATION = "escalation"  # M1c


ORDER: tuple[MallStep, ...] = tuple(MallStep)
STEP_NAMES: Mapping[MallStep, str] = {
    MallStep.BIDDER_REGISTRATION: "입찰참가자격등록",
    MallStep.CATALOG_NUMBER: "목록화(물품식별번호)",
    MallStep.MAS_QUALIFICATION: "다수공급자계약 적격성평가",
    MallStep.PRICE_NEGOTIATION: "가격협상",
    MallStep.CONTRACT: "계약",
    MallStep.LISTED: "종합쇼핑몰 등록",
}


def evidence_problem(step: MallStep, evidence: str) -> str | None:
    """M1: why the evidence cannot stand for the step (`catalog_number`: the 8-digit
    물품식별번호), or None when it can."""
    if step is MallStep.CATALOG_NUMBER and not CATALOG_NUMBER.fullmatch(evidence.strip()):
        return "catalog_number 단계의 증빙은 8자리 물품식별번호여야 합니다"
    return None


def current_step(done: Iterable[str]) -> MallStep | None:
    """M1: the first step not done, in checklist order; None once `listed` is done (it ends
    the checklist, whatever else is recorded)."""
    recorded = set(done)
    if MallStep.LISTED in recorded:
        return None
    return next(step for step in ORDER if step not in recorded)


def stall_start(done_on: Iterable[date], valid_from: date) -> date:
    """M1a: the latest `done_on` of the recorded steps, else the certificate's `valid_from`."""
    return max(done_on, default=valid_from)


@dataclass(frozen=True, slots=True)
class Stall:
    """A product's current step, when its stall clock started (M1a) and its days at a date."""

    step: MallStep
    since: date
    days: int


def stall_of(done: Mapping[str, date], valid_from: date, today: date) -> Stall | None:
    """M1/M1a: the current step and its days at `today` (today − start); None once listed."""
    step = current_step(done)
    if step is None:
        return None
    since = stall_start(done.values(), valid_from)
    return Stall(step, since, (today - since).days)


def reminder_due(days: int, last_reminded: date | None, today: date, reminder_days: int
                 ) -> bool:
    """M1b: a reminder from `reminder_days` in the step on, unless one was sent for the same
    step within the last `reminder_days` days (so again `reminder_days` days later at the
    earliest; twice on one day never)."""
    if days < reminder_days:
        return False
    return last_reminded is None or (today - last_reminded).days >= reminder_days


def escalation_due(days: int, escalated: bool, escalate_days: int) -> bool:
    """M1c: escalated once per step, from `escalate_days` in the step on."""
    return days >= escalate_days and not escalated
