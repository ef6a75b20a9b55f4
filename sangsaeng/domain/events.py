"""Events certified companies are invited to — PROGRAM_RULES M4. Pure: no I/O."""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum


class EventKind(StrEnum):
    """M4 [N]: the kinds of event the program invites to."""

    ONLINE_EXHIBITION = "online_exhibition"
    NARAMARKET_EXPO = "naramarket_expo"
    EDUCATION = "education"


EVENT_NAMES: Mapping[str, str] = {
    EventKind.ONLINE_EXHIBITION: "비대면 전시·상담회",
    EventKind.NARAMARKET_EXPO: "나라장터 엑스포 상생협력제품관",
    EventKind.EDUCATION: "공공조달 교육",
}


def is_web_link(text: str) -> bool:
    """An event's link: empty, or an http(s) address on one line (it is printed in mails)."""
    return not text or (text.startswith(("https://", "http://")) and text.isprintable()
                        and " " not in text)
