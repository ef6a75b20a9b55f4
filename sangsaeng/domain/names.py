"""Korean names of the codes a person reads — one table, used everywhere (issue 23 item 4).

Notices, the Prefect UI's artifacts and forms, the pages, the statistics and the XLSX/Markdown
exports show these names; machine CSVs keep the codes (INTERFACES). An unknown code is shown as
it is, never dropped.
"""

from __future__ import annotations

from collections.abc import Mapping

from sangsaeng.domain.certificates import CertificateStatus
from sangsaeng.domain.companies import Role
from sangsaeng.domain.outbox import OutboxState
from sangsaeng.domain.states import ApplicationState, RoundState

# PROGRAM_RULES §4 (screening), V7 (review) and M2 (cost support) reason codes, as a company
# should read them.
REASONS: dict[str, str] = {
    "LATE": "접수 마감 시각 이후에 신청하셨습니다",
    "LEAD_NOT_SME": "주관기업이 중소기업이 아닙니다(중견·대기업)",
    "INNOVATION_LEAD_NOT_STARTUP_OR_SMALL":
        "혁신성장 유형의 주관기업이 창업기업 또는 소기업·소상공인이 아닙니다",
    "INNOVATION_PARTNER_NO_DIRECT_PRODUCTION":
        "혁신성장 유형의 협력기업 중 직접생산확인을 받은 기업이 없습니다",
    "SANCTIONED": "참여기업 중 참여제한 기간 중인 기업이 있습니다",
    "MISSING_DOCUMENTS": "보완 기한까지 필수 제출서류가 제출되지 않았습니다",
    "DUPLICATE_PRODUCT":
        "동일 주관기업의 동일 제품으로 먼저 접수된 신청 또는 유효한 확인서가 있습니다",
    "BELOW_CUTOFF": "평가 점수가 선정 기준 점수에 미달하였습니다",
    # M2 (certification-cost support)
    "CAP_EXCEEDED": "과제별 지원 한도를 넘는 금액은 지원되지 않습니다",
    "NOT_ELIGIBLE_TRACK": "가치창출 유형으로 선정된 과제만 인증비용을 지원받을 수 있습니다",
}
ITEM_FLOOR = "평가항목 '{name}'의 점수가 최저 기준(배점의 일정 비율)에 미달하였습니다"
DOCUMENTS: dict[str, str] = {
    "application_form": "참여 신청서",
    "business_plan": "사업계획서",
    "agreement": "상생협력 협약서",
    "sme_certificate": "중소기업 확인서",
}
ROLES: dict[str, str] = {Role.LEAD: "주관기업", Role.PARTNER: "협력기업"}
_S = ApplicationState
OUTCOMES: dict[str, str] = {
    _S.SELECTED: "선정", _S.RESERVE: "예비 선정", _S.NOT_SELECTED: "미선정",
    _S.INELIGIBLE: "부적격",
}
APPLICATION_STATES: dict[str, str] = {
    _S.RECEIVED: "접수", _S.SUPPLEMENT_REQUESTED: "보완 요청", _S.ELIGIBLE: "적격",
    _S.INELIGIBLE: "부적격", _S.SELECTED: "선정", _S.RESERVE: "예비 선정",
    _S.NOT_SELECTED: "미선정", _S.CANCELLED: "선정 취소",
}
KINDS: dict[str, str] = {
    "call.announcement": "모집 공고", "application.received": "접수 완료",
    "application.rejected_late": "마감 후 접수 불가",
    "screening.supplement_requested": "서류 보완 요청", "screening.ineligible": "부적격 통보",
    "review.assignment": "평가 배정", "review.reminder": "평가 독촉",
    "selection.selected": "선정 안내", "selection.reserve": "예비 선정 안내",
    "selection.not_selected": "미선정 안내", "certificate.issued": "확인서 발급",
    "certificate.expiring": "확인서 만료 예정", "certificate.reissued": "확인서 재발급",
    "certificate.cancelled": "확인서 취소·참여제한", "listing.reminder": "종합쇼핑몰 등록 독촉",
    "support.invitation": "행사 초대", "support.claim_decided": "인증비용 지원 결정",
    "evaluation.due": "성과평가 기한 안내",
    "office.digest": "사무국 현황",
}
FIELDS: dict[str, str] = {"name": "기업명", "representative": "대표자", "address": "주소"}
OUTBOX_STATES: dict[str, str] = {
    OutboxState.PENDING: "발송 대기", OutboxState.SENDING: "발송 중", OutboxState.SENT: "발송 완료",
    OutboxState.FAILED: "발송 실패",
}
ROUND_STATES: dict[str, str] = {
    RoundState.DRAFT: "공고 전", RoundState.OPEN: "접수 중", RoundState.CLOSED: "접수 마감",
    RoundState.SCREENING: "서류 검토", RoundState.REVIEW: "위원회 평가",
    RoundState.DECIDED: "선정 확정(통보 전)", RoundState.NOTIFIED: "결과 통보",
    RoundState.CERTIFYING: "확인서 발급", RoundState.SUPPORT: "사후 지원",
    RoundState.ARCHIVED: "종료", RoundState.CANCELLED: "공고 취소",
}
CERTIFICATE_STATUSES: dict[str, str] = {
    CertificateStatus.VALID: "유효", CertificateStatus.EXPIRED: "만료",
    CertificateStatus.CANCELLED: "취소",
}


# The round package's tables (INTERFACES §2), as the run's log counts them.
PACKAGE_TABLES: dict[str, str] = {
    "applications": "신청", "participants": "참여기업", "documents": "제출 서류",
    "reviewers": "평가위원", "affiliations": "평가위원 소속", "scores": "평가표",
    "certificates": "기존 확인서", "sanctions": "참여제한", "production": "생산 확인",
    "companies": "기업",
}


def counts_ko(table: Mapping[str, str], counts: Mapping[str, int]) -> str:
    """`{"selected": 12, "not_selected": 15}` as a person reads it: `선정 12건 · 미선정 15건`
    (zero counts left out; `없음` when nothing)."""
    return " · ".join(f"{named(table, k)} {n:,}건" for k, n in counts.items() if n) or "없음"


def reason_ko(code: str, criterion_names: Mapping[str, str] | None = None) -> str:
    """A reason code in plain Korean (unknown codes are shown as they are, never dropped)."""
    if code.startswith("BELOW_ITEM_FLOOR:"):
        key = code.split(":", 1)[1]
        return ITEM_FLOOR.format(name=(criterion_names or {}).get(key, key))
    return REASONS.get(code, code)


def named(table: Mapping[str, str], code: str) -> str:
    """`code`'s Korean name in `table`, or the code itself."""
    return table.get(code, code)
