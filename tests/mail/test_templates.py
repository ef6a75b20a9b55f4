"""Korean notice templates: every kind renders a subject, a text and an HTML body that say the
facts of the payload politely, escape applicant text, and fail loudly on a missing value."""

from __future__ import annotations

import copy
import re
from typing import Any

import pytest

from sangsaeng.config import load_program
from sangsaeng.errors import ConfigError
from sangsaeng.mail.render import KINDS, Rendered, Renderer
from sangsaeng.settings import REPO_ROOT

HANGUL = re.compile(r"[가-힣]")
HTML_TAG = re.compile(r"</?[A-Za-z][^>]*>")
SCRIPT = "<script>alert(1)</script>"
TEMPLATE_INJECTION = "{{ 7*7 }}"
RECIPIENT = "주식회사 한빛정밀"
# The reasons the samples carry, as a company must read them (fixed text, not the wording module).
SANCTIONED_KO = "참여기업 중 참여제한 기간 중인 기업이 있습니다"
MISSING_DOCUMENTS_KO = "보완 기한까지 필수 제출서류가 제출되지 않았습니다"
BELOW_CUTOFF_KO = "평가 점수가 선정 기준 점수에 미달하였습니다"
BELOW_GROWTH_FLOOR_KO = "평가항목 '성장성'의 점수가 최저 기준(배점의 일정 비율)에 미달하였습니다"
BELOW_GROWTH_FLOOR_HTML = ("평가항목 &#39;성장성&#39;의 점수가 "  # autoescaped quotes
                           "최저 기준(배점의 일정 비율)에 미달하였습니다")
CAP_EXCEEDED_KO = "과제별 지원 한도를 넘는 금액은 지원되지 않습니다"  # M2
INELIGIBLE_REASONS_KO = {"SANCTIONED": SANCTIONED_KO, "MISSING_DOCUMENTS": MISSING_DOCUMENTS_KO}

_ROUND = {
    "round_id": "2022-2",
    "round_title": "2022년 2차 공공조달 상생협력 지원제도 참여기업 모집",
}
_APPLICATION = {
    **_ROUND,
    "receipt_no": "2022-2-0007",
    "product_name": "고정밀 유량계측기",
    "track": "innovation",
    "company_name": "주식회사 한빛정밀",
    "role": "lead",
}
_SCREENING = {
    **_APPLICATION,
    "role": "partner",
    "company_name": "대성테크 주식회사",
    "supplement_deadline": "2022년 6월 3일(금) 18:00",
}
VERIFY_URL = "https://smpp.example.go.kr/certificates/22-IG0007"
_CERTIFICATE = {
    "certificate_number": "22-IG0007",
    "company_name": "주식회사 한빛정밀",
    "product_name": "고정밀 유량계측기",
}

SAMPLES: dict[str, dict[str, Any]] = {
    "call.announcement": {
        **_ROUND,
        "opens_at": "2022년 5월 2일(월) 09:00",
        "closes_at": "2022년 5월 27일(금) 18:00",
        "tracks": ["innovation", "materials", "convergence", "value"],
        "support_years": 3,
        "supplement_business_days": 5,
    },
    "application.received": {
        **_APPLICATION,
        "submitted_at": "2022년 5월 20일(금) 14:32",
        "closes_at": "2022년 5월 27일(금) 18:00",
    },
    "application.rejected_late": {
        **_APPLICATION,
        "submitted_at": "2022년 5월 27일(금) 18:04",
        "closes_at": "2022년 5월 27일(금) 18:00",
    },
    "screening.supplement_requested": {
        **_SCREENING,
        "reasons": [],
        "missing_documents": [["business_plan", None], ["sme_certificate", "123-45-67890"]],
    },
    "screening.ineligible": {
        **_SCREENING,
        "reasons": ["SANCTIONED", "MISSING_DOCUMENTS"],
        "missing_documents": [["agreement", None]],
    },
    "review.assignment": {
        **_ROUND,
        "reviewer_id": "R-014",
        "receipts": ["2022-2-0007", "2022-2-0012", "2022-2-0031"],
    },
    "review.reminder": {
        **_ROUND,
        "reviewer_id": "R-014",
        "receipts": ["2022-2-0012", "2022-2-0031"],
        "due_at": "2022년 6월 24일(금) 18:00",
    },
    "selection.selected": {**_APPLICATION, "score": "85.40", "rank": 3, "reasons": []},
    "selection.reserve": {**_APPLICATION, "score": "72.10", "rank": 2, "reasons": []},
    "selection.not_selected": {
        **_APPLICATION,
        "score": "64.25",
        "rank": None,
        "reasons": ["BELOW_CUTOFF", "BELOW_ITEM_FLOOR:growth"],
    },
    "certificate.issued": {
        **_CERTIFICATE,
        **_ROUND,
        "verify_url": VERIFY_URL,
        "valid_from": "2022년 8월 16일(화)",
        "valid_to": "2025년 8월 15일(금)",
    },
    "certificate.expiring": {**_CERTIFICATE, "valid_to": "2025년 8월 15일(금)", "days_left": 30},
    "certificate.reissued": {
        **_CERTIFICATE,
        **_ROUND,
        "verify_url": VERIFY_URL,
        "version": 2,
        "changed_field": "representative",
        "reason": "대표자 변경 등기",
        "valid_from": "2022년 8월 16일(화)",
        "valid_to": "2025년 8월 15일(금)",
    },
    "certificate.cancelled": {
        **_CERTIFICATE,
        "round_id": "2022-2",
        "receipt_no": "2022-2-0007",
        "ground": "fraud",
        "ground_name": "거짓이나 부정한 방법으로 확인서를 발급받은 경우",
        "reason": "허위 생산 실적 제출",
        "decided_on": "2023년 3월 2일(목)",
        "banned_until": "2028년 3월 1일(수)",
        "certificate_numbers": ["22-IG0007", "22-IG0008"],
    },
    "listing.reminder": {**_CERTIFICATE, "step": "목록화(물품식별번호)", "stalled_days": 21},
    "evaluation.due": {  # M3: to the lead and the office
        "round_id": "2022-2",
        "receipt_no": "2022-2-018",
        "company_name": "주식회사 한빛정밀",
        "product_name": "친환경 포장 완충재",
        "kind": "interim",
        "kind_name": "중간평가",
        "due_on": "2023년 7월 20일(목)",
        "valid_to": "2025년 7월 19일(토)",
        "days_left": 30,
    },
    "support.invitation": {  # M4: no applicant text but the recipient's name
        "round_id": "2022-2",
        "event_kind": "naramarket_expo",
        "event_kind_name": "나라장터 엑스포 상생협력제품관",
        "event_title": "2023 나라장터 엑스포",
        "event_date": "2023년 3월 22일(수)",
        "event_place": "킨텍스 제1전시장",
        "event_link": "https://expo.example/2023",
    },
    "support.claim_decided": {
        **_ROUND,
        "receipt_no": "2022-2-0025",
        "product_name": "친환경 포장 완충재",
        "company_name": "주식회사 한빛정밀",
        "claim_id": "C-004",
        "item": "성능 인증 시험비",
        "submitted_on": "2022년 9월 5일(월)",
        "amount": "5,000,000원",
        "approved": "2,000,000원",
        "remaining": "0원",
        "cap": "15,000,000원",
        "reasons": ["CAP_EXCEEDED"],
    },
    "office.digest": {
        **_ROUND,
        "date": "2022년 6월 7일(화)",
        "applications": [
            {"state": "received", "count": 112},
            {"state": "supplement_requested", "count": 9},
            {"state": "ineligible", "count": 4},
        ],
        "notices": [
            {"kind": "application.received", "state": "sent", "count": 318},
            {"kind": "screening.supplement_requested", "state": "failed", "count": 1},
        ],
        "failures": [
            {"recipient": "ceo@daesung-tech.example", "kind": "screening.supplement_requested",
             "reply": "550 5.1.1 mailbox unavailable"},
        ],
    },
}

# Values of each sample that the recipient must read in both the text and the HTML body.
EXPECTED: dict[str, tuple[str, ...]] = {
    "call.announcement": ("2022-2", "2022년 5월 2일(월) 09:00", "2022년 5월 27일(금) 18:00",
                          "혁신성장", "소재·부품", "기술융합", "가치창출", "3년", "5영업일",
                          "공공조달 상생협력"),
    "application.received": ("2022-2-0007", "고정밀 유량계측기", "혁신성장", "주관기업",
                             "2022년 5월 20일(금) 14:32", "2022년 5월 27일(금) 18:00"),
    "application.rejected_late": ("2022-2-0007", "고정밀 유량계측기",
                                  "2022년 5월 27일(금) 18:04", "2022년 5월 27일(금) 18:00",
                                  "접수할 수 없"),
    "screening.supplement_requested": ("2022-2-0007", "대성테크 주식회사", "협력기업",
                                       "사업계획서", "중소기업 확인서",
                                       "(사업자등록번호 123-45-67890)",
                                       "2022년 6월 3일(금) 18:00", "부적격"),
    "screening.ineligible": ("2022-2-0007", "고정밀 유량계측기", "부적격", "상생협력 협약서"),
    "review.assignment": ("R-014", "2022-2-0007", "2022-2-0012", "2022-2-0031", "3건", "제척"),
    "review.reminder": ("R-014", "2022-2-0012", "2022-2-0031", "2022년 6월 24일(금) 18:00"),
    "selection.selected": ("2022-2-0007", "고정밀 유량계측기", "85.40", "3위", "축하",
                           "직접생산", "확인서", "나라장터 종합쇼핑몰"),
    "selection.reserve": ("2022-2-0007", "고정밀 유량계측기", "72.10", "2위", "예비 선정",
                          "결원"),
    "selection.not_selected": ("2022-2-0007", "고정밀 유량계측기", "64.25", "미선정",
                               BELOW_CUTOFF_KO, "감사합니다"),
    "certificate.issued": ("22-IG0007", "주식회사 한빛정밀", "고정밀 유량계측기",
                           "2022년 8월 16일(화)", "2025년 8월 15일(금)", "PDF", "가점",
                           "2022년 2차 공공조달 상생협력 지원제도 참여기업 모집에서", VERIFY_URL),
    "certificate.expiring": ("22-IG0007", "고정밀 유량계측기", "2025년 8월 15일(금)",
                             "30일"),
    "certificate.reissued": ("22-IG0007", "제2판", "대표자", "주식회사 한빛정밀",
                             "고정밀 유량계측기", "2025년 8월 15일(금)", "PDF", VERIFY_URL),
    "certificate.cancelled": ("2022-2-0007", "고정밀 유량계측기", "허위 생산 실적 제출",
                              "거짓이나 부정한 방법", "2023년 3월 2일(목)",
                              "22-IG0007, 22-IG0008", "2028년 3월 1일(수)까지",
                              "참여하실 수 없습니다"),
    "listing.reminder": ("22-IG0007", "고정밀 유량계측기", "목록화(물품식별번호)", "21일"),
    "evaluation.due": ("중간평가", "2022-2-018", "주식회사 한빛정밀", "친환경 포장 완충재",
                       "2023년 7월 20일(목)", "30일 남음", "2025년 7월 19일(토)"),
    "support.invitation": ("2023 나라장터 엑스포", "나라장터 엑스포 상생협력제품관",
                           "2023년 3월 22일(수)", "킨텍스 제1전시장", "https://expo.example/2023",
                           "초대"),
    "support.claim_decided": ("C-004", "2022-2-0025", "친환경 포장 완충재", "성능 인증 시험비",
                              "2022년 9월 5일(월)", "5,000,000원", "2,000,000원", "0원",
                              "15,000,000원", CAP_EXCEEDED_KO),
    "office.digest": ("2022년 6월 7일(화)", "112", "보완 요청", "318", "발송 완료",
                      "발송 실패", "ceo@daesung-tech.example", "550 5.1.1 mailbox unavailable"),
}

# Kinds whose body shows applicant-supplied company and product names.
SHOWS_APPLICANT_TEXT = tuple(
    k for k in KINDS if {"company_name", "product_name"} & SAMPLES[k].keys()
)


@pytest.fixture(scope="module")
def renderer() -> Renderer:
    return Renderer(REPO_ROOT / "templates", load_program(REPO_ROOT / "config"))


def _render(renderer: Renderer, kind: str, payload: dict[str, Any] | None = None,
            recipient: str = RECIPIENT) -> Rendered:
    return renderer.render(kind, SAMPLES[kind] if payload is None else payload,
                           recipient_name=recipient)


def test_every_kind_has_a_sample_and_expected_values() -> None:
    assert set(SAMPLES) == set(KINDS)
    assert set(EXPECTED) == set(KINDS)


def test_K2_certificate_samples_are_numbered_yy_track_sequence() -> None:
    # K2: `{YY}-{TRACK}{NNNN}`, YY = issue year mod 100, TRACK = the C6 code (innovation: IG).
    numbers = {k: v["certificate_number"] for k, v in SAMPLES.items() if "certificate_number" in v}
    assert set(numbers) == {"certificate.issued", "certificate.expiring", "certificate.reissued",
                            "certificate.cancelled", "listing.reminder"}
    for number in numbers.values():
        assert re.fullmatch(r"\d{2}-(IG|MP|CB|TC|VC)\d{4}", number), number
    issued = SAMPLES["certificate.issued"]
    assert issued["valid_from"].startswith("2022년")  # issued in 2022 …
    assert issued["certificate_number"] == "22-IG0007"  # … for an innovation project


@pytest.mark.parametrize("kind", KINDS, ids=KINDS)
def test_every_kind_renders_korean_subject_text_and_html(renderer: Renderer, kind: str) -> None:
    rendered = _render(renderer, kind)
    sender = renderer.sender

    assert "\n" not in rendered.subject
    assert rendered.subject.startswith("[공공조달 상생협력]")
    assert HANGUL.search(rendered.subject.removeprefix("[공공조달 상생협력]"))
    for body in (rendered.text, rendered.html):
        assert HANGUL.search(body)
        assert sender["email"] in body
        assert sender["phone"] in body
    assert rendered.html.lstrip().startswith(("<!DOCTYPE html>", "<html"))
    assert '<html lang="ko">' in rendered.html
    assert '<meta charset="utf-8">' in rendered.html
    assert sender["program_name"] in rendered.html
    assert not HTML_TAG.search(rendered.text), HTML_TAG.findall(rendered.text)


@pytest.mark.parametrize("kind", KINDS, ids=KINDS)
def test_every_kind_shows_its_payload_values_in_text_and_html(
    renderer: Renderer, kind: str
) -> None:
    rendered = _render(renderer, kind)
    for expected in EXPECTED[kind]:
        assert expected in rendered.text, f"text lacks {expected!r}"
        assert expected in rendered.html, f"html lacks {expected!r}"


@pytest.mark.parametrize("kind", KINDS, ids=KINDS)
def test_every_kind_is_written_in_polite_official_style(renderer: Renderer, kind: str) -> None:
    text = _render(renderer, kind).text
    assert "바랍니다" in text or "드립니다" in text


@pytest.mark.parametrize("kind", [k for k in KINDS if k != "call.announcement"],
                         ids=[k for k in KINDS if k != "call.announcement"])
def test_personal_notices_greet_the_recipient_by_name(renderer: Renderer, kind: str) -> None:
    rendered = _render(renderer, kind, recipient="김민준")
    assert rendered.text.startswith("김민준 귀하")
    assert "김민준 귀하" in rendered.html


@pytest.mark.parametrize("kind", SHOWS_APPLICANT_TEXT, ids=SHOWS_APPLICANT_TEXT)
def test_applicant_text_is_escaped_in_html_and_never_evaluated(
    renderer: Renderer, kind: str
) -> None:
    payload = {**SAMPLES[kind], "company_name": SCRIPT, "product_name": TEMPLATE_INJECTION}
    rendered = _render(renderer, kind, payload, recipient=SCRIPT)

    assert "&lt;script&gt;" in rendered.html
    assert "<script>" not in rendered.html
    for body in (rendered.subject, rendered.text, rendered.html):
        assert "49" not in body
    assert TEMPLATE_INJECTION in rendered.text
    assert TEMPLATE_INJECTION in rendered.html


def test_M4_invitation_escapes_the_event_the_office_typed(renderer: Renderer) -> None:
    payload = {**SAMPLES["support.invitation"], "event_title": SCRIPT,
               "event_place": TEMPLATE_INJECTION}
    rendered = _render(renderer, "support.invitation", payload)
    assert "&lt;script&gt;" in rendered.html and "<script>" not in rendered.html
    assert TEMPLATE_INJECTION in rendered.text and "49" not in rendered.text
    assert '<a href="https://expo.example/2023">' in rendered.html


def test_office_digest_escapes_smtp_replies_and_recipients(renderer: Renderer) -> None:
    payload = copy.deepcopy(SAMPLES["office.digest"])
    payload["failures"] = [{"recipient": SCRIPT, "kind": "selection.selected",
                            "reply": TEMPLATE_INJECTION}]
    html = _render(renderer, "office.digest", payload, recipient="상생협력팀").html
    assert "&lt;script&gt;" in html
    assert "<script>" not in html
    assert TEMPLATE_INJECTION in html
    assert "49" not in html


@pytest.mark.parametrize(("kind", "key"), [("selection.selected", "receipt_no"),
                                           ("certificate.issued", "valid_to")],
                         ids=["selection.selected", "certificate.issued"])
def test_missing_payload_value_is_an_error_not_a_blank(
    renderer: Renderer, kind: str, key: str
) -> None:
    payload = {k: v for k, v in SAMPLES[kind].items() if k != key}
    with pytest.raises(ConfigError, match=key):
        _render(renderer, kind, payload)


def test_ineligible_reasons_are_in_plain_korean_not_codes(renderer: Renderer) -> None:
    rendered = _render(renderer, "screening.ineligible")
    assert SAMPLES["screening.ineligible"]["reasons"] == list(INELIGIBLE_REASONS_KO)
    for code, korean in INELIGIBLE_REASONS_KO.items():
        for body in (rendered.text, rendered.html):
            assert korean in body
            assert code not in body


def test_ineligible_lists_one_reason_per_line_and_item(renderer: Renderer) -> None:
    rendered = _render(renderer, "screening.ineligible")
    lines = rendered.text.splitlines()
    for korean in INELIGIBLE_REASONS_KO.values():
        assert f"- {korean}" in lines
        assert f"<li>{korean}</li>" in rendered.html


def test_not_selected_names_the_criterion_below_its_floor(renderer: Renderer) -> None:
    rendered = _render(renderer, "selection.not_selected")
    assert f"- {BELOW_CUTOFF_KO}" in rendered.text.splitlines()
    assert f"- {BELOW_GROWTH_FLOOR_KO}" in rendered.text.splitlines()
    assert f"<li>{BELOW_CUTOFF_KO}</li>" in rendered.html
    assert f"<li>{BELOW_GROWTH_FLOOR_HTML}</li>" in rendered.html
    for body in (rendered.text, rendered.html):
        assert "성장성" in body
        assert "BELOW_ITEM_FLOOR" not in body
        assert "BELOW_CUTOFF" not in body


def test_not_selected_without_score_or_reasons_still_reads_well(renderer: Renderer) -> None:
    payload = {**SAMPLES["selection.not_selected"], "score": None, "reasons": []}
    rendered = _render(renderer, "selection.not_selected", payload)
    for body in (rendered.text, rendered.html):
        assert "None" not in body
        assert "평가 점수" not in body
        assert "미선정 사유" not in body


def test_call_announcement_is_identical_for_every_company(renderer: Renderer) -> None:
    first = _render(renderer, "call.announcement", recipient="주식회사 한빛정밀")
    second = _render(renderer, "call.announcement", recipient="대성테크 주식회사")
    assert first == second
    assert "참여기업 관계자 여러분께" in first.text
    assert "한빛정밀" not in first.text + first.html


def test_supplement_request_lists_missing_documents_in_korean_with_deadline(
    renderer: Renderer,
) -> None:
    rendered = _render(renderer, "screening.supplement_requested")
    lines = rendered.text.splitlines()
    assert "- 사업계획서" in lines
    assert "- 중소기업 확인서 (사업자등록번호 123-45-67890)" in lines
    assert "2022년 6월 3일(금) 18:00" in rendered.subject
    for body in (rendered.text, rendered.html):
        assert "business_plan" not in body
        assert "sme_certificate" not in body
        assert "2022년 6월 3일(금) 18:00" in body


def test_text_bodies_end_with_the_shared_footer(renderer: Renderer) -> None:
    footers = {_render(renderer, kind).text.rsplit("-" * 40, 1)[1] for kind in KINDS}
    assert len(footers) == 1


def test_M2_claim_refused_for_track_shows_no_cap_and_says_why_in_korean(
        renderer: Renderer) -> None:
    payload = {**SAMPLES["support.claim_decided"], "approved": "0원", "remaining": None,
               "reasons": ["NOT_ELIGIBLE_TRACK"]}
    rendered = _render(renderer, "support.claim_decided", payload)
    for body in (rendered.text, rendered.html):
        assert "가치창출 유형으로 선정된 과제만" in body
        assert "남은 지원 한도" not in body and "None" not in body
        assert "NOT_ELIGIBLE_TRACK" not in body
