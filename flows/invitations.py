"""The office's event form (M4): invite the certified companies to an exhibition, the
나라장터 expo or a training, once per (event, company), and deliver the invitations."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated

from prefect import flow
from pydantic import Field

from flows.models import Actor, InvitationOutcome, NamedChoice, Now, described
from flows.owed import deliver
from flows.run_names import named_run
from sangsaeng.domain.events import EVENT_NAMES, EventKind
from sangsaeng.services.invitations import EventInput
from tasks import invitations


@flow(name="invite_to_event", flow_run_name=named_run, persist_result=False)
@described
async def invite_to_event(
    kind: Annotated[EventKind, NamedChoice(EVENT_NAMES), Field(description=(
        "행사 종류 / the kind of event (M4)"))],
    title: Annotated[str, Field(min_length=1, description="행사명 / the event's title")],
    held_on: Annotated[date, Field(description="행사일 / when it is held")],
    place: Annotated[str, Field(min_length=1, description="장소 (온라인이면 '온라인') / where")],
    link: Annotated[str, Field(description=(
        "안내·신청 주소 (https://…, 없으면 비움) / the event's page, if any"))] = "",
    actor: Actor = "prefect",
    now: Now = None,
) -> InvitationOutcome:
    """M4: invite the lead and partner companies of selected projects with a valid certificate
    (on the run's day) — once per (event, company); entering the event again invites only
    companies not invited yet."""
    clock = now if now is not None else datetime.now(UTC)
    done = invitations.invite_to_event(EventInput(kind, title.strip(), held_on, place.strip(),
                                                  link.strip()), clock, actor)
    await deliver(None)
    return InvitationOutcome(round_id="-", detail=f"{done.invited} invitation(s) owed; "
                             f"{done.already} compan(y/ies) invited before",
                             event_id=done.event_id, invited=done.invited, already=done.already)
