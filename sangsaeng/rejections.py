"""Rejected rows beyond what one message shows are kept in a file the office can open."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path


def keep_rejections(var_dir: Path, round_id: str, errors: Sequence[str], now: datetime
                    ) -> Path:
    """Write every rejected row, one per line, to `<var>/rejected/<round>-<UTC time>.txt`."""
    folder = var_dir / "rejected"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{round_id}-{now.astimezone(UTC):%Y%m%dT%H%M%S}-{len(errors)}.txt"
    path.write_text("".join(f"{line}\n" for line in errors), encoding="utf-8")
    return path
