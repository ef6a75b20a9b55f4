"""PROGRAM_RULES M2 — certification-cost support: decisions in (submitted_on, claim_id) order,
approved up to the project's remaining cap, NOT_ELIGIBLE_TRACK / CAP_EXCEEDED; checked on
fixed cases and on random claim sequences against an oracle written from the rule's text."""

from __future__ import annotations

import random
from datetime import date, timedelta

import pytest

from sangsaeng.domain.claims import (
    CAP_EXCEEDED,
    NOT_ELIGIBLE_TRACK,
    Claim,
    ClaimDecision,
    decide_claim,
    decide_claims,
    format_krw,
)
from sangsaeng.io import values

CAP = 15_000_000


@pytest.mark.parametrize(("amount", "so_far", "eligible", "expected"), [
    (6_000_000, 0, True, ClaimDecision(6_000_000, 9_000_000, ())),
    (15_000_000, 0, True, ClaimDecision(15_000_000, 0, ())),
    (5_000_000, 13_000_000, True, ClaimDecision(2_000_000, 0, (CAP_EXCEEDED,))),
    (1_000_000, 15_000_000, True, ClaimDecision(0, 0, (CAP_EXCEEDED,))),
    (3_000_000, 0, False, ClaimDecision(0, None, (NOT_ELIGIBLE_TRACK,))),
    (1, 14_999_999, True, ClaimDecision(1, 0, ())),
], ids=["within", "exactly-the-cap", "partly", "nothing-left", "not-value-track", "last-won"])
def test_M2_a_claim_is_approved_up_to_the_remaining_cap(
        amount: int, so_far: int, eligible: bool, expected: ClaimDecision) -> None:
    assert decide_claim(amount, so_far, CAP, eligible=eligible) == expected


def test_M2_a_claim_is_a_positive_amount() -> None:
    with pytest.raises(ValueError, match="positive whole KRW"):
        decide_claim(0, 0, CAP, eligible=True)


@pytest.mark.parametrize(("text", "amount"), [
    ("6000000", 6_000_000), ("6,000,000", 6_000_000), ("1", 1), ("999,999", 999_999),
], ids=["digits", "grouped", "one", "grouped-below-a-million"])
def test_M2_amounts_are_whole_krw_digits_or_grouped_by_commas(text: str, amount: int) -> None:
    assert values.krw(text) == amount


@pytest.mark.parametrize("text", [
    "", "0", "-5000", "6000000.0", "6,0000,000", "60,00000", ",600", "6000000원", "６０００",
    "1e6", "6 000 000",
], ids=["empty", "zero", "negative", "decimal", "bad-groups", "half-grouped", "leading-comma",
        "unit", "full-width", "exponent", "spaces"])
def test_M2_other_amounts_are_refused(text: str) -> None:
    with pytest.raises(ValueError):
        values.krw(text)


def test_format_krw_groups_thousands() -> None:
    assert format_krw(15_000_000) == "15,000,000원"


def test_M2_the_2022_2_claims_give_the_expected_decisions() -> None:
    # data/rounds/2022-2/support/cost_claims.csv: 025 and 028 are value-track, 002 is not.
    claims = [Claim("C-006", "2022-2-028", date(2022, 9, 7), 1_000_000, True),
              Claim("C-001", "2022-2-025", date(2022, 8, 1), 6_000_000, True),
              Claim("C-004", "2022-2-025", date(2022, 9, 5), 5_000_000, True),
              Claim("C-003", "2022-2-028", date(2022, 8, 22), 15_000_000, True),
              Claim("C-005", "2022-2-002", date(2022, 9, 6), 3_000_000, False),
              Claim("C-002", "2022-2-025", date(2022, 8, 20), 7_000_000, True)]
    decided = [(c.claim_id, d.approved_krw, d.remaining_krw, d.reasons)
               for c, d in decide_claims(claims, {}, CAP)]
    assert decided == [
        ("C-001", 6_000_000, 9_000_000, ()), ("C-002", 7_000_000, 2_000_000, ()),
        ("C-003", 15_000_000, 0, ()), ("C-004", 2_000_000, 0, (CAP_EXCEEDED,)),
        ("C-005", 0, None, (NOT_ELIGIBLE_TRACK,)), ("C-006", 0, 0, (CAP_EXCEEDED,))]


# The oracle, from the text of M2 alone: "claims are decided in (submitted_on, claim_id)
# order. A claim of a project that is not a selected value-track project is refused with
# NOT_ELIGIBLE_TRACK; otherwise it is approved up to the remaining cap, with CAP_EXCEEDED when
# less than claimed is approved (0 when nothing remains)." Decisions once made are final: a
# later batch is decided against what is left after the earlier batches.
def _oracle(batches: list[list[Claim]], cap: int) -> list[tuple[str, int, str]]:
    used: dict[str, int] = {}
    out = []
    for batch in batches:
        for c in sorted(batch, key=lambda c: (c.submitted_on.isoformat(), c.claim_id)):
            if not c.eligible:
                out.append((c.claim_id, 0, "NOT_ELIGIBLE_TRACK"))
                continue
            left = cap - used.get(c.receipt_no, 0)
            give = c.amount_krw if c.amount_krw <= left else left
            used[c.receipt_no] = used.get(c.receipt_no, 0) + give
            out.append((c.claim_id, give, "" if give == c.amount_krw else "CAP_EXCEEDED"))
    return out


def _random_claims(rng: random.Random, eligible: dict[str, bool]) -> list[Claim]:
    start = date(2022, 8, 1)
    receipts = rng.sample(sorted(eligible), rng.randint(1, len(eligible)))
    return [Claim(f"C-{rng.randint(0, 999):03d}-{i}", rng.choice(receipts),
                  start + timedelta(days=rng.randint(0, 20)),
                  rng.choice([1, 999, 1_000_000, 2_500_000, 7_000_000, 15_000_000,
                              rng.randint(1, 20_000_000)]), False)
            for i in range(rng.randint(1, 25))]


@pytest.mark.parametrize("seed", range(200))
def test_M2_random_claim_sequences_match_the_oracle_whatever_the_input_order(seed: int) -> None:
    rng = random.Random(seed)
    cap = rng.choice([CAP, 1, 10_000_000, rng.randint(1, 30_000_000)])
    eligible = {f"2022-2-{n:03d}": rng.random() < 0.7 for n in range(1, 6)}
    claims = [Claim(c.claim_id, c.receipt_no, c.submitted_on, c.amount_krw,
                    eligible[c.receipt_no]) for c in _random_claims(rng, eligible)]
    cuts = sorted(rng.sample(range(len(claims) + 1), k=2))
    batches = [claims[:cuts[0]], claims[cuts[0]:cuts[1]], claims[cuts[1]:]]
    expected = _oracle(batches, cap)
    for shuffled in (False, True, True):  # the input order within a batch does not matter
        got: list[tuple[str, int, str]] = []
        approved: dict[str, int] = {}
        for batch in batches:
            mixed = rng.sample(batch, len(batch)) if shuffled else batch
            for c, d in decide_claims(mixed, approved, cap):
                got.append((c.claim_id, d.approved_krw, ";".join(d.reasons)))
                approved[c.receipt_no] = approved.get(c.receipt_no, 0) + d.approved_krw
                assert 0 <= d.approved_krw <= c.amount_krw
                if c.eligible:  # remaining = cap − the project's sum so far, exactly
                    assert d.remaining_krw == cap - approved[c.receipt_no]
        assert got == expected
        for receipt, total in approved.items():  # the sum exact, never above the cap
            claimed = sum(c.amount_krw for c in claims if c.receipt_no == receipt)
            assert total == (min(cap, claimed) if eligible[receipt] else 0)
