"""Prefect flows: one per round step, and the parent `round` flow."""

import logging


class _SuspensionIsNotAnError(logging.Filter):
    """Prefect logs a run that waits for a person ("Finished in state Suspended/Paused") at
    ERROR; the office reads that as a failure (issue 23 item 2). It is said at INFO."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno == logging.ERROR and str(record.msg).startswith(
                ("Finished in state Suspended", "Finished in state Paused")):
            record.levelno, record.levelname = logging.INFO, "INFO"
        return True


logging.getLogger("prefect.flow_runs").addFilter(_SuspensionIsNotAnError())
