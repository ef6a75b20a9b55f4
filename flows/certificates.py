"""After the selection: the `certificate_issuance` step (K1–K4), the office's inputs for it as
typed forms (production confirmed, a change of particulars, a cancellation, a cost-support
claim — M2, a listing step — M1, an evaluation's result — M3), the bulk `support_import`, and
the daily dues run at 09:00 KST (K6a, M1b, M1c, M3).

Every input records its good rows, lists refused ones (the run fails with them) and delivers
the notices it owes, like the round's steps.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated

from prefect import flow, get_run_logger
from pydantic import Field

from flows import registry, round_runs
from flows.models import (
    Actor,
    Chain,
    IssuanceOutcome,
    ListingSupportOutcome,
    Now,
    ProductionItem,
    RoundId,
    SupportOutcome,
    described,
)
from flows.owed import begin, deliver, finish, publish, run_mode
from sangsaeng.domain.certificates import Ground, ReissueField
from sangsaeng.domain.evaluations import EvaluationKind, EvaluationResult
from sangsaeng.domain.listing import MallStep
from sangsaeng.domain.states import RoundState
from sangsaeng.errors import InputRefused
from sangsaeng.io.support import (
    CancellationInput,
    ChangeInput,
    ClaimInput,
    EvaluationInput,
    ListingInput,
    ProductionInput,
)
from tasks import certificates
from tasks.results import SupportApplied


def _now(now: datetime | None) -> datetime:
    return now if now is not None else datetime.now(UTC)


@flow(name="certificate_issuance", persist_result=False)
@described
async def certificate_issuance(round_id: RoundId, now: Now = None, actor: Actor = "prefect",
                               chain: Chain = False) -> IssuanceOutcome:
    """K1–K4: issue a certificate (확인서) to every lead whose production is confirmed.

    Numbered per (issue year, track) after the highest known number (K2a), valid for the
    round's support years from the issue date (K3), printed as a PDF under
    var/certificates/<round>/ and sent to the lead with `certificate.issued`. Safe to re-run.
    """
    run = await begin(registry.CERTIFICATE_ISSUANCE, round_id, chain)
    done = certificates.issue_certificates(round_id, _now(now), actor)
    if done.issued:
        detail = f"{done.issued} certificate(s) issued: {', '.join(done.ranges.values())}"
    elif done.state is RoundState.NOTIFIED:  # nothing issued yet in this round
        detail = ("nothing to issue: no lead's production is confirmed yet (K1: "
                  "confirm_production or `support import production.csv`)")
    else:
        detail = "nothing new to issue: every confirmed lead holds its certificate"
    if done.skipped:
        counted = ", ".join(f"{why} {n}" for why, n in done.skipped.items())
        detail += f"; confirmations giving none: {counted} (listed in {done.skipped_file})"
        get_run_logger().warning("production confirmed without a certificate: %s, listed "
                                 "in %s", counted, done.skipped_file)
    # chained (served): listing support follows once the round is certifying
    return await finish(run, IssuanceOutcome(
        step=run.entry.name, round_id=round_id, detail=detail, round_state=done.state,
        issued=done.issued, ranges=done.ranges, skipped=done.skipped,
        skipped_file=done.skipped_file))


@flow(name="mall_listing_support", persist_result=False)
@described
async def mall_listing_support(round_id: RoundId, now: Now = None, actor: Actor = "prefect",
                               chain: Chain = False) -> ListingSupportOutcome:
    """R2/M1: the round's last step. Once its certificates are issued the round moves to
    `support` and each certified product's 나라장터 종합쇼핑몰 listing checklist starts; the
    daily dues run (09:00 KST) then reminds and escalates (M1b, M1c). Safe to re-run.

    `chain` is accepted like every step's; nothing follows it (the dues run is scheduled).
    """
    run = await begin(registry.MALL_LISTING_SUPPORT, round_id, chain)
    state, steps = certificates.begin_listing_support(round_id, _now(now), actor)
    detail = (", ".join(f"{step} {n}" for step, n in steps.items()) if steps
              else "no valid certificate yet: listing support waits for certificate_issuance")
    return await finish(run, ListingSupportOutcome(
        step=run.entry.name, round_id=round_id, detail=detail, round_state=state, steps=steps))


async def _applied(done: SupportApplied, chain: bool, now: datetime, actor: str
                   ) -> SupportOutcome:
    """Issue for the rounds whose production was confirmed (chain), deliver, report."""
    issued: dict[str, int] = {}
    if chain:
        for round_id in done.rounds_to_issue:
            issued[round_id] = certificates.issue_certificates(round_id, now, actor).issued
    rounds = sorted({*done.rounds_to_issue})
    reviews = await _propose(done.pending_cancellations)
    await deliver(None)  # notices of any round: changes and cancellations name no round
    for round_id in rounds:
        publish(round_id)
    if done.refused:
        logger = get_run_logger()
        for line in done.refused:
            logger.error("refused: %s", line)
        more = f" (all {done.refused_count} in {done.rejected_file})" if done.rejected_file \
            else ""
        raise InputRefused(f"row(s){more}", list(done.refused), sum(done.recorded.values()))
    detail = ", ".join(f"{kind} {n} recorded" for kind, n in done.recorded.items()) \
        or "nothing new"
    return SupportOutcome(
        round_id=",".join(rounds) or "-", detail=detail, recorded=done.recorded,
        unchanged=done.unchanged, issued=issued, not_read=list(done.not_read),
        pending_cancellations=list(done.pending_cancellations), reviews=reviews)


async def _propose(receipts: tuple[str, ...]) -> dict[str, str]:
    """M3: a failed evaluation's cancellation waits for the office — served, in a
    `review_cancellation` run started here (receipt → run id); in-process, it is reported."""
    if not run_mode().served:
        for receipt_no in receipts:
            get_run_logger().warning("pending cancellation for %s: confirm in the UI "
                                     "(review_cancellation)", receipt_no)
        return {}
    return {receipt_no: await round_runs.start_review(receipt_no) for receipt_no in receipts}


@flow(name="confirm_production", persist_result=False)
@described
async def confirm_production(
    items: Annotated[list[ProductionItem], Field(description=(
        "생산 확인된 주관기업 (접수번호·사업자등록번호·확인 일시) / leads whose production "
        "is confirmed"))],
    actor: Annotated[str, Field(description="입력하는 담당자 (감사 기록) / who records them")],
    chain: Annotated[bool, Field(description=(
        "저장 후 확인서 발급 (certificate_issuance) / issue the certificates once "
        "recorded"))] = True,
    now: Now = None,
) -> SupportOutcome:
    """K1: record production confirmations (생산 확인); with `chain`, issue their certificates.

    Refused: an application that is not selected, a BRN that is not one of its leads.
    """
    clock = _now(now)
    done = certificates.record_support([ProductionInput(
        i.receipt_no.strip(), i.brn.strip(), i.confirmed_at or clock) for i in items],
        [], [], clock, actor)
    return await _applied(done, chain, clock, actor)


@flow(name="change_certificate", persist_result=False)
@described
async def change_certificate(
    number: Annotated[str, Field(min_length=1, description="확인서 번호 / certificate number")],
    field: Annotated[ReissueField, Field(description=(
        "변경 항목: name 기업명, representative 대표자, address 주소 / what changed"))],
    new_value: Annotated[str, Field(min_length=1, description="변경된 값 / the new value")],
    changed_on: Annotated[date, Field(description="변경일 / when it changed")],
    reason: Annotated[str, Field(description="사유 (감사 기록) / why (audited)")],
    actor: Actor = "prefect",
    now: Now = None,
) -> SupportOutcome:
    """K4: reissue a certificate after a change of name, representative or address — same
    number, version + 1, a new PDF sent to the lead; earlier versions are kept."""
    clock = _now(now)
    done = certificates.record_support([], [ChangeInput(
        number.strip(), field, new_value.strip(), changed_on, reason)], [], clock, actor)
    return await _applied(done, False, clock, actor)


@flow(name="cancel_certificates", persist_result=False)
@described
async def cancel_certificates(
    receipt_no: Annotated[str, Field(min_length=1, description="접수번호 / receipt number")],
    ground: Annotated[Ground, Field(description=(
        "취소 사유: fraud 부정 발급, failed_evaluation 성과평가 부적합, abandonment 포기, "
        "serious_breach 중대한 위반 / the legal ground (K5)"))],
    decided_on: Annotated[date, Field(description="취소 결정일 / the date of the decision")],
    reason: Annotated[str, Field(min_length=1, description="상세 사유 (감사 기록) / why")],
    actor: Actor = "prefect",
    now: Now = None,
) -> SupportOutcome:
    """K5/K5a: cancel a selected project: its certificates become `cancelled` from
    `decided_on`, each lead is banned for five years (later rounds screen it out as
    SANCTIONED), and each lead is told. Cancelling twice changes nothing."""
    clock = _now(now)
    done = certificates.record_support([], [], [CancellationInput(
        receipt_no.strip(), ground, decided_on, reason)], clock, actor)
    return await _applied(done, False, clock, actor)


@flow(name="submit_cost_claim", persist_result=False)
@described
async def submit_cost_claim(
    claim_id: Annotated[str, Field(min_length=1, max_length=40, description=(
        "신청번호 (같은 번호는 한 번만 결정) / the claim's id (decided once)"))],
    receipt_no: Annotated[str, Field(min_length=1, description="접수번호 / receipt number")],
    submitted_on: Annotated[date, Field(description="신청일 / the day the claim was submitted")],
    amount_krw: Annotated[int, Field(gt=0, description=(
        "신청 금액 (원, 정수) / the amount claimed, whole KRW"))],
    item: Annotated[str, Field(min_length=1, description=(
        "지원 항목 (예: KC 인증 시험비) / what the cost is for"))],
    evidence: Annotated[str, Field(description=(
        "증빙 (예: 영수증 번호) / evidence, e.g. the receipt's number"))] = "",
    actor: Actor = "prefect",
    now: Now = None,
) -> SupportOutcome:
    """M2: decide one 가치창출 certification-cost claim against the project's remaining cap
    (`[support] cost_cap_krw`, 15,000,000 KRW) and tell its leads. Refused: an unknown receipt
    number, or a claim id already decided with other content. Decisions are final."""
    clock = _now(now)
    done = certificates.record_support([], [], [], clock, actor, [ClaimInput(
        claim_id.strip(), receipt_no.strip(), submitted_on, amount_krw, item.strip(),
        evidence.strip())])
    return await _applied(done, False, clock, actor)


@flow(name="record_listing_step", persist_result=False)
@described
async def record_listing_step(
    receipt_no: Annotated[str, Field(min_length=1, description="접수번호 / receipt number")],
    brn: Annotated[str, Field(min_length=1, description=(
        "주관기업 사업자등록번호 (XXX-XX-XXXXX) / the lead's BRN"))],
    step: Annotated[MallStep, Field(description=(
        "완료한 단계: bidder_registration 입찰참가자격등록, catalog_number 목록화(물품식별번호), "
        "mas_qualification 다수공급자계약 적격성평가, price_negotiation 가격협상, contract 계약, "
        "listed 종합쇼핑몰 등록 / the M1 step done"))],
    done_on: Annotated[date, Field(description="완료일 / the day it was done")],
    evidence: Annotated[str, Field(description=(
        "증빙 (catalog_number: 8자리 물품식별번호) / evidence (catalog_number: the 8-digit "
        "물품식별번호)"))] = "",
    actor: Actor = "prefect",
    now: Now = None,
) -> SupportOutcome:
    """M1: record a 나라장터 종합쇼핑몰 listing step of a certified product (any order).

    Refused: no certificate of that lead, a certificate not valid, a catalog_number without
    its 8-digit 물품식별번호, the step already recorded with another date (the first stands).
    """
    clock = _now(now)
    done = certificates.record_support([], [], [], clock, actor, listing_=[ListingInput(
        receipt_no.strip(), brn.strip(), step, done_on, evidence.strip())])
    return await _applied(done, False, clock, actor)


@flow(name="record_evaluation", persist_result=False)
@described
async def record_evaluation(
    receipt_no: Annotated[str, Field(min_length=1, description="접수번호 / receipt number")],
    kind: Annotated[EvaluationKind, Field(description=(
        "평가 종류: interim 중간평가, extension 연장평가, completion 완료평가 / the M3 "
        "evaluation"))],
    held_on: Annotated[date, Field(description="평가일 / the day it was held")],
    result: Annotated[EvaluationResult, Field(description="결과: pass 적합, fail 부적합 / result")],
    note: Annotated[str, Field(description="비고 (감사 기록) / note (audited)")] = "",
    actor: Actor = "prefect",
    now: Now = None,
) -> SupportOutcome:
    """M3: record a performance evaluation's result. A `fail` of an interim or completion
    evaluation proposes a K5 cancellation (failed_evaluation) that the office confirms or
    dismisses in `review_cancellation`; nothing is cancelled here.

    Refused: an unknown receipt number, a project not selected or without a certificate, the
    same evaluation already recorded with another result (the first stands).
    """
    clock = _now(now)
    done = certificates.record_support([], [], [], clock, actor, evaluations_=[EvaluationInput(
        receipt_no.strip(), kind, held_on, result, note.strip())])
    return await _applied(done, False, clock, actor)


@flow(name="support_import", persist_result=False)
@described
async def support_import(
    path: Annotated[str, Field(min_length=1, description=(
        "서버의 파일 또는 폴더 (production·changes·cancellations·cost_claims·listing·"
        "evaluations .csv, "
        "또는 .xlsx) / a file or folder on the server"))],
    actor: Actor = "prefect",
    chain: Annotated[bool, Field(description=(
        "생산 확인 후 확인서 발급 / issue certificates for confirmed production"))] = True,
    now: Now = None,
) -> SupportOutcome:
    """INTERFACES §5: import the after-selection files (good rows kept, refused rows listed)."""
    clock = _now(now)
    done = certificates.import_support(path, clock, actor)
    return await _applied(done, chain, clock, actor)


@flow(name="support_dues", persist_result=False)
@described
async def support_dues(now: Now = None) -> dict[str, int]:
    """The daily dues run (09:00 KST): certificate expiry reminders 90 and 30 days ahead (K6a),
    listing reminders after 14 days in a step (M1b) and escalations after 60 (M1c), evaluation
    reminders 30 days before each due date (M3).

    Idempotent for a day: a second run that day owes nothing again. Returns the notices owed
    by kind and the steps escalated (`escalated`).
    """
    done = certificates.run_dues(_now(now))
    await deliver(None)
    return {**done.owed, "escalated": done.escalated}
