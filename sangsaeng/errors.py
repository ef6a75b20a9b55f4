"""User-facing errors: the CLI prints their message as one line, without a traceback."""

from __future__ import annotations

from collections.abc import Sequence


class SangsaengError(Exception):
    """A mistake in input, configuration or order of steps that the user can fix."""

    exit_code = 1


class ConfigError(SangsaengError):
    """A program or round configuration file is missing or invalid."""


class StepError(SangsaengError):
    """A step cannot run in the round's current state."""


class ImportRejected(SangsaengError):
    """Some rows of a round package were rejected (the good rows were kept)."""

    exit_code = 2

    def __init__(self, rejected: int, imported: int, errors: Sequence[str] = ()) -> None:
        super().__init__(rejected, imported, list(errors))  # picklable across Prefect
        self.rejected, self.imported, self.errors = rejected, imported, list(errors)

    def __str__(self) -> str:
        return (
            f"{self.rejected} row(s) rejected; {self.imported} new row(s) kept — "
            "fix the rows and import again"
        )


class ReviewIncomplete(SangsaengError):
    """V4: applications without enough valid reviews; nothing was decided."""

    exit_code = 3

    def __init__(self, receipts: Sequence[str], min_reviews: int) -> None:
        super().__init__(list(receipts), min_reviews)  # picklable across Prefect
        self.receipts, self.min_reviews = list(receipts), min_reviews

    def __str__(self) -> str:
        return (
            f"cannot decide: {len(self.receipts)} application(s) have fewer than "
            f"{self.min_reviews} valid reviews (V4); nothing was decided: "
            f"{', '.join(self.receipts)}"
        )


class InputRefused(SangsaengError):
    """Items of an input the office gave in the UI were refused; the others were recorded.

    The message lists every refused item with its reason: it is what the UI shows."""

    exit_code = 2

    def __init__(self, what: str, refused: Sequence[str], recorded: int,
                 total: int | None = None) -> None:
        super().__init__(what, list(refused), recorded, total)  # picklable across Prefect
        self.what, self.refused, self.recorded = what, list(refused), recorded
        self.total = len(self.refused) if total is None else total  # past a sample listed

    def summary(self) -> str:
        """One Korean line: how many were refused and recorded, and what to do."""
        return (f"{self.what} {self.total}건 거부, {self.recorded}건 기록 — 거부된 "
                "항목을 고쳐서 다시 주십시오")

    def __str__(self) -> str:
        return self.summary() + ":\n" + "\n".join(self.refused)


class DocumentError(SangsaengError):
    """A document (a certificate's PDF, INTERFACES §5) cannot be rendered or written."""
