"""The 나라장터 종합쇼핑몰 listing (M1): the round's last step `mall_listing_support`, which
starts each certified product's checklist, and the office's form recording a step of it.
The daily reminders and escalations (M1b, M1c) are the dues run's (flows/dues.py).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from prefect import flow
from pydantic import Field

from flows import registry
from flows.models import (
    Actor,
    Chain,
    ListingSupportOutcome,
    NamedChoice,
    Now,
    RoundId,
    SupportOutcome,
    described,
    run_clock,
)
from flows.owed import begin, finish
from flows.refusals import ends_refused
from flows.run_names import named_run
from flows.support_import import applied
from sangsaeng.domain.listing import STEP_NAMES, MallStep
from sangsaeng.io.after_selection import ListingInput, SupportFiles
from tasks import listing
from tasks.support_import import record_support


@flow(name="mall_listing_support", flow_run_name=named_run, persist_result=False)
@described
async def mall_listing_support(round_id: RoundId, now: Now = None, actor: Actor = "prefect",
                               chain: Chain = False) -> ListingSupportOutcome:
    """R2/M1: the round's last step. Once its certificates are issued the round moves to
    `support` and each certified product's 나라장터 종합쇼핑몰 listing checklist starts; the
    daily dues run (09:00 KST) then reminds and escalates (M1b, M1c). Safe to re-run.

    `chain` is accepted like every step's; nothing follows it (the dues run is scheduled).
    """
    run = await begin(registry.MALL_LISTING_SUPPORT, round_id, chain)
    state, steps = listing.begin_listing_support(round_id, run_clock(now), actor)
    detail = (", ".join(f"{step} {n}" for step, n in steps.items()) if steps
              else "no valid certificate yet: listing support waits for certificate_issuance")
    return await finish(run, ListingSupportOutcome(
        step=run.entry.name, round_id=round_id, detail=detail, round_state=state, steps=steps))


@flow(name="record_listing_step", flow_run_name=named_run, persist_result=False)
@ends_refused
@described
async def record_listing_step(
    receipt_no: Annotated[str, Field(min_length=1, description="접수번호 / receipt number")],
    brn: Annotated[str, Field(min_length=1, description=(
        "주관기업 사업자등록번호 (XXX-XX-XXXXX) / the lead's BRN"))],
    step: Annotated[MallStep, NamedChoice(STEP_NAMES), Field(description=(
        "완료한 단계 / the M1 step done"))],
    done_on: Annotated[date, Field(description="완료일 / the day it was done")],
    evidence: Annotated[str, Field(description=(
        "증빙 (catalog_number: 8자리 물품식별번호) / evidence (catalog_number: the 8-digit "
        "물품식별번호)"))] = "",
    actor: Actor = "prefect",
    now: Now = None,
) -> SupportOutcome:
    """M1: record a 나라장터 종합쇼핑몰 listing step of a certified product (any order).

    Refused: no certificate of that lead, a certificate not valid, a catalog_number without
    its 8-digit 물품식별번호, the step already recorded with another date (the first stands).
    """
    clock = run_clock(now)
    done = record_support(SupportFiles(listing=[ListingInput(
        receipt_no.strip(), brn.strip(), step, done_on, evidence.strip())]), clock, actor)
    return await applied(done, False, clock, actor)
