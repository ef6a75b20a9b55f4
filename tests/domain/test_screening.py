"""Screening (요건검토) — PROGRAM_RULES §4 and S1."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, time, timedelta

import pytest

from sangsaeng.domain.clock import KST, parse_instant
from sangsaeng.domain.companies import Size
from sangsaeng.domain.screening import (
    ApplicationFacts,
    Document,
    Participant,
    PriorCertificate,
    Reason,
    ScreeningOutcome,
    ScreeningRules,
    certified_products,
    duplicate_receipts,
    missing_documents,
    screen_application,
    screen_round,
    supplement_deadline,
)
from sangsaeng.domain.states import ApplicationState

CLOSES_AT = datetime(2022, 5, 27, 18, 0, tzinfo=KST)
DEADLINE = datetime(2022, 6, 7, 18, 0, tzinfo=KST)
BEFORE_DEADLINE = datetime(2022, 6, 2, 9, 0, tzinfo=KST)
AFTER_DEADLINE = datetime(2022, 6, 8, 9, 0, tzinfo=KST)
EARLY = datetime(2022, 5, 20, 10, 0, tzinfo=KST)
LEAD = "124-81-00998"
LEAD2 = "477-88-01018"
PARTNER = "107-81-53660"
RULES = ScreeningRules(
    closes_at=CLOSES_AT,
    supplement_deadline=DEADLINE,
    startup_years=7,
    required_application_documents=("application_form", "business_plan", "agreement"),
    required_lead_documents=("sme_certificate",),
)


def lead(
    brn: str = LEAD, *, seq: int = 1, size: Size = Size.SMALL, founded: date = date(2000, 1, 1)
) -> Participant:
    return Participant("lead", seq, brn, size, founded, direct_production=False)


def partner(brn: str = PARTNER, *, size: Size = Size.MEDIUM, direct: bool = True) -> Participant:
    return Participant("partner", 1, brn, size, date(1990, 1, 1), direct_production=direct)


def docs(*lead_brns: str, at: datetime = EARLY) -> tuple[Document, ...]:
    app_docs = [Document(None, t, at) for t in RULES.required_application_documents]
    return (*app_docs, *(Document(b, "sme_certificate", at) for b in lead_brns or (LEAD,)))


def app(
    receipt_no: str = "2022-2-001",
    *,
    track: str = "innovation",
    product_code: str = "3912110901",
    submitted_at: datetime = EARLY,
    participants: tuple[Participant, ...] = (lead(), partner()),
    documents: tuple[Document, ...] | None = None,
) -> ApplicationFacts:
    return ApplicationFacts(
        receipt_no=receipt_no,
        track=track,
        product_code=product_code,
        submitted_at=submitted_at,
        participants=participants,
        documents=docs() if documents is None else documents,
    )


def screen(
    facts: ApplicationFacts,
    *,
    now: datetime = AFTER_DEADLINE,
    sanctions: dict[str, date] | None = None,
    certified: frozenset[tuple[str, str]] = frozenset(),
    is_duplicate: bool = False,
) -> ScreeningOutcome:
    return screen_application(
        facts,
        RULES,
        sanctions=sanctions or {},
        certified=certified,
        is_duplicate=is_duplicate,
        now=now,
    )


@pytest.mark.parametrize(
    ("submitted_at", "state", "reasons"),
    [
        pytest.param(
            datetime(2022, 5, 27, 17, 59, 59, 999000, tzinfo=KST),
            ApplicationState.ELIGIBLE,
            (),
            id="17:59:59.999-on-time",
        ),
        pytest.param(
            datetime(2022, 5, 27, 18, 0, tzinfo=KST),
            ApplicationState.INELIGIBLE,
            (Reason.LATE,),
            id="18:00:00-late",
        ),
        pytest.param(
            datetime(2022, 5, 27, 18, 0), ApplicationState.INELIGIBLE, (Reason.LATE,), id="naive"
        ),
    ],
)
def test_T2_submission_on_time(
    submitted_at: datetime, state: ApplicationState, reasons: tuple[Reason, ...]
) -> None:
    outcome = screen(app(submitted_at=submitted_at, documents=docs(at=EARLY)))
    assert (outcome.state, outcome.reasons) == (state, reasons)


def test_S1_supplement_deadline_2022_2_skips_election_day_and_memorial_day() -> None:
    # T3/T4: 05-30 Mon, 05-31 Tue, (06-01 election), 06-02 Thu, 06-03 Fri, (06-06), 06-07 Tue.
    assert supplement_deadline(CLOSES_AT, 5, (), time(18, 0)) == DEADLINE


def test_T4_supplement_deadline_is_at_the_rounds_own_closing_clock_time() -> None:
    closes = parse_instant("2022-08-16T16:00:00+09:00")  # Tue; 5 business days → Tue 08-23
    assert supplement_deadline(closes, 5, ()) == parse_instant("2022-08-23T16:00:00+09:00")
    assert supplement_deadline(CLOSES_AT, 5, ()) == DEADLINE  # closes 18:00 → 18:00


def test_S1_supplement_deadline_honours_extra_holidays_and_closing_time() -> None:
    deadline = supplement_deadline(CLOSES_AT, 5, [date(2022, 6, 7)], time(17, 0))
    assert deadline == datetime(2022, 6, 8, 17, 0, tzinfo=KST)


@pytest.mark.parametrize(
    ("facts", "expected"),
    [
        pytest.param(
            app(submitted_at=CLOSES_AT, documents=docs(at=CLOSES_AT)),
            (Reason.LATE,),
            id="1-LATE",
        ),
        pytest.param(
            app(track="value", participants=(lead(size=Size.MIDSIZE), partner())),
            (Reason.LEAD_NOT_SME,),
            id="2-LEAD_NOT_SME-midsize",
        ),
        pytest.param(
            app(track="value", participants=(lead(size=Size.LARGE), partner())),
            (Reason.LEAD_NOT_SME,),
            id="2-LEAD_NOT_SME-large",
        ),
        pytest.param(
            app(participants=(lead(size=Size.MEDIUM), partner())),
            (Reason.INNOVATION_LEAD_NOT_STARTUP_OR_SMALL,),
            id="3-INNOVATION_LEAD-old-medium",
        ),
        pytest.param(
            app(
                participants=(lead(), lead(LEAD2, seq=2, size=Size.MEDIUM), partner()),
                documents=docs(LEAD, LEAD2),
            ),
            (Reason.INNOVATION_LEAD_NOT_STARTUP_OR_SMALL,),
            id="3-INNOVATION_LEAD-any-lead-counts",
        ),
        pytest.param(
            app(participants=(lead(size=Size.MEDIUM, founded=date(2015, 5, 28)), partner())),
            (),
            id="3-medium-startup-passes",
        ),
        pytest.param(
            app(participants=(lead(size=Size.MEDIUM, founded=date(2015, 5, 27)), partner())),
            (Reason.INNOVATION_LEAD_NOT_STARTUP_OR_SMALL,),
            id="3-medium-exactly-7-years-fails",
        ),
        pytest.param(
            app(track="value", participants=(lead(size=Size.MEDIUM), partner(direct=False))),
            (),
            id="3-4-only-innovation",
        ),
        pytest.param(
            app(participants=(lead(), partner(direct=False))),
            (Reason.INNOVATION_PARTNER_NO_DIRECT_PRODUCTION,),
            id="4-INNOVATION_PARTNER_NO_DIRECT_PRODUCTION",
        ),
        pytest.param(
            app(documents=docs()[1:]),
            (Reason.MISSING_DOCUMENTS,),
            id="6-MISSING_DOCUMENTS",
        ),
        pytest.param(
            app(submitted_at=CLOSES_AT + timedelta(hours=2), documents=docs()[1:]),
            (Reason.LATE, Reason.MISSING_DOCUMENTS),
            id="1+6-LATE;MISSING_DOCUMENTS",
        ),
    ],
)
def test_S1_reason_codes(facts: ApplicationFacts, expected: tuple[Reason, ...]) -> None:
    outcome = screen(facts)
    assert outcome.reasons == expected
    state = ApplicationState.INELIGIBLE if expected else ApplicationState.ELIGIBLE
    assert outcome.state is state


@pytest.mark.parametrize(
    ("banned_until", "sanctioned_brn", "sanctioned"),
    [
        pytest.param(date(2022, 5, 27), LEAD, True, id="ban-ends-on-closing-date"),
        pytest.param(date(2022, 5, 26), LEAD, False, id="ban-ended-day-before"),
        pytest.param(date(2025, 3, 31), PARTNER, True, id="partner-banned"),
    ],
)
def test_S1_sanctioned_participant(
    banned_until: date, sanctioned_brn: str, sanctioned: bool
) -> None:
    outcome = screen(app(), sanctions={sanctioned_brn: banned_until})
    assert outcome.reasons == ((Reason.SANCTIONED,) if sanctioned else ())


def test_S1_every_reason_in_report_order() -> None:
    facts = app(
        submitted_at=CLOSES_AT,
        participants=(lead(size=Size.MIDSIZE), partner(direct=False)),
        documents=docs()[:-1],
    )
    outcome = screen(facts, sanctions={PARTNER: date(2030, 1, 1)}, is_duplicate=True)
    assert outcome.reasons == tuple(Reason)
    assert [r.value for r in Reason] == [
        "LATE",
        "LEAD_NOT_SME",
        "INNOVATION_LEAD_NOT_STARTUP_OR_SMALL",
        "INNOVATION_PARTNER_NO_DIRECT_PRODUCTION",
        "SANCTIONED",
        "MISSING_DOCUMENTS",
        "DUPLICATE_PRODUCT",
    ]
    assert outcome.missing == (("sme_certificate", LEAD),)
    assert outcome.supplement_notice is False  # already ineligible: no 보완요청


def test_S1_missing_documents_application_first_then_leads_by_seq() -> None:
    facts = app(
        participants=(lead(LEAD2, seq=2), lead(), partner()),
        documents=(Document(None, "business_plan", EARLY),),
    )
    assert missing_documents(facts, RULES, as_of=CLOSES_AT) == (
        ("application_form", None),
        ("agreement", None),
        ("sme_certificate", LEAD),
        ("sme_certificate", LEAD2),
    )


def test_S1_lead_document_must_carry_that_leads_brn() -> None:
    facts = app(documents=(*docs()[:3], Document(PARTNER, "sme_certificate", EARLY)))
    assert missing_documents(facts, RULES, as_of=CLOSES_AT) == (("sme_certificate", LEAD),)


def test_S1_missing_at_close_before_deadline_requests_supplement() -> None:
    outcome = screen(app(documents=docs()[1:]), now=BEFORE_DEADLINE)
    assert outcome == ScreeningOutcome(
        ApplicationState.SUPPLEMENT_REQUESTED, (), (("application_form", None),), True
    )


def test_S1_supplement_with_other_reason_sends_no_notice() -> None:
    facts = app(submitted_at=CLOSES_AT, documents=docs()[1:])
    outcome = screen(facts, now=BEFORE_DEADLINE)
    assert outcome.state is ApplicationState.SUPPLEMENT_REQUESTED
    assert (outcome.reasons, outcome.supplement_notice) == ((Reason.LATE,), False)


@pytest.mark.parametrize(
    ("received_at", "reasons"),
    [
        pytest.param(DEADLINE - timedelta(microseconds=1), (), id="a-microsecond-early-counts"),
        pytest.param(DEADLINE, (Reason.MISSING_DOCUMENTS,), id="exactly-at-deadline-late"),
        pytest.param(datetime(2022, 6, 7, 17, 59, 59), (), id="naive-kst-counts"),
        pytest.param(datetime(2022, 6, 7, 9, 0, tzinfo=KST).astimezone(KST), (), id="morning"),
    ],
)
def test_S1_supplement_document_at_deadline_is_late(
    received_at: datetime, reasons: tuple[Reason, ...]
) -> None:
    late_doc = Document(None, "agreement", received_at)
    facts = app(documents=(*docs()[:2], late_doc, docs()[3]))
    outcome = screen(facts, now=DEADLINE)
    assert outcome.reasons == reasons
    assert outcome.supplement_notice is True  # the request was owed at the close
    assert outcome.missing == ((("agreement", None),) if reasons else ())


def test_S1_documents_in_order_at_close_send_no_notice() -> None:
    outcome = screen(app(), now=BEFORE_DEADLINE)
    assert outcome == ScreeningOutcome(ApplicationState.ELIGIBLE, (), (), False)


@pytest.mark.parametrize(
    ("receipts", "duplicates"),
    [
        pytest.param(["2022-2-017", "2022-2-033"], {"2022-2-033"}, id="larger-receipt"),
        pytest.param(["2022-2-1000", "2022-2-999"], {"2022-2-1000"}, id="natural-order"),
        pytest.param(["2022-2-3", "2022-2-2", "2022-2-1"], {"2022-2-2", "2022-2-3"}, id="three"),
    ],
)
def test_S1_duplicate_product_in_round(receipts: list[str], duplicates: set[str]) -> None:
    apps = [app(r) for r in receipts]
    assert duplicate_receipts(apps) == duplicates


def test_S1_duplicate_needs_same_representative_lead_and_product() -> None:
    apps = [
        app("2022-2-001"),
        app("2022-2-002", product_code="9999999999"),
        app("2022-2-003", participants=(lead(LEAD2), lead(seq=2), partner())),
    ]
    assert duplicate_receipts(apps) == frozenset()


@pytest.mark.parametrize(
    ("valid_from", "valid_to", "brn", "duplicate"),
    [
        pytest.param(date(2019, 5, 27), date(2022, 5, 27), LEAD, True, id="valid-to-close-date"),
        pytest.param(date(2022, 5, 27), date(2025, 5, 26), LEAD, True, id="valid-from-close-date"),
        pytest.param(date(2019, 5, 27), date(2022, 5, 26), LEAD, False, id="expired-day-before"),
        pytest.param(date(2022, 5, 28), date(2025, 5, 27), LEAD, False, id="not-yet-valid"),
        pytest.param(date(2020, 1, 1), date(2023, 1, 1), PARTNER, False, id="partner-holds-it"),
    ],
)
def test_S1_duplicate_product_vs_prior_certificate(
    valid_from: date, valid_to: date, brn: str, duplicate: bool
) -> None:
    cert = PriorCertificate(brn, "3912110901", valid_from, valid_to)
    outcomes = screen_round(
        [app()], RULES, sanctions={}, prior_certificates=[cert], now=AFTER_DEADLINE
    )
    assert outcomes["2022-2-001"].reasons == ((Reason.DUPLICATE_PRODUCT,) if duplicate else ())
    assert certified_products([cert], date(2022, 5, 27)) == (
        {(brn, "3912110901")} if valid_from <= date(2022, 5, 27) <= valid_to else set()
    )


def test_S1_screen_round_batches_duplicates_and_sanctions() -> None:
    apps = [app("2022-2-010"), app("2022-2-9"), replace(app("2022-2-011"), product_code="1")]
    outcomes = screen_round(
        apps,
        RULES,
        sanctions={LEAD2: date(2030, 1, 1)},
        prior_certificates=[],
        now=AFTER_DEADLINE,
    )
    assert {k: o.reasons for k, o in outcomes.items()} == {
        "2022-2-9": (),
        "2022-2-010": (Reason.DUPLICATE_PRODUCT,),
        "2022-2-011": (),
    }


def test_C5_screen_round_rejects_repeated_receipt() -> None:
    with pytest.raises(ValueError, match="2022-2-001"):
        screen_round([app(), app()], RULES, sanctions={}, prior_certificates=[], now=EARLY)


def test_C5_representative_lead_is_lowest_seq() -> None:
    facts = app(participants=(partner(), lead(LEAD2, seq=2), lead(seq=1)))
    assert facts.representative_lead.brn == LEAD
    assert [p.seq for p in facts.leads] == [1, 2]
    assert [p.brn for p in facts.partners] == [PARTNER]
