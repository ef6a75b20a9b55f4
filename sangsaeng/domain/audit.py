"""The audit trail's tamper evidence (issue 26 item 3): each audit row carries a hash chained
over the previous row's hash (of the same round's chain) and its own content, so that a row
edited, removed or inserted out of order afterwards breaks the chain where it happened.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

GENESIS = ""  # the "previous hash" of a chain's first row
CONTENT = ("at", "actor", "round_id", "entity", "entity_id", "action", "from_state",
           "to_state", "reason", "rule", "data")


def content(row: Mapping[str, Any], names: Sequence[str] = CONTENT) -> str:
    """A row's content as hashed: its fields (`names`) in a fixed order, the time in UTC to
    the microsecond, its data as JSON stores it (what is read back hashes alike)."""
    at: datetime = row["at"]
    fields = {key: row.get(key) for key in names}
    fields["at"] = at.astimezone(UTC).isoformat(timespec="microseconds")
    fields["data"] = json.loads(json.dumps(row.get("data") or {}))
    return json.dumps(fields, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def link(previous: str, row: Mapping[str, Any], names: Sequence[str] = CONTENT) -> str:
    """The row's hash: sha256 over the previous row's hash and the row's content (the access
    log's rows are chained alike over their own fields, services/access.py)."""
    return hashlib.sha256(f"{previous}\n{content(row, names)}".encode()).hexdigest()


def first_break(rows: Iterable[Mapping[str, Any]], chain: str,
                names: Sequence[str] = CONTENT) -> tuple[Mapping[str, Any] | None, int, int]:
    """Recompute chained rows (in the order written; `chain` the column naming each row's
    chain): the first row whose hash does not follow from the one before it in its chain and
    its own content (None if all hold), the rows and the chains checked."""
    previous: dict[object, str] = {}
    count = 0
    for row in rows:
        expected = link(previous.get(row[chain], GENESIS), row, names)
        if row["hash"] != expected:
            return row, count, len(previous)
        previous[row[chain]] = expected
        count += 1
    return None, count, len(previous)


def lock_key(chain: str | None, kind: str = "audit") -> int:
    """The chain's key for a lock held while it is extended (a signed 64-bit integer): an
    audit chain is a round's (`kind` audit), an access-log chain a month's (`kind` access)."""
    digest = hashlib.sha256(f"sangsaeng-{kind}:{chain or ''}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)
