"""A new round from a form in the Prefect UI (R1, INTERFACES §1): the office types the id, title,
dates (KST), tracks, quotas and support period; the flow writes `config/rounds/<id>.toml`,
validated as `sangsaeng round run` validates it, and every form that takes a round offers it at
once. A refused form writes nothing and fails the run with one line saying why.

Dates are text fields read as KST whatever the browser's zone (issue 23: Prefect's date-time
picker attached the browser's zone), said back in Korean in the run's log; a deadline outside
office hours needs the office's confirmation.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from prefect import flow, get_run_logger
from pydantic import BeforeValidator, Field

from flows.models import CHOICE, KstDateTime, NewRoundOutcome, choice_code, described
from flows.owed import run_mode, when_served
from flows.round_choice import refresh_forms
from flows.run_names import named_run
from sangsaeng.domain.clock import as_kst, format_kst, in_office_hours
from sangsaeng.errors import ConfigError
from sangsaeng.services.round_files import ROUND_ID, NewRound
from tasks.rounds import create_round_file

NewRoundId = Annotated[str, Field(pattern=ROUND_ID.pattern, description=(
    "새 회차 번호 YYYY-N (예: 2023-1) / the new round's id, YYYY-N, e.g. 2023-1"))]
Title = Annotated[str, Field(min_length=1, description=(
    "공고 제목 / title of the call, e.g. 2023년 1차 공공조달 상생협력 지원제도 참여기업 모집"))]
OpensAt = Annotated[KstDateTime, Field(description=(
    "접수 시작: 날짜와 시각 (KST), 예) 2027-03-02 09:00 / intake opens: date and time, KST"))]
ClosesAt = Annotated[KstDateTime, Field(description=(
    "접수 마감: 날짜와 시각 (KST), 예) 2027-03-31 18:00 / intake closes: date and time, KST"))]
AfterHours = Annotated[bool, Field(description=(
    "업무시간(평일 09:00–18:00) 밖의 마감이 맞습니다 / the deadline is outside office hours on "
    "purpose"))]
Tracks = Annotated[list[Annotated[str, BeforeValidator(choice_code)]], Field(
    min_length=1, description="모집 분야 (여럿 선택) / the tracks offered (choose one or more)",
    json_schema_extra={CHOICE: "track"})]
Quota = Annotated[dict[str, int | None] | None, Field(description=(
    "분야별 선정 규모 (비우면 제한 없음, V9) / selections per track (empty = no quota, V9)"),
    json_schema_extra={CHOICE: "quota"})]
SupportYears = Annotated[int | None, Field(ge=1, description=(
    "지원 기간 (년, 비우면 program.toml) / support period in years (empty = the program's)"))]


@flow(name="create_round", flow_run_name=named_run, persist_result=False)
@described
async def create_round(
    round_id: NewRoundId, title: Title, opens_at: OpensAt, closes_at: ClosesAt, tracks: Tracks,
    actor: Annotated[str, Field(min_length=1, description=(
        "입력하는 담당자 (감사 기록) / who creates it (audited)"))],
    quota: Quota = None, support_years: SupportYears = None, after_hours: AfterHours = False,
) -> NewRoundOutcome:
    """R1: write a new round's configuration file, validated; the forms offer it next.

    Refused, with nothing written, when the file would not validate (closes_at not after
    opens_at, a track the program does not have, a quota for a track not offered) or the id
    exists already, or — unless `after_hours` — when intake closes outside office hours. The
    round is registered and its call published by open_call.
    """
    mode = run_mode()
    closes = f"{format_kst(closes_at)} KST"
    if not after_hours and not in_office_hours(closes_at):
        raise ConfigError(f"마감 {closes}은(는) 업무시간(평일 09:00–18:00) 밖입니다: 시각을 "
                          "확인하고, 맞다면 after_hours(업무시간 밖 마감)를 켜고 다시 실행하세요")
    new = NewRound(id=round_id.strip(), title=title.strip(), opens_at=as_kst(opens_at),
                   closes_at=as_kst(closes_at), tracks=tuple(tracks),
                   quota={k: v for k, v in (quota or {}).items() if v is not None},
                   support_years=support_years)
    path = create_round_file(new, datetime.now(UTC), actor)
    get_run_logger().info("%s 회차를 만들었습니다: 접수 %s KST부터, 마감 %s", new.id,
                          format_kst(new.opens_at), closes)
    outcome = NewRoundOutcome(
        round_id=new.id, detail=f"{new.id} 회차를 만들었습니다: {new.title}, "
        f"{format_kst(new.opens_at)} – {format_kst(new.closes_at)} KST",
        waiting_for="공고 게시 (open_call)에서 회차를 골라 공고를 게시하십시오",
        path=str(path), tracks=list(new.tracks), quota=new.quota)
    # served: the next form offers the round (no restart of `serve`)
    outcome.forms_updated = await when_served(mode, refresh_forms, [])
    return outcome
