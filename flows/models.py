"""Typed flow parameters and results (the Prefect UI renders these as forms)."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from prefect.input import RunInput
from pydantic import BaseModel, Field


class Step(StrEnum):
    """The round's steps in order (ARCHITECTURE: the round as flows)."""

    OPEN_CALL = "open_call"
    INTAKE = "intake"
    CLOSE_INTAKE = "close_intake"
    SCREENING = "screening"
    COMMITTEE_REVIEW = "committee_review"
    SELECTION_NOTICE = "selection_notice"


class ChairActionInput(BaseModel):
    """V10: one change the chair makes to the proposal."""

    receipt_no: str = Field(description="접수번호 / receipt number")
    reason: str = Field(min_length=1, description="사유 / written reason (audited)")


class ChairApproval(RunInput):
    """V10: the chair's approval of the committee's proposed selection."""

    approve: bool = Field(description="선정안 승인 / approve the proposed selection")
    exclude: list[ChairActionInput] = Field(
        default_factory=list, description="선정 제외 / exclude a proposed selection")
    include: list[ChairActionInput] = Field(
        default_factory=list, description="예비 선정 포함 / include a reserve")
    approved_by: str = Field(default="chair", description="승인자 / who approves")


class StepOutcome(BaseModel):
    """What one step did, and what (if anything) the round now waits for."""

    step: Step
    detail: str = ""
    waiting_for: str | None = None
    data: dict[str, Any] = Field(default_factory=dict)
    notices: dict[str, int] = Field(default_factory=dict, description="sent, retry_later, failed")
    notices_waiting: str | None = Field(default=None, description="why notices wait, if they do")


class RoundReport(BaseModel):
    """The result of a `round` run: the steps done, and where it stopped and why."""

    round_id: str
    state: str
    steps: list[StepOutcome] = Field(default_factory=list)
    stopped_at: Step | None = None
    waiting_for: str | None = None


class DeliveryOutcome(BaseModel):
    """What a delivery run did (the outbox keeps whatever could not go)."""

    round_id: str
    sent: int = 0
    retry_later: int = 0
    failed: int = 0
    released: int = 0
    stopped: str | None = Field(default=None, description="why the batch stopped, if it did")
