"""The step registry: every deployment declared once (issue 21, ARCHITECTURE: the round as flows).

One `Entry` per deployment `sangsaeng serve` registers (and `prefect.yaml` describes): its
flow's name, Korean title, description, tags, schedule and entrypoint; for the round's eight
steps also their order, the round states they act in and leave, the notices they owe and the
state after which a chained run starts them. Everything else is derived from here: the `Step`
enum (flows/models.py), the CLI's `--until` choices, the round flow's steps and their chaining,
the deployment names and specs (flows/deployments.py), `prefect.yaml` (`make prefect-yaml`)
and the tests' lists. Adding a stage is one entry here, its flow and its service.

Data only: this module imports no flow (and no Prefect), so the CLI reads it without starting
Prefect and every flow module may import it. `make prefect-yaml` writes `prefect.yaml` from it
(flows/prefect_yaml.py).
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from sangsaeng.domain.states import RoundState

_S = RoundState
KST = "Asia/Seoul"  # every schedule is in KST: a plain cron means UTC (FIELD_NOTES)
# Until issue 15 every deployment was named this (serve removes those).
LEGACY_DEPLOYMENT = "sangsaeng"


@dataclass(frozen=True)
class RoundStep:
    """What a step of the round adds to its entry (R2; ARCHITECTURE's notice table)."""

    order: int  # 1 … 8, the round's order
    needs: tuple[RoundState, ...]  # the states it acts in (re-runs included)
    leaves: tuple[RoundState, ...]  # the states it leaves the round in
    notices: tuple[str, ...] = ()  # the notice kinds it owes, by the kind's first part
    starts_after: RoundState | None = None  # a chained run starts it after this state


@dataclass(frozen=True)
class Entry:
    """One deployment: its flow's name, title, description, tags, schedule, entrypoint."""

    name: str  # the flow's name (`@flow(name=...)`)
    title: str  # Korean: the deployment is named `title (name)`
    description: str  # bilingual, shown in the UI's deployment list
    tags: tuple[str, ...]  # the office's groups (after `sangsaeng`)
    entrypoint: str  # `path/to/module.py:function`, as prefect.yaml writes it
    cron: str | None = None  # in KST
    step: RoundStep | None = field(default=None)  # set for the round's steps only

    def load(self) -> Any:
        """Its flow, imported when asked: this module imports no flow (flows import it)."""
        path, _, attr = self.entrypoint.partition(":")
        return getattr(importlib.import_module(path.removesuffix(".py").replace("/", ".")), attr)

    @property
    def deployment(self) -> str:
        """What the office reads in the UI's deployment list: Korean, the flow's name beside
        it (the search box finds either). Stable: `serve` upserts by (flow, name)."""
        return f"{self.title} ({self.name})"


ROUND = Entry(
    "round", "회차 실행", "회차 전체 실행: 공고부터 선정 통보까지, 기다릴 단계에서 멈춤. / "
    "Run a round end to end; stops where it must wait (deadline, chair).", ("회차",),
    "flows/round.py:round_flow")
CREATE_ROUND = Entry(
    "create_round", "회차 만들기", "새 회차 만들기: 번호·제목·접수 기간 (KST)·분야·선정 규모로 "
    "회차 설정을 만듭니다 (검증, 덮어쓰지 않음). / Create a round: write and "
    "validate its configuration file (R1); every round form offers it next.", ("회차", "입력"),
    "flows/new_round.py:create_round")
OPEN_CALL = Entry(
    "open_call", "공고 게시", "공고 게시 (draft → open), 접수 마감·보완 마감 실행 예약. / "
    "Publish the call and schedule the deadline runs (T2, S1).", ("단계",),
    "flows/round.py:open_call",
    step=RoundStep(1, (_S.DRAFT, _S.OPEN), (_S.OPEN,), ("call",)))
INTAKE = Entry(
    "intake", "접수 자료 가져오기", "접수 자료 가져오기 (반복 실행 안전). / Import the round "
    "package (idempotent).", ("단계",), "flows/round.py:intake",
    step=RoundStep(2, (_S.OPEN, _S.CLOSED), (_S.OPEN, _S.CLOSED), ("application",)))
CLOSE_INTAKE = Entry(
    "close_intake", "접수 마감", "접수 마감 (closes_at에 예약 실행). / Close intake at closes_at "
    "(scheduled).", ("단계", "마감"), "flows/round.py:close_intake",
    step=RoundStep(3, (_S.OPEN,), (_S.CLOSED,)))
SCREENING = Entry(
    "screening", "요건 검토", "요건검토, 보완 마감 재검토. / Screening; supplements re-checked at "
    "their deadline (S1).", ("단계", "마감"), "flows/round.py:screening",
    step=RoundStep(4, (_S.CLOSED, _S.SCREENING), (_S.SCREENING,), ("screening",),
                   starts_after=_S.CLOSED))
COMMITTEE_REVIEW = Entry(
    "committee_review", "평가·위원장 승인", "평가 집계·순위, 위원장 승인 대기 (선정안 아티팩트). / "
    "Committee review; waits for the chair's approval.", ("단계", "승인"),
    "flows/round.py:committee_review",
    step=RoundStep(5, (_S.SCREENING, _S.REVIEW), (_S.REVIEW, _S.DECIDED), ("review",),
                   starts_after=_S.SCREENING))
ACCEPT_SUPPLEMENTS = Entry(
    "accept_supplements", "보완서류 접수", "보완서류 접수 기록 (보완 마감 전, 보완요청 과제). / "
    "Record supplement documents received before the deadline (§4.6, S1).", ("입력",),
    "flows/inputs.py:accept_supplements")
UPLOAD_SCORES = Entry(
    "upload_scores", "평가표 올리기", "평가표 올리기 (파일 경로 또는 CSV 붙여넣기). / Upload "
    "committee score sheets: a file path or pasted CSV (V2).", ("입력",),
    "flows/inputs.py:upload_scores")
SELECTION_NOTICE = Entry(
    "selection_notice", "선정 통보", "선정 결과 확정·통보. / Release the decisions and owe the "
    "notices.", ("단계",), "flows/round.py:selection_notice",
    step=RoundStep(6, (_S.DECIDED,), (_S.NOTIFIED,), ("selection",),
                   starts_after=_S.DECIDED))
CERTIFICATE_ISSUANCE = Entry(
    "certificate_issuance", "확인서 발급", "확인서 발급: 생산 확인된 주관기업별 번호·PDF·안내 메일 "
    "(반복 실행 안전). / Issue certificates (K1–K4) with their PDFs and notices.",
    ("단계", "사후관리"), "flows/certificates.py:certificate_issuance",
    step=RoundStep(7, (_S.NOTIFIED, _S.CERTIFYING), (_S.NOTIFIED, _S.CERTIFYING),
                   ("certificate",), starts_after=_S.NOTIFIED))
MALL_LISTING_SUPPORT = Entry(
    "mall_listing_support", "종합쇼핑몰 등록 지원", "종합쇼핑몰 등록 지원 시작 (확인서 발급 후, "
    "회차 → support). / Start each certified product's listing support (M1); the round moves "
    "to support.", ("단계", "사후관리"), "flows/listing.py:mall_listing_support",
    step=RoundStep(8, (_S.CERTIFYING, _S.SUPPORT), (_S.CERTIFYING, _S.SUPPORT),
                   starts_after=_S.CERTIFYING))
CONFIRM_PRODUCTION = Entry(
    "confirm_production", "생산 확인 입력", "생산 확인 입력 후 확인서 발급. / Record production "
    "confirmations (K1) and issue their certificates.", ("입력", "사후관리"),
    "flows/certificates.py:confirm_production")
CHANGE_CERTIFICATE = Entry(
    "change_certificate", "확인서 재발급", "확인서 재발급 (기업명·대표자·주소 변경). / Reissue a "
    "certificate after a change of name, representative or address (K4).", ("입력", "사후관리"),
    "flows/certificates.py:change_certificate")
CANCEL_CERTIFICATES = Entry(
    "cancel_certificates", "확인서 취소", "선정·확인서 취소와 5년 참여제한 (사유·결정일 필수). / "
    "Cancel a project's certificates and ban its leads for five years (K5).",
    ("입력", "사후관리"), "flows/certificates.py:cancel_certificates")
SUBMIT_COST_CLAIM = Entry(
    "submit_cost_claim", "인증비용 지원 신청", "가치창출 인증비용 지원 신청 1건 결정 (과제당 남은 "
    "한도까지). / Decide one certification-cost claim against its project's cap (M2).",
    ("입력", "사후관리"), "flows/claims.py:submit_cost_claim")
RECORD_LISTING_STEP = Entry(
    "record_listing_step", "종합쇼핑몰 등록 단계 입력", "종합쇼핑몰 등록 단계 완료 입력 (목록화: "
    "8자리 물품식별번호). / Record a 나라장터 종합쇼핑몰 listing step of a certified product (M1).",
    ("입력", "사후관리"), "flows/listing.py:record_listing_step")
RECORD_EVALUATION = Entry(
    "record_evaluation", "성과평가 결과 입력", "성과평가 결과 입력 (중간·연장·완료평가); 부적합은 "
    "취소 검토로. / Record a performance evaluation's result (M3); a fail proposes a "
    "cancellation.", ("입력", "사후관리"), "flows/evaluations.py:record_evaluation")
REVIEW_CANCELLATION = Entry(
    "review_cancellation", "성과평가 취소 검토", "성과평가 부적합에 따른 취소 확정 또는 기각 "
    "(K5). / Confirm or dismiss the cancellation a failed evaluation proposes (M3, K5).",
    ("입력", "사후관리", "승인"), "flows/evaluations.py:review_cancellation")
SUPPORT_IMPORT = Entry(
    "support_import", "선정 후 자료 가져오기", "선정 후 자료 가져오기 (생산 확인·변경·취소·"
    "인증비용·종합쇼핑몰 등록·성과평가 파일). / Import the after-selection files: production, "
    "changes, cancellations, cost claims, listing, evaluations.", ("입력", "사후관리"),
    "flows/support_import.py:support_import")
INVITE_TO_EVENT = Entry(
    "invite_to_event", "행사 초대", "행사 초대 (전시·상담회, 나라장터 엑스포, 교육): 확인서 보유 "
    "기업에 한 번씩. / Invite certified companies to an event, once each (M4).",
    ("입력", "사후관리"), "flows/invitations.py:invite_to_event")
SUPPORT_DUES = Entry(
    "support_dues", "매일 사후관리", "매일 09:00 (KST) 사후관리: 확인서 만료 안내 (90·30일 전), "
    "종합쇼핑몰 등록 독촉 (14일)·지연 보고 (60일), 성과평가 기한 안내 (30일 전), 보관 기간이 "
    "지난 개인정보 파기. / The daily dues run: certificate expiry reminders (K6a), listing "
    "reminders and escalations (M1b, M1c), evaluation reminders (M3), personal data past its "
    "period destroyed.", ("사후관리", "예약"),
    "flows/dues.py:support_dues",
    cron="0 9 * * *")  # K6a/§8: the daily dues run, 09:00 KST every day
WHAT_IF = Entry(
    "what_if", "선정 시뮬레이션", "선정 시뮬레이션: 확정된 회차의 평가·선정을 바꾼 설정(기준 점수, "
    "항목 최저 비율, 절사, 최소 평가 수, 분야별 선정 규모)으로 다시 계산합니다. 회차는 바뀌지 "
    "않습니다. / What-if: a decided round's review and selection with changed settings; nothing "
    "of the round changes.", ("회차",), "flows/whatif.py:what_if")
CANCEL_ROUND = Entry(
    "cancel_round", "회차 취소", "회차 취소 (선정 통보 전, 사유 필수): 대기 중인 실행도 취소. / "
    "Cancel a round before its release (reason required) and its waiting runs.", ("회차",),
    "flows/round.py:cancel_round")
DELIVER_NOTICES = Entry(
    "deliver_notices", "안내 메일 발송", "한 회차의 안내 메일 발송. / Send one round's due "
    "notices.", ("발송",), "flows/notices.py:deliver_notices")
DELIVER_DUE_NOTICES = Entry(
    "deliver_due_notices", "전체 안내 메일 발송", "모든 회차의 안내 메일 발송 (10분마다, KST). / "
    "Send every round's due notices (every 10 minutes, KST).", ("발송", "예약"),
    "flows/recurring.py:deliver_due_notices",
    cron="*/10 * * * *")  # every 10 minutes, in KST
OFFICE_DIGEST = Entry(
    "office_digest", "현황 갱신", "진행 중 회차 현황 갱신 (평일 09:00 KST). / Refresh the status "
    "of every round in progress (weekdays 09:00 KST).", ("회차", "예약"),
    "flows/recurring.py:office_digest",
    cron="0 9 * * 1-5")  # 09:00 KST on weekdays (= 00:00 UTC)

# Every deployment, in the order `serve` registers them and prefect.yaml lists them.
ENTRIES: tuple[Entry, ...] = (
    ROUND, CREATE_ROUND, OPEN_CALL, INTAKE, CLOSE_INTAKE, SCREENING, COMMITTEE_REVIEW,
    ACCEPT_SUPPLEMENTS, UPLOAD_SCORES, SELECTION_NOTICE, CERTIFICATE_ISSUANCE,
    MALL_LISTING_SUPPORT, CONFIRM_PRODUCTION, CHANGE_CERTIFICATE, CANCEL_CERTIFICATES,
    SUBMIT_COST_CLAIM, RECORD_LISTING_STEP, RECORD_EVALUATION, REVIEW_CANCELLATION,
    SUPPORT_IMPORT, INVITE_TO_EVENT, SUPPORT_DUES, WHAT_IF, CANCEL_ROUND, DELIVER_NOTICES,
    DELIVER_DUE_NOTICES, OFFICE_DIGEST)
BY_NAME: Mapping[str, Entry] = MappingProxyType({e.name: e for e in ENTRIES})


def _round_steps() -> tuple[Entry, ...]:
    steps = sorted((e for e in ENTRIES if e.step is not None),
                   key=lambda e: e.step.order if e.step else 0)
    assert [e.step.order for e in steps if e.step] == list(range(1, len(steps) + 1))
    return tuple(steps)


# The round's steps in order (the `Step` enum, the CLI's `--until`, the round flow's loop).
ROUND_STEPS: tuple[Entry, ...] = _round_steps()
STEP_NAMES: tuple[str, ...] = tuple(e.name for e in ROUND_STEPS)
# The deployment names by flow (`flow/deployment` is what run_deployment takes).
DEPLOYMENT_NAMES: Mapping[str, str] = MappingProxyType({e.name: e.deployment for e in ENTRIES})
# After a step, the round's state says which step a chained run starts next.
NEXT_STEP: Mapping[RoundState, str] = MappingProxyType({
    e.step.starts_after: e.name for e in ROUND_STEPS if e.step and e.step.starts_after})
# ARCHITECTURE's table: the step that owes each kind of notice (by the kind's first part).
NOTICE_STEPS: Mapping[str, str] = MappingProxyType({
    kind: e.name for e in ROUND_STEPS if e.step for kind in e.step.notices})


def step_order(name: str) -> int:
    """A round step's place in the round (0 for a deployment that is no step of it)."""
    entry = BY_NAME.get(name)
    return entry.step.order if entry is not None and entry.step is not None else 0

