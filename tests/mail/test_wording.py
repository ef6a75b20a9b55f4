"""Every reason code a notice can carry reads as plain Korean (PROGRAM_RULES §4, V7)."""

from __future__ import annotations

import pytest

from sangsaeng.domain.scoring import BELOW_CUTOFF, BELOW_ITEM_FLOOR
from sangsaeng.domain.screening import Reason
from sangsaeng.mail.wording import reason_ko


@pytest.mark.parametrize("code", [*(r.value for r in Reason), BELOW_CUTOFF], ids=str)
def test_every_reason_code_has_korean_wording(code: str) -> None:
    text = reason_ko(code)
    assert text != code and any("가" <= ch <= "힣" for ch in text)


def test_item_floor_names_the_criterion_in_korean() -> None:  # V7
    assert "성장성" in reason_ko(f"{BELOW_ITEM_FLOOR}:growth", {"growth": "성장성"})
