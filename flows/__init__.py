"""Prefect flows: one per round step, and the parent `round` flow."""

import logging

from sangsaeng.errors import SangsaengError


class _ForTheOffice(logging.Filter):
    """Prefect's own lines as the office reads them (issue 23 items 2 and 6):

    - a run that waits for a person ("Finished in state Suspended/Paused") is logged at ERROR;
      the office reads that as a failure. It is said at INFO.
    - a step stopped by one of the program's own errors (a refused form, a round in the wrong
      state: `SangsaengError`, worded for the office) is logged with a Python traceback. It is
      said in one line, its message; an unexpected error keeps its traceback.
    - every task run logs `Finished in state Completed()`: a round's log was mostly that. A
      task that completed is not said (each step says what it did, in Korean); one that failed
      or was cancelled still is.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name == "prefect.task_runs" and record.levelno == logging.INFO and str(
                record.msg).startswith("Finished in state Completed("):
            return False
        if record.levelno == logging.ERROR and str(record.msg).startswith(
                ("Finished in state Suspended", "Finished in state Paused")):
            record.levelno, record.levelname = logging.INFO, "INFO"
        exc = record.exc_info[1] if isinstance(record.exc_info, tuple) else None
        if isinstance(exc, SangsaengError):
            record.msg, record.args = "멈춤: %s", (str(exc),)
            record.exc_info, record.exc_text = None, None
        return True


for _name in ("prefect.flow_runs", "prefect.task_runs"):
    logging.getLogger(_name).addFilter(_ForTheOffice())
