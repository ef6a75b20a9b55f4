"""K1: the one rule set of a production confirmation, shared by the round package's
production.csv at intake (before the selection) and the after-selection form and import."""

from __future__ import annotations

import pytest

from sangsaeng.domain.clock import parse_instant
from sangsaeng.domain.states import ApplicationState
from sangsaeng.io.rows import ProductionRow
from sangsaeng.services.production import refusal

ROW = ProductionRow("2030-1-001", "123-45-67890", parse_instant("2030-07-15T10:00:00+09:00"))
LEADS = {"123-45-67890"}


@pytest.mark.parametrize("state", [ApplicationState.RECEIVED, ApplicationState.ELIGIBLE,
                                   ApplicationState.RESERVE, ApplicationState.SELECTED])
def test_K1_a_lead_of_an_application_that_may_still_be_selected_is_accepted(
        state: ApplicationState) -> None:
    assert refusal(ROW, state, LEADS) is None  # issuance asks "selected" (certificates._due)


@pytest.mark.parametrize(("state", "named"), [(ApplicationState.INELIGIBLE, "부적격"),
                                              (ApplicationState.NOT_SELECTED, "미선정"),
                                              (ApplicationState.CANCELLED, "선정 취소")],
                         ids=["ineligible", "not_selected", "cancelled"])
def test_K1_an_application_that_can_no_longer_be_selected_is_refused(
        state: ApplicationState, named: str) -> None:
    assert refusal(ROW, state, LEADS) == (
        f"접수번호 2030-1-001의 신청은 {named} 상태입니다: 선정된 신청이 아니므로 확인서를 "
        "발급할 수 없습니다")


def test_K1_a_company_that_is_not_a_lead_is_refused() -> None:
    assert refusal(ROW, ApplicationState.SELECTED, {"111-11-11119"}) == (
        "123-45-67890 기업은 2030-1-001 신청의 주관기업이 아닙니다")
