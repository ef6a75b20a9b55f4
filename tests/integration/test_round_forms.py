"""Rounds from a list (issue 15 §1): every form that takes a round offers the known rounds (the
configuration files and the program database) as a choice with their titles, no free-text path;
a new round is created from a form that writes and validates config/rounds/<id>.toml, and the
next form offers it without restarting `serve`; a refused form fails its run with one line and
writes nothing.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from prefect.client.orchestration import get_client
from sqlalchemy import select

from flows.deployments import deployments
from flows.models import CHOICE
from flows.new_round import create_round
from flows.round_runs import deployment_name
from sangsaeng.config import load_program, load_round
from sangsaeng.db import get_engine, session_scope
from sangsaeng.domain.clock import KST, is_business_day
from sangsaeng.errors import ConfigError
from sangsaeng.models import AUDIT, AuditEvent, Round
from sangsaeng.services.round_files import default_package
from sangsaeng.services.rounds import register_round
from sangsaeng.settings import get_settings
from tests.conftest import REPO, ROUND_2022_2
from tests.integration.test_round_dates_and_cancel import deployed, served  # noqa: F401

TITLE_2022_2 = "2022년 2차 공공조달 상생협력 지원제도 참여기업 모집"


@pytest.fixture
def config_dir(env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The office's config folder: program.toml and the 2022-2 round (a copy to write into)."""
    folder = tmp_path / "config"
    shutil.copytree(REPO / "config", folder)
    monkeypatch.setenv("SANGSAENG_CONFIG_DIR", str(folder))
    get_settings.cache_clear()
    return folder


def _register_only_in_the_database(tmp_path: Path, config_dir: Path) -> None:
    """A round whose file is not in config/rounds/ (run from elsewhere with the CLI)."""
    elsewhere = tmp_path / "elsewhere.toml"
    elsewhere.write_text('id = "2021-1"\ntitle = "2021년 1차 모집"\nopens_at = '
                         '"2021-03-02T09:00:00"\ncloses_at = "2021-03-26T18:00:00"\n'
                         'tracks = ["innovation"]\n', encoding="utf-8")
    program = load_program(config_dir)
    with session_scope(get_engine()) as session:
        register_round(session, program, load_round(elsewhere, program),
                       now=datetime(2021, 3, 1, tzinfo=UTC), actor="office")


def test_every_form_that_takes_a_round_offers_the_known_rounds_with_their_titles(
    config_dir: Path, tmp_path: Path
) -> None:
    _register_only_in_the_database(tmp_path, config_dir)
    forms = {d.flow_name: d._parameter_openapi_schema.properties for d in deployments()}
    for flow in ("intake", "close_intake", "screening", "committee_review", "accept_supplements",
                 "upload_scores", "selection_notice", "certificate_issuance", "cancel_round",
                 "deliver_notices"):
        field = forms[flow]["round_id"]
        assert field["enum"] == ["2022-2", "2021-1"], flow  # newest first
        assert f"2022-2 — {TITLE_2022_2}" in field["description"], flow
        assert "2021-1 — 2021년 1차 모집 (공고 전)" in field["description"], flow
    for flow in ("round", "open_call"):  # a round with its file, chosen by id: no path to type
        field = forms[flow]["config"]
        assert field["enum"] == ["2022-2"] and field["enumNames"] == [
            f"2022-2 — {TITLE_2022_2} (공고 전: 설정 파일만)"], flow
    # no field that takes a round is left as free text
    for flow, fields in forms.items():
        for name, field in fields.items():
            if field.get(CHOICE) in ("round", "round-file"):
                assert "enum" in field, (flow, name)
            if field.get(CHOICE) or name == "data":  # the UI's markdown would drop a <tag>
                assert "<" not in field.get("description", ""), (flow, name)
    assert forms["intake"]["data"]["default"] == ""  # the latest upload unless one is named


def _form(**changes: Any) -> dict[str, Any]:
    opens = datetime.now(KST).replace(hour=9, minute=0, second=0, microsecond=0)
    closes = opens + timedelta(days=20, hours=9)
    while not is_business_day(closes.date()):  # within office hours, as a deadline usually is
        closes += timedelta(days=1)
    values: dict[str, Any] = {
        "round_id": "2031-5", "title": "2031년 5차 공공조달 상생협력 지원제도 참여기업 모집",
        "opens_at": opens.strftime("%Y-%m-%d %H:%M"),  # as typed in the form: KST, no zone
        "closes_at": closes.strftime("%Y-%m-%d %H:%M"),
        # as the form's list gives them (named), and as the CLI or the API may (a code)
        "tracks": ["혁신성장 (innovation)", "value"], "quota": {"innovation": 3, "value": 2},
        "support_years": 2, "actor": "담당자"}
    return {**values, **changes}


def _enum_of(flow_name: str, field: str) -> list[str]:
    async def read() -> list[str]:
        async with get_client() as client:
            found = await client.read_deployment_by_name(deployment_name(flow_name))
        return list(found.parameter_openapi_schema["properties"][field]["enum"])
    return asyncio.run(read())


@pytest.mark.usefixtures("prefect_harness")
def test_a_round_created_from_the_form_is_written_valid_and_the_next_forms_offer_it(
    config_dir: Path
) -> None:
    for deployment in deployments():  # as `serve` registers them (its runner is this test)
        if not deployment.schedules:
            deployment.apply()
    assert "2031-5" not in _enum_of("intake", "round_id")

    form = _form()
    _, state = served("create_round", **form)
    assert state.is_completed(), state
    written = config_dir / "rounds" / "2031-5.toml"
    config = load_round(written, load_program(config_dir))
    assert (config.title, config.tracks, config.quota, config.support_years) == (
        form["title"], ("innovation", "value"), {"innovation": 3, "value": 2}, 2)
    assert config.opens_at == datetime.fromisoformat(form["opens_at"]).replace(tzinfo=KST)
    with session_scope(get_engine()) as session:
        [audit] = session.execute(select(AuditEvent).where(
            AUDIT.c.action == "round.config_created")).scalars().all()
    assert (audit.actor, audit.round_id, audit.data["toml"]) == (
        "담당자", "2031-5", written.read_text(encoding="utf-8"))

    # The next forms offer it, without a restart of `serve`: first in every list.
    assert _enum_of("intake", "round_id")[0] == "2031-5"
    assert _enum_of("cancel_round", "round_id")[0] == "2031-5"
    assert _enum_of("open_call", "config") == ["2031-5", "2022-2"]
    assert _enum_of("round", "config") == ["2031-5", "2022-2"]
    # …and publishing its call from the open_call form, by the id chosen, works.
    _, state = served("open_call", config="2031-5")
    assert state.is_completed(), state
    with session_scope(get_engine()) as session:
        stored = session.get(Round, "2031-5")
        assert stored is not None and (stored.state, stored.title) == ("open", form["title"])


REFUSED = {
    "closes-before-opens": ({"closes_at": "2031-01-02T09:00:00", "opens_at":
                             "2031-02-01T09:00:00"}, "closes_at must be after opens_at"),
    "unknown-track": ({"tracks": ["innovation", "robotics"], "quota": {}},
                      "tracks: unknown track(s) robotics"),
    "existing-id": ({"round_id": "2022-2"}, "a round 2022-2 exists already: not overwritten"),
    "quota-for-a-track-not-offered": ({"tracks": ["innovation"], "quota": {"value": 2}},
                                      "quota for tracks the round does not offer: value"),
}


@pytest.mark.usefixtures("prefect_harness")
@pytest.mark.parametrize("changes,message", REFUSED.values(), ids=REFUSED.keys())
def test_a_refused_form_fails_its_run_with_one_line_and_writes_nothing(
    config_dir: Path, changes: dict[str, Any], message: str
) -> None:
    before = sorted(p.name for p in (config_dir / "rounds").iterdir())
    values = _form(**changes)
    state = asyncio.run(create_round(**{
        **values, "opens_at": datetime.fromisoformat(values["opens_at"]),
        "closes_at": datetime.fromisoformat(values["closes_at"])}, return_state=True))
    assert state.is_failed(), state
    assert message in str(state.message) and "\n" not in str(state.message), state.message
    assert sorted(p.name for p in (config_dir / "rounds").iterdir()) == before  # no temp file
    assert (config_dir / "rounds" / "2022-2.toml").read_text(encoding="utf-8") == (
        REPO / "config" / "rounds" / "2022-2.toml").read_text(encoding="utf-8")
    with session_scope(get_engine()) as session:
        assert session.execute(select(AuditEvent).where(
            AUDIT.c.action == "round.config_created")).first() is None


@pytest.mark.usefixtures("prefect_harness", "deployed")
def test_dates_typed_in_the_form_are_kst_said_back_in_korean_and_odd_hours_need_confirming(
    config_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Issue 23 item 1: the form's dates are text read as KST (no zone picker to shift them by
    9 hours), the run's log says them back; a deadline outside office hours is refused unless
    the office confirms it."""
    caplog.set_level(logging.INFO, logger="prefect.flow_runs")  # the suite runs at WARNING
    rounds = config_dir / "rounds"
    before = sorted(p.name for p in rounds.iterdir())
    form = _form(opens_at="2031-03-03 09:00", closes_at="2031-04-01 03:00")  # 03:00: a slip
    _, state = served("create_round", **form)
    assert state.is_failed(), state
    message = str(state.message)
    assert "마감 2031년 4월 1일(화) 03:00 KST은(는) 업무시간(평일 09:00–18:00) 밖입니다" in message
    assert "after_hours" in message and "\n" not in message
    assert sorted(p.name for p in rounds.iterdir()) == before

    _, state = served("create_round", **{**form, "closes_at": "2031-03-31 18:00"})
    assert state.is_completed(), state
    config = load_round(rounds / "2031-5.toml", load_program(config_dir))
    assert (config.opens_at, config.closes_at) == (datetime(2031, 3, 3, 9, tzinfo=KST),
                                                   datetime(2031, 3, 31, 18, tzinfo=KST))
    assert '"2031-03-31T18:00:00+09:00"' in (rounds / "2031-5.toml").read_text(encoding="utf-8")
    logged = [r.getMessage() for r in caplog.records if r.name == "prefect.flow_runs"]
    said = [m for m in logged if "회차를 만들었습니다" in m]
    assert said == ["2031-5 회차를 만들었습니다: 접수 2031년 3월 3일(월) 09:00 KST부터, "
                    "마감 2031년 3월 31일(월) 18:00 KST"]
    assert not any(str(config_dir) in m for m in logged)  # no server path

    (rounds / "2031-5.toml").unlink()  # confirmed: a deadline at night is the office's choice
    _, state = served("create_round", **{**form, "after_hours": True})
    assert state.is_completed(), state
    config = load_round(rounds / "2031-5.toml", load_program(config_dir))
    assert config.closes_at == datetime(2031, 4, 1, 3, tzinfo=KST)


def test_a_form_date_is_text_in_kst_and_a_slip_is_refused_in_korean() -> None:
    """The fields the UI renders: text with an example (no date-time picker, no zone); a
    datetime from code is taken as it is."""
    from pydantic import TypeAdapter, ValidationError

    from flows.models import KstDateTime, Now

    forms = {d.flow_name: d._parameter_openapi_schema.properties for d in deployments()}
    for flow, field in [("create_round", "opens_at"), ("create_round", "closes_at"),
                        ("round", "now"), ("certificate_issuance", "now")]:
        schema = forms[flow][field]
        assert schema["type"] == "string" and "format" not in schema, (flow, field, schema)
        assert "KST" in schema["description"], (flow, field)
    kst = TypeAdapter(KstDateTime)
    assert kst.validate_python("2027-03-31 18:00") == datetime(2027, 3, 31, 18, tzinfo=KST)
    assert kst.validate_python("2027-03-31T09:00:00Z") == datetime(2027, 3, 31, 9, tzinfo=UTC)
    assert TypeAdapter(Now).validate_python("") is None
    moment = datetime(2022, 7, 20, 1, tzinfo=UTC)
    assert TypeAdapter(Now).validate_python(moment) is moment
    with pytest.raises(ValidationError, match="날짜와 시각이 아닙니다"):
        kst.validate_python("3월 31일 저녁")


def test_without_a_package_path_intake_reads_the_rounds_latest_upload(tmp_path: Path) -> None:
    inbox, data = tmp_path / "inbox", REPO / "data"
    assert default_package("2022-2", inbox, data) == ROUND_2022_2 / "package"  # nothing uploaded
    for name in ("20240102-090000-package", "20240103-090000-support", ".upload-x"):
        (inbox / "2022-2" / name).mkdir(parents=True)
    (inbox / "2022-2" / "20240102-090000-package" / "applications.csv").write_text("x")
    assert default_package("2022-2", inbox, data) == inbox / "2022-2" / "20240102-090000-package"
    latest = inbox / "2022-2" / "20240105-100000-package"
    latest.mkdir()
    (latest / "package.xlsx").write_bytes(b"PK")
    assert default_package("2022-2", inbox, data) == latest / "package.xlsx"  # the workbook
    with pytest.raises(ConfigError, match="upload the package first"):
        default_package("2031-9", inbox, data)


def test_an_id_that_is_no_round_id_names_no_file(config_dir: Path) -> None:
    from sangsaeng.services.round_files import NewRound, create_round_file

    opens = datetime(2031, 1, 5, 9)
    for bad in ("../2031-1", "2031-1\n", "2031-1/x"):
        new = NewRound(bad, "t", opens, opens + timedelta(days=9), ("innovation",))
        with session_scope(get_engine()) as session, pytest.raises(ConfigError, match="YYYY-N"):
            create_round_file(session, config_dir, new, now=datetime.now(UTC), actor="x")
    assert sorted(p.name for p in config_dir.rglob("*")) == sorted(
        p.name for p in (REPO / "config").rglob("*"))


def test_every_form_field_has_a_korean_label_and_no_none_toggle() -> None:
    """Issue 23 item 7: Prefect labels a field by its parameter name, shows `X | None` as a
    toggle and a null default as "None"; the office's forms have Korean labels, no null, and
    not the fields only the CLI gives (the round's `until` and `approval`); no rule ids in
    what they say (item 4)."""
    import json
    import re

    hangul = re.compile("[가-힣]")
    for deployment in deployments():
        schema = deployment._parameter_openapi_schema.model_dump()
        fields = [(name, prop) for props in (schema["properties"], *(
            model.get("properties", {}) for model in schema.get("definitions", {}).values()))
            for name, prop in props.items()]
        for name, prop in fields:
            assert hangul.search(prop.get("title", "")), (deployment.name, name, prop)
        text = json.dumps(schema)
        assert '"null"' not in text and '"default": null' not in text, deployment.name
        said = " ".join([deployment.description or "", *(
            str(prop.get("description", "")) for _, prop in fields)])
        assert not re.search(r"\b[A-Z]\d{1,2}[a-z]?\b", said), (deployment.name, said)
    forms = {d.flow_name: d._parameter_openapi_schema.properties for d in deployments()}
    # a list shows each choice's Korean name, and the flow takes the choice as the list gives it
    assert forms["change_certificate"]["field"]["enum"] == [
        "기업명 (name)", "대표자 (representative)", "주소 (address)"]
    assert "성과평가 결과 부적합 (failed_evaluation)" in forms["cancel_certificates"]["ground"][
        "enum"]
    from flows.certificates import change_certificate
    from sangsaeng.domain.certificates import ReissueField

    given = change_certificate.validate_parameters({
        "number": "22-IG0001", "field": "대표자 (representative)", "new_value": "김대표",
        "changed_on": "2022-08-01", "reason": "대표자 변경"})
    assert given["field"] is ReissueField.REPRESENTATIVE
    assert "until" not in forms["round"] and "approval" not in forms["round"]
    assert "approval" not in forms["committee_review"]
    assert forms["round"]["config"]["title"] == "회차"


def test_a_round_created_on_one_machine_opens_on_a_worker_that_never_saw_its_file(
    config_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 24 item 4: the create form's file is kept in the program database too; a worker
    whose config/rounds/ lacks it opens the round from there."""
    from sangsaeng.services.round_files import NewRound, create_round_file
    from tasks.steps import open_round

    new = NewRound("2031-5", "2031년 5차 모집", datetime(2031, 3, 2, 9), datetime(2031, 3, 26, 18),
                   ("innovation",))
    with session_scope(get_engine()) as session:
        written = create_round_file(session, config_dir, new, now=datetime.now(UTC),
                                    actor="담당자")
    text = written.read_text(encoding="utf-8")
    worker = tmp_path / "worker-config"  # another machine's checkout: program.toml, no 2031-5
    shutil.copytree(REPO / "config", worker)
    monkeypatch.setenv("SANGSAENG_CONFIG_DIR", str(worker))
    get_settings.cache_clear()
    assert not (worker / "rounds" / "2031-5.toml").exists()
    opened = open_round.fn("2031-5", datetime(2031, 3, 2, 9, tzinfo=KST), "prefect")
    assert opened.round_id == "2031-5" and opened.opened
    assert (worker / "rounds" / "2031-5.toml").read_text(encoding="utf-8") == text
