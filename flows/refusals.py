"""How a run ends when the office's input had refused rows (issue 23 item 6): the good rows are
recorded, the run ends in the state "일부 거부" (a failed state: something waits to be
corrected) with one Korean line saying how many were refused and recorded, each refused row is
logged as a warning and listed in a table artifact — and no traceback reaches the office's log.

Called directly (the CLI, tests), the flow still raises `InputRefused` (exit code 2).
"""

from __future__ import annotations

import functools
import inspect
import typing
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

from prefect import get_run_logger
from prefect.artifacts import acreate_table_artifact
from prefect.states import Failed

from sangsaeng.errors import InputRefused
from sangsaeng.io.sources import RowError

PARTLY_REFUSED = "일부 거부"  # the run's state name in the UI

F = TypeVar("F", bound=Callable[..., Awaitable[Any]])


def ends_refused(fn: F) -> F:
    """Put under `@flow`: an `InputRefused` raised by the flow becomes its final state."""
    @functools.wraps(fn)
    async def run(*args: Any, **kwargs: Any) -> Any:
        try:
            return await fn(*args, **kwargs)
        except InputRefused as refusal:
            logger = get_run_logger()
            for line in refusal.refused:
                logger.warning("거부: %s", line)
            logger.warning("%s", refusal.summary())
            return Failed(name=PARTLY_REFUSED, message=refusal.summary(), data=refusal)

    # the flow's annotations resolved where it is written: Prefect builds its run form and
    # checks parameters from the signature (string annotations would be read here)
    run.__signature__ = inspect.signature(fn, eval_str=True)  # type: ignore[attr-defined]
    run.__annotations__ = typing.get_type_hints(fn, include_extras=True)
    return run  # type: ignore[return-value]


async def refused_table(key: str, title: str, refused: Sequence[RowError]) -> None:
    """The refused rows as a table artifact: file, row, column, value, reason."""
    await acreate_table_artifact(
        key=key, description=f"{title}: 거부된 행 {len(refused)}건", table=[
            {"파일": e.file or "양식", "행": e.row if e.row is not None else "",
             "열": e.column or "", "값": e.value or "", "사유": e.message} for e in refused])
