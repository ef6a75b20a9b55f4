"""The deployments `sangsaeng serve` registers, and `prefect.yaml` for a work pool, agree; every
schedule is in KST; the round's form describes its fields in Korean and English."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import yaml
from prefect.utilities.callables import parameter_schema

from flows.deployments import deployments, specs
from flows.models import CHOICE, Step, choice_code
from flows.prefect_yaml import prefect_yaml
from flows.registry import DEPLOYMENT_NAMES, ENTRIES, NEXT_STEP, NOTICE_STEPS, STEP_NAMES
from flows.round_runs import deadline_runs, is_served
from sangsaeng.cli.rounds import StepName
from sangsaeng.domain.clock import parse_instant
from sangsaeng.domain.states import RoundState
from tests.conftest import REPO


def _yaml() -> list[dict[str, object]]:
    return list(yaml.safe_load((REPO / "prefect.yaml").read_text(encoding="utf-8"))[
        "deployments"])


def test_prefect_yaml_describes_the_served_deployments() -> None:
    described = _yaml()
    assert len(described) == len(specs())
    for entry, spec in zip(described, specs(), strict=True):
        path, _, attr = str(entry["entrypoint"]).partition(":")
        module = importlib.import_module(path.removesuffix(".py").replace("/", "."))
        assert getattr(module, attr) is spec.flow, entry["entrypoint"]
        assert entry["name"] == DEPLOYMENT_NAMES[spec.flow.name]
        assert entry["description"] == spec.description
        assert entry["tags"] == ["sangsaeng", *spec.tags]
        assert entry.get("schedules", []) == [
            {"cron": s.cron, "timezone": s.timezone} for s in spec.schedules]
        # a form whose choices come from files and the database: the flow checks the value
        assert entry.get("enforce_parameter_schema", True) is not offers_choices(spec.flow), (
            entry["entrypoint"])


def test_prefect_yaml_is_generated_from_the_registry() -> None:
    committed = (REPO / "prefect.yaml").read_text(encoding="utf-8")
    assert committed == prefect_yaml(), "prefect.yaml is stale: run `make prefect-yaml`"


# Issue 21: every name below is declared once, in flows/registry.py; these are the names,
# descriptions and chaining as they were before (they stay byte-identical).
BEFORE_DEPLOYMENT_NAMES = {
    "round": "회차 실행 (round)",
    "create_round": "회차 만들기 (create_round)",
    "open_call": "공고 게시 (open_call)",
    "intake": "접수 자료 가져오기 (intake)",
    "close_intake": "접수 마감 (close_intake)",
    "screening": "요건 검토 (screening)",
    "committee_review": "평가·위원장 승인 (committee_review)",
    "accept_supplements": "보완서류 접수 (accept_supplements)",
    "upload_scores": "평가표 올리기 (upload_scores)",
    "selection_notice": "선정 통보 (selection_notice)",
    "certificate_issuance": "확인서 발급 (certificate_issuance)",
    "mall_listing_support": "종합쇼핑몰 등록 지원 (mall_listing_support)",
    "confirm_production": "생산 확인 입력 (confirm_production)",
    "change_certificate": "확인서 재발급 (change_certificate)",
    "cancel_certificates": "확인서 취소 (cancel_certificates)",
    "submit_cost_claim": "인증비용 지원 신청 (submit_cost_claim)",
    "record_listing_step": "종합쇼핑몰 등록 단계 입력 (record_listing_step)",
    "record_evaluation": "성과평가 결과 입력 (record_evaluation)",
    "review_cancellation": "성과평가 취소 검토 (review_cancellation)",
    "support_import": "선정 후 자료 가져오기 (support_import)",
    "invite_to_event": "행사 초대 (invite_to_event)",
    "support_dues": "매일 사후관리 (support_dues)",
    "what_if": "선정 시뮬레이션 (what_if)",  # issue 26: the one deployment added since
    "cancel_round": "회차 취소 (cancel_round)",
    "deliver_notices": "안내 메일 발송 (deliver_notices)",
    "deliver_due_notices": "전체 안내 메일 발송 (deliver_due_notices)",
    "office_digest": "현황 갱신 (office_digest)",
}
BEFORE_STEPS = ["open_call", "intake", "close_intake", "screening", "committee_review",
                "selection_notice", "certificate_issuance", "mall_listing_support"]


def test_the_registry_declares_every_deployment_and_step_once() -> None:
    assert dict(DEPLOYMENT_NAMES) == BEFORE_DEPLOYMENT_NAMES
    assert [e.name for e in ENTRIES] == list(BEFORE_DEPLOYMENT_NAMES)
    assert [spec.flow.name for spec in specs()] == list(BEFORE_DEPLOYMENT_NAMES)
    assert list(STEP_NAMES) == [s.value for s in Step] == [s.value for s in StepName] == (
        BEFORE_STEPS)
    assert dict(NEXT_STEP) == {
        RoundState.CLOSED: "screening", RoundState.SCREENING: "committee_review",
        RoundState.DECIDED: "selection_notice", RoundState.NOTIFIED: "certificate_issuance",
        RoundState.CERTIFYING: "mall_listing_support"}
    assert dict(NOTICE_STEPS) == {
        "call": "open_call", "application": "intake", "screening": "screening",
        "review": "committee_review", "selection": "selection_notice",
        "certificate": "certificate_issuance"}


def test_every_schedule_is_in_kst_and_names_are_stable(env: Path) -> None:
    served = deployments()
    assert [d.name for d in served] == [DEPLOYMENT_NAMES[d.flow_name] for d in served]
    assert len({d.flow_name for d in served}) == len({d.name for d in served}) == len(served)
    schedules = [s for d in served for s in d.schedules or []]
    assert schedules and all(s.schedule.timezone == "Asia/Seoul" for s in schedules)


def offers_choices(flow: Any) -> bool:
    return any(CHOICE in p for p in parameter_schema(flow).properties.values())


def test_the_round_form_describes_its_fields_in_korean_and_english(env: Path) -> None:
    round_form = next(d for d in deployments() if d.flow_name == "round")
    fields = round_form._parameter_openapi_schema.properties
    assert "회차: 목록에서 선택" in fields["config"]["description"]
    assert "choose it from the list" in fields["config"]["description"]
    assert "config/rounds" not in fields["config"]["description"]  # no path (issue 23 item 5)
    assert "required" not in fields["data"] and fields["data"]["default"] == ""
    for step in deployments():
        if "단계" in (step.tags or []) or step.flow_name == "round":
            properties = step._parameter_openapi_schema.properties
            assert all(" / " in p.get("description", "") for p in properties.values()), step


def test_deadline_runs_are_at_the_close_and_the_supplement_deadline() -> None:
    closes = parse_instant("2022-05-27T18:00:00+09:00")
    supplement = parse_instant("2022-06-07T18:00:00+09:00")  # S1 example of PROGRAM_RULES
    close, recheck = deadline_runs("2022-2", closes, supplement)
    assert (close.flow_name, close.at, recheck.flow_name, recheck.at) == (
        "close_intake", closes, "screening", supplement)
    assert close.idempotency_key != recheck.idempotency_key
    assert close.idempotency_key == deadline_runs("2022-2", closes, supplement)[0].idempotency_key
    moved = deadline_runs("2022-2", closes.replace(hour=17), supplement)[0]
    assert moved.idempotency_key != close.idempotency_key  # a moved deadline is a new run
    assert not is_served()  # outside a deployment's run (CLI replays) nothing is scheduled


def test_the_cancel_form_requires_a_reason_and_speaks_both_languages(env: Path) -> None:
    form = next(d for d in deployments() if d.flow_name == "cancel_round")
    schema = form._parameter_openapi_schema
    assert schema.required == ["round_id", "reason"]
    assert schema.properties["reason"]["minLength"] == 1  # the UI refuses an empty reason
    assert "취소 사유" in schema.properties["reason"]["description"]
    assert all(" / " in p.get("description", "") for p in schema.properties.values())


def test_the_listing_form_offers_m1s_steps_and_describes_its_fields_in_ko_and_en(
    env: Path,
) -> None:
    form = next(d for d in deployments() if d.flow_name == "record_listing_step")
    assert form.tags == ["sangsaeng", "입력", "사후관리"]
    schema = form._parameter_openapi_schema
    fields = schema.properties
    # M1: the step is a choice of the checklist's ids, in order, each by its Korean name
    assert [choice_code(c) for c in fields["step"]["enum"]] == [
        "bidder_registration", "catalog_number", "mas_qualification", "price_negotiation",
        "contract", "listed"]
    assert fields["step"]["enum"][1] == "목록화(물품식별번호) (catalog_number)"
    for name in ("receipt_no", "brn", "step", "done_on", "evidence"):
        description = fields[name]["description"]
        assert " / " in description and description.isascii() is False, name
    assert "물품식별번호" in fields["evidence"]["description"]


def test_deployments_carry_korean_names_with_the_flow_beside_and_the_office_s_groups() -> None:
    """Issue 15 §3: `회차 실행 (round)`: a person reads the Korean, the search box finds either
    language; tags group them as the office filters (회차, 단계, 입력, 발송, 사후관리)."""
    groups = {"회차", "단계", "입력", "발송", "사후관리"}
    for deployment in deployments():
        korean, _, flow = deployment.name.rpartition(" (")
        assert flow == f"{deployment.flow_name})" and korean, deployment.name
        assert any("\uac00" <= ch <= "\ud7a3" for ch in korean), deployment.name  # Hangul
        assert groups & set(deployment.tags or []), (deployment.name, deployment.tags)
    by_group = {g: {d.flow_name for d in deployments() if g in (d.tags or [])} for g in groups}
    assert by_group["회차"] >= {"round", "cancel_round"}
    assert by_group["발송"] == {"deliver_notices", "deliver_due_notices"}
    assert {"support_dues", "certificate_issuance", "record_evaluation"} <= by_group["사후관리"]
    assert "upload_scores" in by_group["입력"] and "screening" in by_group["단계"]
