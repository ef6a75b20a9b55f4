"""The deployments `sangsaeng serve` registers (and `prefect.yaml` describes for a work pool).

Every step of the round is its own deployment, so the office can run or re-run any step from
the Prefect UI. Names are Korean with the flow's name beside them (`회차 실행 (round)`) and
stable: Prefect upserts a deployment by flow and name, so starting `serve` again updates them
instead of adding copies. Tags group them as the office filters: 회차 (whole rounds), 단계 (the
round's steps), 입력 (the office's inputs), 발송 (notices), 사후관리 (after the selection), and
마감 / 승인 / 예약 (runs at a deadline, waiting for a person, on a schedule).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from prefect import Flow, serve
from prefect.deployments.runner import RunnerDeployment
from prefect.schedules import Cron

from flows.certificates import (
    cancel_certificates,
    certificate_issuance,
    change_certificate,
    confirm_production,
)
from flows.claims import submit_cost_claim
from flows.dues import support_dues
from flows.evaluations import record_evaluation, review_cancellation
from flows.inputs import accept_supplements, upload_scores
from flows.invitations import invite_to_event
from flows.listing import mall_listing_support, record_listing_step
from flows.new_round import create_round
from flows.notices import deliver_notices
from flows.recurring import deliver_due_notices, office_digest
from flows.round import (
    cancel_round,
    close_intake,
    committee_review,
    intake,
    open_call,
    round_flow,
    screening,
    selection_notice,
)
from flows.round_choice import current_choices, with_choices
from flows.round_runs import DEPLOYMENT_NAMES, LEGACY_DEPLOYMENT, remove_legacy_deployments
from flows.support_import import support_import

KST = "Asia/Seoul"
# Every 10 minutes, in KST (a plain `cron=` would be UTC: FIELD_NOTES).
DELIVERY_CRON = "*/10 * * * *"
DIGEST_CRON = "0 9 * * 1-5"  # 09:00 KST on weekdays (= 00:00 UTC)
DUES_CRON = "0 9 * * *"  # K6a/§8: the daily dues run, 09:00 KST every day


@dataclass(frozen=True)
class Spec:
    """One deployment: the flow, its bilingual description, tags and schedules."""

    flow: Flow[Any, Any]
    description: str
    tags: tuple[str, ...]
    schedules: tuple[Any, ...] = field(default=())


def specs() -> list[Spec]:
    """The round flow, every step flow and the recurring flows."""
    return [
        Spec(round_flow, "회차 전체 실행: 공고부터 선정 통보까지, 기다릴 단계에서 멈춤. / "
             "Run a round end to end; stops where it must wait (deadline, chair).",
             ("회차",)),
        Spec(create_round, "새 회차 만들기: 번호·제목·접수 기간 (KST)·분야·선정 규모로 "
             "config/rounds/회차번호.toml 작성 (검증, 덮어쓰지 않음). / Create a round: write and "
             "validate its configuration file (R1); every round form offers it next.",
             ("회차", "입력")),
        Spec(open_call, "공고 게시 (draft → open), 접수 마감·보완 마감 실행 예약. / "
             "Publish the call and schedule the deadline runs (T2, S1).", ("단계",)),
        Spec(intake, "접수 자료 가져오기 (반복 실행 안전). / Import the round package "
             "(idempotent).", ("단계",)),
        Spec(close_intake, "접수 마감 (closes_at에 예약 실행). / Close intake at closes_at "
             "(scheduled).", ("단계", "마감")),
        Spec(screening, "요건검토, 보완 마감 재검토. / Screening; supplements re-checked at "
             "their deadline (S1).", ("단계", "마감")),
        Spec(committee_review, "평가 집계·순위, 위원장 승인 대기 (선정안 아티팩트). / "
             "Committee review; waits for the chair's approval.", ("단계", "승인")),
        Spec(accept_supplements, "보완서류 접수 기록 (보완 마감 전, 보완요청 과제). / Record "
             "supplement documents received before the deadline (§4.6, S1).", ("입력",)),
        Spec(upload_scores, "평가표 올리기 (파일 경로 또는 CSV 붙여넣기). / Upload committee "
             "score sheets: a file path or pasted CSV (V2).", ("입력",)),
        Spec(selection_notice, "선정 결과 확정·통보. / Release the decisions and owe the "
             "notices.", ("단계",)),
        Spec(certificate_issuance, "확인서 발급: 생산 확인된 주관기업별 번호·PDF·안내 메일 (반복 "
             "실행 안전). / Issue certificates (K1–K4) with their PDFs and notices.",
             ("단계", "사후관리")),
        Spec(mall_listing_support, "종합쇼핑몰 등록 지원 시작 (확인서 발급 후, 회차 → support). / "
             "Start each certified product's listing support (M1); the round moves to "
             "support.", ("단계", "사후관리")),
        Spec(confirm_production, "생산 확인 입력 후 확인서 발급. / Record production "
             "confirmations (K1) and issue their certificates.", ("입력", "사후관리")),
        Spec(change_certificate, "확인서 재발급 (기업명·대표자·주소 변경). / Reissue a "
             "certificate after a change of name, representative or address (K4).",
             ("입력", "사후관리")),
        Spec(cancel_certificates, "선정·확인서 취소와 5년 참여제한 (사유·결정일 필수). / Cancel a "
             "project's certificates and ban its leads for five years (K5).",
             ("입력", "사후관리")),
        Spec(submit_cost_claim, "가치창출 인증비용 지원 신청 1건 결정 (과제당 남은 한도까지). / "
             "Decide one certification-cost claim against its project's cap (M2).",
             ("입력", "사후관리")),
        Spec(record_listing_step, "종합쇼핑몰 등록 단계 완료 입력 (목록화: 8자리 물품식별번호). / "
             "Record a 나라장터 종합쇼핑몰 listing step of a certified product (M1).",
             ("입력", "사후관리")),
        Spec(record_evaluation, "성과평가 결과 입력 (중간·연장·완료평가); 부적합은 취소 검토로. / "
             "Record a performance evaluation's result (M3); a fail proposes a cancellation.",
             ("입력", "사후관리")),
        Spec(review_cancellation, "성과평가 부적합에 따른 취소 확정 또는 기각 (K5). / Confirm "
             "or dismiss the cancellation a failed evaluation proposes (M3, K5).",
             ("입력", "사후관리", "승인")),
        Spec(support_import, "선정 후 자료 가져오기 (생산 확인·변경·취소·인증비용·종합쇼핑몰 등록·"
             "성과평가 파일). / Import the after-selection files: production, changes, "
             "cancellations, cost claims, listing, evaluations.", ("입력", "사후관리")),
        Spec(invite_to_event, "행사 초대 (전시·상담회, 나라장터 엑스포, 교육): 확인서 보유 기업에 "
             "한 번씩. / Invite certified companies to an event, once each (M4).",
             ("입력", "사후관리")),
        Spec(support_dues, "매일 09:00 (KST) 사후관리: 확인서 만료 안내 (90·30일 전), 종합쇼핑몰 "
             "등록 독촉 (14일)·지연 보고 (60일), 성과평가 기한 안내 (30일 전). / The daily dues "
             "run: certificate expiry reminders (K6a), listing reminders and escalations (M1b, "
             "M1c), evaluation reminders (M3).", ("사후관리", "예약"),
             (Cron(DUES_CRON, timezone=KST),)),
        Spec(cancel_round, "회차 취소 (선정 통보 전, 사유 필수): 대기 중인 실행도 취소. / "
             "Cancel a round before its release (reason required) and its waiting runs.",
             ("회차",)),
        Spec(deliver_notices, "한 회차의 안내 메일 발송. / Send one round's due notices.",
             ("발송",)),
        Spec(deliver_due_notices, "모든 회차의 안내 메일 발송 (10분마다, KST). / Send every "
             "round's due notices (every 10 minutes, KST).", ("발송", "예약"),
             (Cron(DELIVERY_CRON, timezone=KST),)),
        Spec(office_digest, "진행 중 회차 현황 갱신 (평일 09:00 KST). / Refresh the status of "
             "every round in progress (weekdays 09:00 KST).", ("회차", "예약"),
             (Cron(DIGEST_CRON, timezone=KST),)),
    ]


def deployments() -> list[RunnerDeployment]:
    """The deployments as `serve` takes them (stable names: DEPLOYMENT_NAMES)."""
    out: list[RunnerDeployment] = []
    choices = current_choices()  # the rounds and tracks the forms offer (flows/round_choice.py)
    for spec in specs():
        deployment = spec.flow.to_deployment(
            name=DEPLOYMENT_NAMES[spec.flow.name], description=spec.description,
            tags=["sangsaeng", *spec.tags],
            schedules=list(spec.schedules) or None)
        assert isinstance(deployment, RunnerDeployment)  # sync call: not a coroutine
        out.append(with_choices(deployment, choices))
    return out


def serve_deployments(limit: int | None = None, poll_seconds: float = 5) -> None:
    """Register the deployments and run their flow runs until interrupted (Ctrl-C); first
    remove those still named as before issue 15 (the list would show every flow twice)."""
    removed = asyncio.run(remove_legacy_deployments())
    if removed:
        print(f"removed {len(removed)} deployments under their old name "  # noqa: T201
              f"'{LEGACY_DEPLOYMENT}': {', '.join(removed)}", flush=True)
    serve(*deployments(), limit=limit, query_seconds=poll_seconds)
