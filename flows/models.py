"""Typed flow parameters and results (the Prefect UI renders these as forms).

Parameters that several flows share are described once, here, as `Annotated` types: the UI
shows each description (Korean / English) beside its field.
"""

from __future__ import annotations

import inspect
import re
import typing
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import PurePosixPath
from typing import Annotated, Any, Literal, TypeVar

from prefect.context import FlowRunContext
from prefect.input import RunInput
from pydantic import (
    BaseModel,
    BeforeValidator,
    Field,
    GetCoreSchemaHandler,
    GetJsonSchemaHandler,
    WithJsonSchema,
    create_model,
    field_validator,
)
from pydantic.fields import FieldInfo

from flows.registry import STEP_NAMES
from sangsaeng.domain.clock import as_kst, format_kst, parse_instant
from sangsaeng.domain.names import (
    APPLICATION_STATES,
    DOCUMENTS,
    KINDS,
    PACKAGE_TABLES,
    ROUND_STATES,
    counts_ko,
    named,
)
from sangsaeng.domain.states import RoundState

# The round's steps in order (ARCHITECTURE: the round as flows), from the step registry.
Step = StrEnum("Step", [(name.upper(), name) for name in STEP_NAMES])  # type: ignore[misc]
Step.__doc__ = "The round's steps in order (flows/registry.py)."


# Fields whose choices come from files and the database, filled in by flows/round_choice.py when
# a deployment is registered and again when a round is created (the value names the kind).
CHOICE = "x-sangsaeng-choice"
OFF_FORM = "x-sangsaeng-off-form"  # a parameter the office never needs: not on the run form
# The run forms' field labels, by parameter name (Prefect labels a field by its name: issue 23
# item 7). A test checks that every field of every form has one.
LABELS: dict[str, str] = {
    "config": "회차", "round_id": "회차", "data": "접수 자료", "now": "기준 시각 (재현용)",
    "approve": "위원장 승인 함께 제출", "wait_for_chair": "위원장 승인 기다리기",
    "actor": "실행자 (감사 기록)", "chain": "다음 단계 자동 시작", "title": "제목",
    "opens_at": "접수 시작", "closes_at": "접수 마감", "tracks": "모집 분야",
    "quota": "분야별 선정 규모", "support_years": "지원 기간 (년)",
    "after_hours": "업무시간 밖 마감 확인", "items": "항목", "path": "파일 (서버)",
    "csv_text": "평가표 붙여넣기", "number": "확인서 번호", "field": "바꿀 항목",
    "new_value": "새 값", "changed_on": "변경일", "reason": "사유", "receipt_no": "접수번호",
    "ground": "취소 사유", "decided_on": "결정일", "claim_id": "신청 번호",
    "submitted_on": "신청일", "amount_krw": "금액 (원)", "item": "비용 항목",
    "evidence": "증빙", "brn": "사업자등록번호", "step": "단계", "done_on": "완료일",
    "kind": "종류", "held_on": "실시일", "result": "결과", "note": "메모", "place": "장소",
    "link": "링크", "decision": "결정", "decided_by": "결정하는 담당자", "doc_type": "서류",
    "received_at": "접수 일시", "confirmed_at": "생산 확인 일시", "cutoff": "기준 점수",
    "item_floor_ratio": "항목 최저 비율", "trim_at": "절사 기준", "min_reviews": "최소 평가 수",
}

RoundId = Annotated[str, Field(min_length=1, description=(
    "회차: 목록에서 선택 (번호 — 제목) / the round: choose it from the list (id — title)"),
    json_schema_extra={CHOICE: "round"})]


def _typed_in_kst(value: object) -> object:
    """A date and time as the office types it: KST unless a zone is written (T1; issue 23:
    Prefect's date-time picker attached the browser's zone, and 18:00 became 03:00 the next
    day)."""
    if isinstance(value, str):
        if not value.strip():
            return None
        try:
            return parse_instant(value)
        except ValueError:
            raise ValueError(f"'{value.strip()}'은(는) 날짜와 시각이 아닙니다: 예) 2027-03-31 "
                             "18:00 (KST)") from None
    return value


# A date and time of day in KST, as a text field: the UI's date-time picker would attach the
# browser's zone (a browser set to UTC turned 09:00 into 18:00 KST). Code may pass a datetime.
_KST_TEXT = r"^\s*\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})?\s*$"
KstDateTime = Annotated[datetime, BeforeValidator(_typed_in_kst), WithJsonSchema(
    {"type": "string", "pattern": _KST_TEXT, "examples": ["2027-03-31 18:00"]})]
KstDateTimeOrNone = Annotated[datetime | None, BeforeValidator(_typed_in_kst), WithJsonSchema(
    {"type": "string", "pattern": rf"^$|{_KST_TEXT}", "examples": ["2022-07-20 10:00"]})]
Now = Annotated[KstDateTimeOrNone, Field(description=(
        "기준 시각 고정 (KST, 예: 2022-07-20 10:00; 과거 회차 재현용, 비우면 현재) / fix the "
        "clock, KST (replays); empty = now"))]


_CLOCKS_SAID: set[str] = set()  # flow runs whose fixed clock the log has said


def run_clock(now: datetime | None) -> datetime:
    """The run's clock: `now` from the form (a replay), said back once in the run's log (the
    round's steps share their round run's), else the current time."""
    context = FlowRunContext.get()
    run_id = str(context.flow_run.id) if context and context.flow_run else None
    first = run_id is not None and run_id not in _CLOCKS_SAID
    if run_id is not None:
        _CLOCKS_SAID.add(run_id)
    if now is None:
        return datetime.now(UTC)
    if first:
        from prefect import get_run_logger

        get_run_logger().info("기준 시각을 %s KST로 고정했습니다 (재현)", format_kst(now))
    return now
def choice_code(value: object) -> object:
    """The code of a choice picked from a form's list (`기업명 (name)`), or a code as given
    (the CLI, the API, code)."""
    if isinstance(value, str):
        found = re.fullmatch(r".*\(([a-z0-9_]+)\)\s*", value)
        return found.group(1) if found else value.strip()
    return value


def choice_label(code: str, names: Mapping[str, str]) -> str:
    """A choice as a form's list shows it: its Korean name, its code beside (`기업명 (name)`)."""
    return f"{names.get(code, code)} ({code})"


@dataclass(frozen=True)
class NamedChoice:
    """`Annotated` metadata of a choice field whose list shows each code's Korean name (issue 23
    item 4: Prefect's select labels an option by its value); the flow gets the code."""

    names: Mapping[str, str]  # every code the field takes → its Korean name

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> Any:
        return BeforeValidator(choice_code).__get_pydantic_core_schema__(source, handler)

    def __get_pydantic_json_schema__(self, schema: Any, handler: GetJsonSchemaHandler
                                     ) -> dict[str, Any]:
        return {"type": "string", "enum": [choice_label(c, self.names) for c in self.names]}


Actor = Annotated[str, Field(description="감사 기록에 남을 실행자 / who runs it (audit trail)")]
Chain = Annotated[bool, Field(description=(
    "다음 단계 자동 시작 / start the next step's deployment when this one is done"))]
# The UI offers the rounds of config/rounds/<id>.toml by id; the CLI passes a file's path.
RoundFile = Annotated[str, Field(min_length=1, description=(
    "회차: 목록에서 선택 (설정 파일이 있는 회차) / the round: choose it from the list (the "
    "rounds with a configuration file)"),
    json_schema_extra={CHOICE: "round-file"})]
# Empty on the forms: the round's latest upload (var/inbox/<id>/), else the repository's sample
# data/rounds/<id>/package; the CLI and the API may give a path on the server.
DataPath = Annotated[str, Field(description=(
    "접수 자료: 비워 두면 자료 올리기 페이지에서 최근 올린 자료, 없으면 예시 자료 / the round "
    "package: empty = the latest upload on the upload page, else the sample"))]
WaitForChair = Annotated[bool, Field(description=(
    "승인 입력을 UI에서 기다림 / wait in the UI for the chair's input"))]


F = TypeVar("F", bound=Callable[..., Any])


def described(fn: F) -> F:
    """Give a flow's parameters their `Annotated` descriptions on Prefect's run form.

    Prefect 3.9 reads parameter descriptions from the docstring's `Args:` section only (an
    `Annotated` description is overwritten), so the section is written from the annotations:
    each description stays in one place. Put it under `@flow`.
    """
    hints = typing.get_type_hints(fn, include_extras=True)
    lines = [f"    {name}: {meta.description}"
             for name in inspect.signature(fn).parameters
             for meta in getattr(hints.get(name), "__metadata__", ())
             if isinstance(meta, FieldInfo) and meta.description]
    if lines:
        fn.__doc__ = inspect.cleandoc(fn.__doc__ or "") + "\n\nArgs:\n" + "\n".join(lines)
    return fn


class ChairActionInput(BaseModel):
    """V10: one change the chair makes to the proposal."""

    receipt_no: str = Field(title="접수번호", description="접수번호 / receipt number")
    reason: str = Field(min_length=1, title="사유", description="사유 (감사 기록) / written "
                        "reason (audited)")


class ChairApproval(RunInput):
    """V10: the chair's approval of the committee's proposed selection."""

    approve: bool = Field(title="선정안 승인", description=(
        "켜면 선정안을 승인합니다 / approve the proposed selection"))
    exclude: list[ChairActionInput] = Field(default_factory=list, title="선정 제외", description=(
        "선정안에서 뺄 과제 (목록에서 선택) / exclude a proposed selection"))
    include: list[ChairActionInput] = Field(default_factory=list, title="예비 선정 포함",
                                            description=("선정에 넣을 예비 과제 (목록에서 선택) "
                                                         "/ include a reserve"))
    # Required, with no name filled in: the audit records the person who decides (issue 23: a
    # default "chair" was recorded whenever nobody typed a name).
    approved_by: str = Field(min_length=1, title="결정하는 위원장", description=(
        "위원장 이름 (감사 기록) / the chair's name (audited)"))
    reason: str = Field(default="", title="사유", description=(
        "승인하지 않을 때의 사유 (감사 기록) / reason, when not approving (audited)"))

    @field_validator("approved_by")
    @classmethod
    def _named(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("위원장 이름을 적어 주세요 / the chair's name is required")
        return value.strip()

    @classmethod
    def for_proposal(cls, proposed: Sequence[str], reserves: Sequence[str], listing: str = ""
                     ) -> type[ChairApproval]:
        """This form for one proposal: its rows (`listing`, markdown) under the approval
        switch; exclusions are chosen from the proposed receipts, inclusions from the reserves
        (lists in the UI, nothing to type)."""
        def action(name: str, receipts: Sequence[str]) -> Any:
            if not receipts:
                return ChairActionInput
            choice: Any = Literal.__getitem__(tuple(receipts))
            receipt: Any = (choice, Field(  # an enum also for one receipt (not a const)
                title="접수번호", description="목록에서 선택 / choose one",
                json_schema_extra={"enum": list(receipts)}))
            return create_model(name, __base__=ChairActionInput, receipt_no=receipt)
        def kept(name: str, annotation: Any, more: str = "", **default: Any
                 ) -> tuple[Any, Any]:
            base = cls.model_fields[name]  # its title and description, as the base states them
            return annotation, Field(title=base.title, description=(
                f"{base.description}\n\n{more}" if more else base.description), **default)

        fields: dict[str, Any] = {  # approve too: with_initial_data would drop its title
            "approve": kept("approve", bool, listing, default=False),
            "exclude": kept("exclude", list[action("ExcludeProposed", proposed)],  # type: ignore[misc]
                            default_factory=list),
            "include": kept("include", list[action("IncludeReserve", reserves)],  # type: ignore[misc]
                            default_factory=list)}
        form: type[ChairApproval] = create_model("ChairApproval", __base__=cls, **fields)
        return form


# config/program.toml [screening] names the same documents (a test keeps them equal).
class DocumentType(StrEnum):
    """§4.6 제출 서류 / required documents: per application application_form, business_plan,
    agreement; per lead company sme_certificate."""

    APPLICATION_FORM = "application_form"
    BUSINESS_PLAN = "business_plan"
    AGREEMENT = "agreement"
    SME_CERTIFICATE = "sme_certificate"


class SupplementInput(BaseModel):
    """§4.6/S1: one supplement document the program office received."""

    receipt_no: str = Field(min_length=1, description="접수번호 / receipt number")
    doc_type: Annotated[DocumentType, NamedChoice(DOCUMENTS)] = Field(description=(
        "서류 (중소기업 확인서는 주관기업별) / the document (§4.6)"))
    received_at: KstDateTimeOrNone = Field(default=None, description=(
        "접수 일시 (KST, 예: 2022-06-02 10:30; 비우면 지금) / when it was received (KST; empty "
        "= now)"))
    brn: str = Field(default="", description=(
        "주관기업 사업자등록번호 (sme_certificate만; 비우면 서류가 빠진 주관기업) / "
        "the lead's BRN, for sme_certificate only (empty = the lead it is missing for)"))
    note: str = Field(default="", description="메모 (감사 기록) / note (kept in the audit trail)")

    @field_validator("received_at")
    @classmethod
    def _kst(cls, value: datetime | None) -> datetime | None:
        return None if value is None else as_kst(value)  # T1: naive means KST


class ProductionItem(BaseModel):
    """K1: one lead's production confirmed (생산 확인)."""

    receipt_no: str = Field(min_length=1, description="접수번호 / receipt number")
    brn: str = Field(min_length=1, description=(
        "주관기업 사업자등록번호 (XXX-XX-XXXXX) / the lead's BRN"))
    confirmed_at: KstDateTimeOrNone = Field(default=None, description=(
        "생산 확인 일시 (KST, 예: 2022-08-16 10:00; 비우면 지금) / when production was confirmed "
        "(KST; empty = now)"))

    @field_validator("confirmed_at")
    @classmethod
    def _kst(cls, value: datetime | None) -> datetime | None:
        return None if value is None else as_kst(value)  # T1: naive means KST


class InputOutcome(BaseModel):
    """What an input of the program office recorded, refused (and why), and what comes next."""

    round_id: str
    detail: str = ""
    refused: list[str] = Field(default_factory=list, description="거부됨 / refused, with why")
    waiting_for: str | None = None


class NewRoundOutcome(InputOutcome):
    """create_round: the file written, its tracks and quotas, the forms that offer it now."""

    path: str
    tracks: list[str]
    quota: dict[str, int]
    forms_updated: list[str] = Field(default_factory=list)


class WhatIfOutcome(BaseModel):
    """what_if: the changes tried, how many applications move, selected per track (by name)
    before and after."""

    round_id: str
    detail: str
    moved: int
    selected: dict[str, tuple[int, int]]


class SupplementsOutcome(InputOutcome):
    """accept_supplements: per item accepted or unchanged; what each application still lacks."""

    accepted: list[str]
    unchanged: list[str]
    still_missing: dict[str, list[str]]


class ScoresOutcome(InputOutcome):
    """upload_scores: the sheet read, rows by outcome, and the review it may start (served)."""

    source: str
    added: int
    corrected: int
    unchanged: int
    screening_final: bool
    review_run: str | None = None


class SupportOutcome(InputOutcome):
    """An after-selection input (INTERFACES §5): rows by kind recorded and unchanged, the
    certificates issued per round, files not read, failed evaluations' pending cancellations
    (M3) and their review runs (served: receipt → run id)."""

    recorded: dict[str, int]
    unchanged: dict[str, int]
    issued: dict[str, int]
    not_read: list[str]
    pending_cancellations: list[str]
    reviews: dict[str, str]


class CancellationReviewOutcome(InputOutcome):
    """review_cancellation: the office's decision (M3/K5), none when nothing was pending."""

    state: str | None = None  # confirmed or dismissed
    banned: int = 0


class InvitationOutcome(InputOutcome):
    """invite_to_event: the event, companies invited now and before (M4)."""

    event_id: int
    invited: int
    already: int


class StepOutcome(BaseModel):
    """What one step did, and what (if anything) the round now waits for.

    Each step's own results are typed fields of its subclass below (issue 21: nothing is read
    back from a dict by key).
    """

    step: Step
    round_id: str = Field(description="회차 / the round")
    detail: str = ""
    waiting_for: str | None = None
    notices: dict[str, int] = Field(default_factory=dict, description="sent, retry_later, failed")
    notices_waiting: str | None = Field(default=None, description="why notices wait, if they do")
    delivery_run: str | None = Field(default=None, description=(
        "발송 실행 (서버) / the deliver_notices run that sends what the step owes (served)"))
    round_state: RoundState = Field(description="회차 상태 / the round's state after it")

    def excluded_sheets(self) -> tuple[list[tuple[str, str, str]], int]:
        """V5: the score sheets the review left out (a sample, and how many in all)."""
        return [], 0

    def what_it_did(self) -> str:
        """The step's line in the run's log, in Korean, with its counts (issue 23 item 2)."""
        return ""

    def changed(self) -> bool:
        """The step changed something (a step run again over a finished one does not)."""
        return True

    def story(self) -> str:
        """`what_it_did`, the notices it sent and the round's state: one line for the office."""
        sent = self.notices.get("sent", 0)
        mail = (f" · 메일 {sent:,}건 발송" if sent else
                " · 메일은 발송 실행이 보냅니다" if self.delivery_run else "")
        return (f"{self.round_id} {self.what_it_did()}{mail} → 회차 상태: "
                f"{named(ROUND_STATES, self.round_state)}")


class OpenCallOutcome(StepOutcome):
    """open_call: the deadline runs it scheduled (served: `{what: flow run id}`, T2/S1)."""

    deadline_runs: dict[str, str] = Field(default_factory=dict)

    def what_it_did(self) -> str:
        return "공고를 게시했습니다" if self.detail == "opened" else "공고는 이미 게시되어 있습니다"

    def changed(self) -> bool:
        return self.detail == "opened"


class IntakeOutcome(StepOutcome):
    """intake: rows added and corrected by table, and how many were rejected."""

    added: dict[str, int]
    corrected: dict[str, int]
    rejected: int
    source: str = ""  # the package read, as tasks/steps.py `shown_path` gives it

    def source_ko(self) -> str:
        """The package read, as the office knows it: an upload by its name on the upload page
        (`2022-2/20261207-…-package`), the repository's sample, else the file's name — never
        the server's path."""
        path = PurePosixPath(self.source.replace("\\", "/"))
        if path.parts[:1] == ("inbox",) and len(path.parts) >= 3:
            return f"올린 자료 {'/'.join(path.parts[1:3])}"
        if path.parts[:2] == ("data", "rounds"):
            return "저장소의 예시 자료"
        return path.name or "접수 자료"

    def what_it_did(self) -> str:
        fixed = counts_ko(PACKAGE_TABLES, self.corrected)
        return (f"접수 자료({self.source_ko()})를 읽었습니다: "
                f"{counts_ko(PACKAGE_TABLES, self.added)} 추가"
                + (f", {fixed} 수정" if any(self.corrected.values()) else "")
                + (f", 거부된 행 {self.rejected:,}건" if self.rejected else ""))

    def changed(self) -> bool:
        return any(self.added.values()) or any(self.corrected.values()) or self.rejected > 0


class ScreeningOutcome(StepOutcome):
    """screening: applications moved by state, and how many wait for supplements (S1)."""

    moved: dict[str, int]
    waiting: int

    def what_it_did(self) -> str:
        return (f"서류 검토를 마쳤습니다: {counts_ko(APPLICATION_STATES, self.moved)}"
                + (f" (보완 서류를 기다리는 신청 {self.waiting:,}건)" if self.waiting else ""))

    def changed(self) -> bool:
        return any(self.moved.values())


class ReviewOutcome(StepOutcome):
    """committee_review: the proposal by placement and the sheets left out (V5)."""

    proposed: dict[str, int]
    excluded: list[tuple[str, str, str]]  # receipt, reviewer, why (a sample)
    excluded_count: int

    def excluded_sheets(self) -> tuple[list[tuple[str, str, str]], int]:
        return self.excluded, self.excluded_count

    def what_it_did(self) -> str:
        return (f"위원회 평가 결과를 모았습니다: {counts_ko(APPLICATION_STATES, self.proposed)}"
                + (f" (평가에서 뺀 평가표 {self.excluded_count:,}장)" if self.excluded_count
                   else ""))


class ReleaseOutcome(StepOutcome):
    """selection_notice: the decisions released by placement."""

    released: dict[str, int]

    def what_it_did(self) -> str:
        return f"선정 결과를 확정해 알렸습니다: {counts_ko(APPLICATION_STATES, self.released)}"

    def changed(self) -> bool:
        return any(self.released.values())


class IssuanceOutcome(StepOutcome):
    """certificate_issuance: certificates issued, their numbers, confirmations giving none."""

    issued: int
    ranges: dict[str, str]
    skipped: dict[str, int]
    skipped_file: str | None

    def what_it_did(self) -> str:
        waiting = sum(self.skipped.values())
        return (f"확인서 {self.issued:,}건 발급" + (f" (발급하지 않은 생산 확인 {waiting:,}건)"
                                                    if waiting else ""))

    def changed(self) -> bool:
        return self.issued > 0


class ListingSupportOutcome(StepOutcome):
    """mall_listing_support: products by the listing step they are at (M1)."""

    steps: dict[str, int]

    def what_it_did(self) -> str:
        return f"종합쇼핑몰 등록 지원을 시작했습니다: 제품 {sum(self.steps.values()):,}개"


class RoundReport(BaseModel):
    """The result of a `round` run: the steps done, and where it stopped and why."""

    round_id: str
    state: RoundState
    steps: list[StepOutcome] = Field(default_factory=list)
    stopped_at: Step | None = None
    waiting_for: str | None = None
    delivery_run: str | None = Field(default=None, description=(
        "발송 실행 (서버) / the deliver_notices run that sends what the round owes (served)"))


class CancelOutcome(BaseModel):
    """What a cancel_round run did: the round's cancellation and the runs it stopped."""

    round_id: str
    cancelled_at: datetime = Field(description="취소 시각 / when the round was cancelled")
    reason: str = Field(description="취소 사유 / why (audited)")
    actor: str = Field(description="취소한 사람 / who cancelled it")
    already: bool = Field(default=False, description="이미 취소됨 / cancelled by an earlier run")
    runs_cancelled: list[str] = Field(
        default_factory=list, description="취소한 대기 실행 / waiting runs cancelled")
    runs_refused: list[str] = Field(
        default_factory=list, description="취소되지 않은 실행과 이유 / runs not cancelled, why")


class DeliveryOutcome(BaseModel):
    """What a delivery run did (the outbox keeps whatever could not go)."""

    round_id: str
    sent: int = 0
    retry_later: int = 0
    failed: int = 0
    released: int = 0
    stopped: str | None = Field(default=None, description="why the batch stopped, if it did")
    sent_by_kind: dict[str, int] = Field(default_factory=dict)

    def story(self) -> str:
        """The delivery in the run's log, in Korean: how many went, and what waits."""
        line = f"{self.round_id} 안내 메일 {self.sent:,}건 발송" + "".join(
            f", {what} {n:,}건" for what, n in (("다시 보낼 메일", self.retry_later),
                                                ("보내지 못한 메일", self.failed)) if n)
        if self.sent_by_kind:
            line += f" ({counts_ko(KINDS, self.sent_by_kind)})"
        return line + (" — 발송이 멈췄습니다: 남은 메일은 발송함에서 기다립니다"
                       if self.stopped else "")


class CancellationDecision(RunInput):
    """M3/K5: the office's decision on the cancellation a failed evaluation proposes."""

    confirm: bool = Field(description=(
        "취소 확정 (K5: 확인서 취소·참여 제한) / confirm the cancellation (K5)"))
    reason: str = Field(min_length=1, description="사유 (감사 기록) / why (audited)")
    decided_by: str = Field(min_length=1, description="결정한 담당자 / who decides")
