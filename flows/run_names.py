"""What a run is called in the UI (issue 23 item 7): what it does, for which round or
application, and when, in KST — `2022-2 회차 실행 — 2026-12-07 10:00` — not Prefect's random
`alpha6-lissepia-reach`.

Runs this program creates (a deadline's closure, a chained step, a delivery) are named so when
created; every other run Prefect named at random (the UI's Run button, a schedule, the CLI) is
renamed so when it starts, by `named_run`, each flow's `flow_run_name`; a name a person typed
stays.
"""

from __future__ import annotations

import re
import tomllib
from datetime import datetime
from pathlib import PurePath
from typing import Any

from flows.registry import BY_NAME
from sangsaeng.domain.clock import KST

SEPARATOR = " — "  # a name of ours: `<subject> <title> — <when>`


def run_name(flow_name: str, subject: str, at: datetime) -> str:
    """`<subject> <the step's Korean title> — <date time KST>` (subject may be empty)."""
    title = BY_NAME[flow_name].title
    return f"{subject} {title}{SEPARATOR}{at.astimezone(KST):%Y-%m-%d %H:%M}".lstrip()


def subject_of(parameters: dict[str, Any]) -> str:
    """The round, application or certificate a run is for, from its parameters."""
    for key in ("round_id", "receipt_no", "number"):
        if parameters.get(key):
            return str(parameters[key])
    config = str(parameters.get("config") or "")
    if not config.endswith(".toml"):
        return config  # a round id (the forms' list)
    try:  # a configuration file's path (the CLI, the API): its round's id
        with open(config, "rb") as file:
            return str(tomllib.load(file).get("id") or PurePath(config).stem)
    except (OSError, tomllib.TOMLDecodeError):
        return PurePath(config).stem


# The names Prefect and its UI make up (`upsilon132-mazar`, `alpha6-lissepia-reach`): lower-case
# words joined by hyphens. A name a person typed (a space, Korean, capitals) is kept.
_MADE_UP = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)+")


def made_up(name: str) -> bool:
    """A name Prefect or its UI made up at random, not one a person or this program gave."""
    return _MADE_UP.fullmatch(name) is not None


def named_run() -> str:
    """A flow's `flow_run_name`: keeps a name this program gave or a person typed, and names
    a run Prefect named at random."""
    from prefect.runtime import flow_run

    current = str(flow_run.name or "")
    if current and not made_up(current):
        return current
    return run_name(str(flow_run.flow_name), subject_of(dict(flow_run.parameters or {})),
                    datetime.now(KST))
