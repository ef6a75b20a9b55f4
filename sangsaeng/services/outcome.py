"""What a batch of the office's rows did — from a file (`support import`) or a typed form: the
one result every after-selection input returns (K1 production, K4 changes, K5 cancellations,
M1 listing, M2 cost claims, M3 evaluations).

A refusal is the row error `io/` reports for a package (file, row, column, value, reason), so
an import and a form list their refused rows the same way: `production.csv 3행: …` for a
file, the reason alone for a form (no file).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from sangsaeng.io.sources import RowError


class Located(Protocol):
    """An input row: the file and spreadsheet row it came from (a form: no file)."""

    @property
    def file(self) -> str: ...

    @property
    def row(self) -> int: ...


def refusal(item: Located, reason: str) -> RowError:
    """`reason` as the row error of `item` (a form's input has no file and no row)."""
    return RowError(item.file, item.row if item.file else None, None, None, reason)


@dataclass(slots=True)
class Outcome:
    """Per row: recorded, unchanged (given before: nothing to do) or refused (why)."""

    recorded: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    refused: list[RowError] = field(default_factory=list)

    def refuse(self, item: Located, reason: str) -> None:
        """Refuse `item` for `reason`; nothing of it is written."""
        self.refused.append(refusal(item, reason))
