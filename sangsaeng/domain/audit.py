"""The audit trail's tamper evidence (issue 26 item 3): each audit row carries a hash chained
over the previous row's hash (of the same round's chain) and its own content, so that a row
edited, removed or inserted out of order afterwards breaks the chain where it happened.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
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


def lock_key(chain: str | None, kind: str = "audit") -> int:
    """The chain's key for a lock held while it is extended (a signed 64-bit integer): an
    audit chain is a round's (`kind` audit), an access-log chain a month's (`kind` access)."""
    digest = hashlib.sha256(f"sangsaeng-{kind}:{chain or ''}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)
