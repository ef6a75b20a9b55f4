"""Every reason code a notice can carry reads as plain Korean (PROGRAM_RULES §4, V7)."""

from __future__ import annotations

import pytest

from sangsaeng.domain.scoring import BELOW_CUTOFF, BELOW_ITEM_FLOOR
from sangsaeng.domain.screening import Reason
from sangsaeng.mail.wording import reason_ko

# What a company reads for each code, written out here (not read from the wording module).
REASON_WORDING: dict[str, str] = {
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
}


def test_every_reason_code_is_worded_here() -> None:
    assert set(REASON_WORDING) == {*(r.value for r in Reason), BELOW_CUTOFF}


@pytest.mark.parametrize(("code", "korean"), REASON_WORDING.items(), ids=list(REASON_WORDING))
def test_every_reason_code_has_korean_wording(code: str, korean: str) -> None:
    assert reason_ko(code) == korean


def test_item_floor_names_the_criterion_in_korean() -> None:  # V7
    assert reason_ko(f"{BELOW_ITEM_FLOOR}:growth", {"growth": "성장성"}) == (
        "평가항목 '성장성'의 점수가 최저 기준(배점의 일정 비율)에 미달하였습니다")
