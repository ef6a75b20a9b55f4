"""What a delivery run is allowed to do (policy) and what it did (report)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sangsaeng.mail.outbox import Outcome


@dataclass(frozen=True, slots=True)
class DeliveryPolicy:
    """How hard to try: connections, rate, lease, backoff, giving up, circuit breaker."""

    connections: int = 4
    rate: float = 0.0  # messages per second over all connections; 0 = no limit
    lease: timedelta = timedelta(minutes=5)
    backoff: tuple[int, ...] = (60, 300, 1800, 7200)
    give_up_after: timedelta = timedelta(hours=48)
    batch: int = 200
    connect_failures: int = 3  # consecutive, across connections: then stop the batch
    tries_per_run: int = 3  # connection-level failures of one message before backing off
    # seconds the outcomes queued wait for the other connections' replies, to share a commit
    # (a connection's next message waits for its last outcome's commit: after a crash or a stall
    # the duplicates are at most one per connection)
    flush_after: float = 0.03


@dataclass(slots=True)
class DeliveryReport:
    """What one run of the sender did."""

    sent: int = 0
    retry_later: int = 0
    failed: int = 0
    released: int = 0
    reconnects: int = 0
    taken_over: int = 0  # rows another sender took after this one's lease ran out
    leased: int = 0  # at the end: rows another sender holds now …
    leased_until: datetime | None = None  # … until then at the latest
    stopped: str | None = None
    seconds: float = 0.0
    failures: list[tuple[str, str]] = field(default_factory=list)  # (kind, reply) samples
    sent_by_kind: dict[str, int] = field(default_factory=dict)

    @property
    def attempted(self) -> int:
        """Messages whose outcome was recorded (released ones were not attempted)."""
        return self.sent + self.retry_later + self.failed

    def disown(self, outcome: Outcome) -> None:
        """An outcome counted as this run's turned out to be another sender's row."""
        if outcome.verdict == "sent":
            self.sent -= 1
            self.sent_by_kind[outcome.row.kind] -= 1
        elif outcome.verdict == "failed":
            self.failed -= 1
        elif outcome.verdict == "retry":
            self.retry_later -= 1
        else:
            self.released -= 1
        self.taken_over += 1
