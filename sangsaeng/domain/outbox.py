"""The outbox's delivery states — ARCHITECTURE: the outbox. Pure: no I/O.

Here rather than in `sangsaeng.mail` because the model (`sangsaeng.models`, a lower layer than
mail) stores it; `sangsaeng.mail.outbox` re-exports it.
"""

from __future__ import annotations

from enum import StrEnum


class OutboxState(StrEnum):
    """A notice owed: pending → sending → sent | failed (a lapsed lease sends it back)."""

    PENDING = "pending"  # owed, waiting for its next attempt
    SENDING = "sending"  # claimed by a sender under a lease
    SENT = "sent"  # the server accepted it
    FAILED = "failed"  # refused for good, or given up after the last attempt


# Still owed: not sent and not given up.
OWED_STATES: tuple[OutboxState, ...] = (OutboxState.PENDING, OutboxState.SENDING)
